/**
 * `interfaces` (`-D`): the devices libpcap can capture on.
 * @module
 */
import type { Command } from "./command.ts";
import { findAllDevices } from "../capture/libpcap.ts";

export const interfacesCommand: Command = {
  name: "interfaces",
  aliases: ["-D"],
  help: `usage: networksage interfaces   (alias: networksage -D)

Lists the devices libpcap can capture on, as tcpdump -D does: number, name, IPv4 addresses,
description and state.

permissions: --allow-ffi (libpcap) --allow-env (NETWORKSAGE_LIBPCAP)`,
  run(_args, ctx) {
    const devices = findAllDevices();
    devices.forEach((d, i) => {
      const state = [
        d.flags & 1 ? "Loopback" : "",
        d.flags & 2 ? "Up" : "",
        d.flags & 4 ? "Running" : "",
      ].filter(Boolean).join(", ");
      const addrs = d.addresses.length ? ` ${d.addresses.join(" ")}` : "";
      const desc = d.description ? ` (${d.description})` : "";
      ctx.out(`${i + 1}.${d.name}${addrs}${desc}${state ? ` [${state}]` : ""}`);
    });
    return Promise.resolve(0);
  },
};
