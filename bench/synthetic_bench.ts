/**
 * A benchmark capture made in TypeScript, shaped like ../shared/bench/gen-pcap.py's (many
 * concurrent LAN-to-Internet TCP and UDP sessions, DNS answers from a LAN resolver), for machines
 * without the shared generator.
 * @module
 */
import { dnsAnswer, frame, PcapWriter, prng } from "./synthetic.ts";

/** Writes a capture of `packets` packets to `path`. */
export async function writeBenchCapture(path: string, packets: number, seed = 7): Promise<void> {
  const rnd = prng(seed);
  const w = new PcapWriter();
  let t = 1_700_000_000_000_000;
  const active: [string, number, string, number, "tcp" | "udp"][] = [];
  let flow = 0;
  const sizes = [0, 0, 40, 120, 517, 1200, 1448];
  while (w.packets < packets) {
    if (active.length < 2000 || rnd() < 0.02) {
      const host = `192.168.${Math.floor((flow % 400) / 200)}.${10 + (flow % 200)}`;
      const pub = `${[13, 23, 34, 52, 104, 142, 151, 185][flow % 8]}.${Math.floor(rnd() * 256)}.${
        Math.floor(rnd() * 256)
      }.${1 + Math.floor(rnd() * 254)}`;
      const proto = rnd() < 0.7 ? "tcp" : "udp";
      const f: [string, number, string, number, "tcp" | "udp"] = [
        host,
        49152 + (flow % 16384),
        pub,
        proto === "tcp" ? 443 : 3478,
        proto,
      ];
      t += 1 + Math.floor(rnd() * 59);
      w.record(
        t,
        frame(
          "udp",
          "192.168.0.1",
          53,
          host,
          40000 + (flow % 20000),
          dnsAnswer(flow & 0xffff, `h${flow}.svc${flow % 97}.example.com`, [pub]),
        ),
      );
      active.push(f);
      flow++;
      continue;
    }
    const f = active[Math.floor(rnd() * active.length)];
    const outbound = rnd() < 0.45;
    const size = sizes[Math.floor(rnd() * sizes.length)];
    t += 1 + Math.floor(rnd() * 59);
    w.record(
      t,
      outbound
        ? frame(f[4], f[0], f[1], f[2], f[3], size)
        : frame(f[4], f[2], f[3], f[0], f[1], size),
    );
    if (rnd() < 0.004) active.splice(active.indexOf(f), 1);
  }
  await Deno.writeFile(path, w.bytes());
}
