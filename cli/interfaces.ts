/**
 * `interfaces` (`-D`): the devices libpcap can capture on, numbered as `tcpdump -D` numbers them;
 * `capture -i N` takes that number ({@link resolveInterface}). Also the names of link types, as
 * tcpdump prints them (`EN10MB (Ethernet)`).
 * @module
 */
import { type Command, UsageError } from "./command.ts";
import { findAllDevices, type PcapDevice } from "../capture/libpcap.ts";
import { printable } from "../secflow/printable.ts";

/** libpcap's names and descriptions (`pcap_datalink_val_to_name`/`_description`) of the DLTs we read. */
const LINK_TYPES: Record<number, [string, string]> = {
  0: ["NULL", "BSD loopback"],
  1: ["EN10MB", "Ethernet"],
  12: ["RAW", "Raw IP"],
  14: ["RAW", "Raw IP"],
  101: ["RAW", "Raw IP"],
  108: ["LOOP", "OpenBSD loopback"],
  113: ["LINUX_SLL", "Linux cooked v1"],
  228: ["IPV4", "Raw IPv4"],
  276: ["LINUX_SLL2", "Linux cooked v2"],
};

/** `EN10MB (Ethernet)` for 1; `DLT 147` for a type this tool does not decode. */
export function linkTypeName(dlt: number): string {
  const known = LINK_TYPES[dlt];
  return known ? `${known[0]} (${known[1]})` : `DLT ${dlt} (not decoded: packets are skipped)`;
}

/**
 * The interface `capture -i VALUE` means: a device of that name, else (a number N, as tcpdump
 * takes it) the Nth device `interfaces` lists. A number out of range is a usage error listing
 * the range.
 */
export function resolveInterface(value: string, devices?: PcapDevice[]): string {
  if (!/^\d+$/.test(value)) return value;
  const list = devices ?? findAllDevices();
  if (list.some((d) => d.name === value)) return value;
  const n = Number(value);
  if (n >= 1 && n <= list.length) return list[n - 1].name;
  throw new UsageError(
    list.length === 0
      ? `no interface number ${value}: libpcap lists no interfaces (capturing needs root or CAP_NET_RAW)`
      : `no interface number ${value}: networksage interfaces lists 1 to ${list.length}`,
  );
}

/** One `interfaces` line: `1.eth0 10.0.0.2 (desc) [Up, Running]`, as tcpdump -D writes it. */
export function interfaceLine(d: PcapDevice, index: number): string {
  const state = [
    d.flags & 1 ? "Loopback" : "",
    d.flags & 2 ? "Up" : "",
    d.flags & 4 ? "Running" : "",
  ].filter(Boolean).join(", ");
  const addrs = d.addresses.length ? ` ${d.addresses.join(" ")}` : "";
  const desc = d.description ? ` (${printable(d.description)})` : "";
  return `${index + 1}.${printable(d.name)}${addrs}${desc}${state ? ` [${state}]` : ""}`;
}

export const interfacesCommand: Command = {
  name: "interfaces",
  aliases: ["-D"],
  help: `usage: networksage interfaces   (alias: networksage -D)

Lists the devices libpcap can capture on, as tcpdump -D does: number, name, IPv4 addresses,
description and state. capture -i takes the name or the number.

permissions: --allow-ffi (libpcap) --allow-env (NETWORKSAGE_LIBPCAP)`,
  run(args, ctx) {
    if (args.length > 0) throw new UsageError(`unexpected argument '${printable(args[0], 60)}'`);
    findAllDevices().forEach((d, i) => ctx.out(interfaceLine(d, i)));
    return Promise.resolve(0);
  },
};
