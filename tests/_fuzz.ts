/**
 * Fuzzing `convert` through the CLI (issue 8, acceptance 2): seed inputs built here (pcap,
 * pcapng, Zeek conn.log as TSV and JSON, a dns.log, a `.sf`, and gzip of some), mutated with a
 * fixed-seed PRNG (bit flips, truncation, inserted garbage, huge length fields, repeated slices),
 * written into a folder and converted as one batch per child process, each input with a timeout
 * (`--timeout`: the worker pool stops a stuck conversion) and the batch with another. Every run
 * must end with exit 0 or 1, no stack trace, one outcome line per input, and no written sample
 * that `validate` rejects. The test runs a short campaign; `bench/convert_fuzz.ts` a long one.
 */
import { join } from "node:path";
import { prng } from "../bench/synthetic.ts";
import { dnsA, ether, icmp, pcap, pcapng, type Rec, T0, tcp, tcpDns, udp } from "./_pcap.ts";
import { connTsv, connValues, DNS_FIELDS, gzip, jsonRecord, tsv } from "./zeek_fixtures.ts";
import { lines, noStack, runCli } from "./_child.ts";
import { formatSample } from "../secflow/sample.ts";

const H = "10.0.0.5";
const X = "93.184.216.34";

function packets(): Rec[] {
  const recs: Rec[] = [
    {
      us: T0,
      data: ether(dnsA({ server: "8.8.8.8", client: H, qname: "example.com", addrs: [X] })),
    },
  ];
  for (let i = 0; i < 12; i++) {
    const t = T0 + 1000 * (i + 1);
    recs.push({
      us: t,
      data: ether(tcp({ src: H, dst: X, sp: 50000 + i, dp: 443, payload: 10 * i })),
    });
    recs.push({
      us: t + 10,
      data: ether(tcp({ src: X, dst: H, sp: 443, dp: 50000 + i, payload: 99 })),
    });
  }
  recs.push({
    us: T0 + 50_000,
    data: ether(udp({ src: H, dst: "1.1.1.1", sp: 5353, dp: 123, payload: 48 })),
  });
  recs.push({ us: T0 + 60_000, data: ether(icmp({ src: H, dst: "1.1.1.1" })) });
  recs.push({
    us: T0 + 70_000,
    data: ether(tcp({ src: "8.8.8.8", dst: H, sp: 53, dp: 40000, payload: tcpDns(dnsAnswer()) })),
  });
  return recs;
}

function dnsAnswer(): Uint8Array {
  return dnsA({ server: "8.8.8.8", client: H, qname: "b.example", addrs: ["1.2.3.4"] }).subarray(
    28,
  );
}

/** The seed inputs, by file extension. */
export async function seeds(): Promise<[string, Uint8Array][]> {
  const enc = new TextEncoder();
  const recs = packets();
  const capture = pcap(recs);
  const ng = pcapng([{
    interfaces: [{ linkType: 1, tsresol: 6 }],
    blocks: recs.map((r) => ({ kind: "epb" as const, iface: 0, ts: BigInt(r.us), data: r.data })),
  }]);
  const rows = Array.from({ length: 20 }, (_, i) => ({
    ts: `${1700000000 + i}.5`,
    oh: "192.168.1.10",
    op: 50000 + i,
    rh: X,
    rp: 443,
    opk: "3",
    rpk: "4",
    ob: "100",
    rb: "2000",
    duration: "1.25",
  }));
  const conn = connTsv(rows);
  const json = rows.map((r, i) => JSON.stringify(jsonRecord(connValues(r, i)))).join("\n") + "\n";
  const dns = tsv("dns", DNS_FIELDS, [{
    ts: "1700000000.0",
    uid: "D",
    "id.orig_h": "192.168.1.10",
    "id.orig_p": "1",
    "id.resp_h": "10.0.0.1",
    "id.resp_p": "53",
    query: "example.com",
    qclass: "1",
    qtype: "1",
    rtt: "0.1",
    rcode_name: "NOERROR",
    answers: X,
  }]);
  const sf = formatSample({
    hash: "0123456789abcdef0123456789abcdef",
    trafficDate: "1700000000.0",
    fileName: "seed.sf",
    flashes: Array.from({ length: 8 }, (_, i) => ({
      src: `${H}:${50000 + i}`,
      dst: i % 2 ? `example.com:443` : `${X}:80`,
      destinationNameSource: i % 2 ? "passive" : "original",
      srcPkts: i + 1,
      srcBytes: 100 * i,
      dstPkts: 2,
      dstBytes: 9007199254740991 - i,
      relativeStart: i * 0.5,
      protocolInformation: "",
      duration: 0.000001 * i,
    })),
  });
  return [
    ["pcap", capture],
    ["pcapng", ng],
    ["conn.log", enc.encode(conn)],
    ["json.log", enc.encode(json)],
    ["dns.log", enc.encode(dns)],
    // Not ".sf": a folder's .sf files are left alone (they are outputs of earlier runs).
    ["sample", enc.encode(sf)],
    ["pcap.gz", await gzip(capture)],
    ["conn.log.gz", await gzip(conn)],
    ["sf.gz", await gzip(sf)],
  ];
}

/** One mutation of `input`, chosen by `rand`. */
export function mutate(input: Uint8Array, rand: () => number): Uint8Array {
  const int = (n: number) => Math.floor(rand() * n);
  let b: Uint8Array = input.slice();
  const rounds = 1 + int(4);
  for (let r = 0; r < rounds; r++) {
    const at = int(Math.max(1, b.length));
    switch (int(6)) {
      case 0: // bit flips
        for (let k = 0, n = 1 + int(8); k < n; k++) b[int(b.length)] ^= 1 << int(8);
        break;
      case 1: // truncation
        b = b.slice(0, at);
        break;
      case 2: { // inserted garbage
        const junk = Uint8Array.from({ length: 1 + int(64) }, () => int(256));
        b = concat([b.subarray(0, at), junk, b.subarray(at)]);
        break;
      }
      case 3: { // a huge length field
        const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
        const pos = at & ~3;
        if (pos + 4 <= b.length) v.setUint32(pos, [0xffffffff, 0x7fffffff, 0x80000000][int(3)]);
        break;
      }
      case 4: { // a repeated slice
        const len = 1 + int(256);
        b = concat([b.subarray(0, at), b.subarray(at, at + len), b.subarray(at)]);
        break;
      }
      default: { // text-level: a digit or quote changed (numbers and strings in logs and .sf)
        const chars = [48, 57, 34, 45, 46, 101, 9, 10, 0, 27];
        for (let k = 0, n = 1 + int(4); k < n; k++) b[int(b.length)] = chars[int(chars.length)];
      }
    }
  }
  return b;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Seconds one input may take before the pool gives up on it (and the fuzz reports a hang). */
export const INPUT_TIMEOUT_S = 20;

/** What a campaign found. */
export interface FuzzReport {
  cases: number;
  batches: number;
  converted: number;
  failedOrSkipped: number;
  samplesValidated: number;
  problems: string[];
  ms: number;
}

/**
 * Runs `cases` mutations (seeded with `seed`) in batches of `batch` files per child, each batch
 * with `timeoutMs`, then `singles` more, one child each. Problems are collected, not thrown, so one report names them all.
 */
export async function fuzzConvert(
  dir: string,
  cases: number,
  seed: number,
  batch = 250,
  timeoutMs = 60_000,
  singles = 0,
): Promise<FuzzReport> {
  const started = performance.now();
  const rand = prng(seed);
  const seedInputs = await seeds();
  const report: FuzzReport = {
    cases,
    batches: 0,
    converted: 0,
    failedOrSkipped: 0,
    samplesValidated: 0,
    problems: [],
    ms: 0,
  };
  for (let first = 0; first < cases; first += batch) {
    const inDir = join(dir, `in${first}`);
    const outDir = join(dir, `out${first}`);
    await Deno.mkdir(inDir, { recursive: true });
    const names: string[] = [];
    for (let i = first; i < Math.min(cases, first + batch); i++) {
      const [ext, bytes] = seedInputs[Math.floor(rand() * seedInputs.length)];
      const name = `case${String(i).padStart(5, "0")}.${ext}`;
      await Deno.writeFile(join(inDir, name), mutate(bytes, rand));
      names.push(name);
    }
    report.batches++;
    // Each input has its own timeout (the pool stops a stuck worker), the batch one more.
    const r = await runCli(["convert", inDir, "-o", outDir, "--timeout", String(INPUT_TIMEOUT_S)], {
      timeoutMs,
    });
    const where = `batch ${first}..${first + names.length - 1} (seed ${seed})`;
    if (r.timedOut) report.problems.push(`${where}: timed out after ${timeoutMs} ms`);
    if (r.code !== 0 && r.code !== 1) {
      report.problems.push(`${where}: exit ${r.code}: ${r.stderr.slice(0, 500)}`);
    }
    const stack = noStack(r);
    if (stack) {
      report.problems.push(`${where}: stack trace or uncaught error: ${stack.slice(0, 800)}`);
    }
    const out = lines(r.stderr);
    for (const name of names) {
      const about = out.filter((l) => l.includes(`${name}`) && !l.startsWith("warning:"));
      const outcome = about.filter((l) =>
        /^(skipped|failed): /.test(l) || l.includes(`${name}.sf: `) || /: no Secflows/.test(l)
      );
      if (outcome.length !== 1 && !r.timedOut) {
        report.problems.push(
          `${where}: ${name}: expected one outcome line, found ${outcome.length}`,
        );
      }
      if (outcome.some((l) => / gave up after /.test(l))) {
        report.problems.push(`${where}: ${name}: took over ${INPUT_TIMEOUT_S} s`);
      }
      if (outcome.some((l) => /^(skipped|failed): /.test(l))) report.failedOrSkipped++;
      else if (outcome.length === 1) report.converted++;
    }
    let written: string[] = [];
    try {
      written = [...Deno.readDirSync(outDir)].map((e) => join(outDir, e.name));
    } catch { /* nothing written */ }
    const stray = written.filter((p) => !p.endsWith(".sf"));
    if (stray.length > 0) {
      report.problems.push(`${where}: stray files in the output: ${stray.join(", ")}`);
    }
    if (written.length > 0) {
      const v = await runCli(["validate", "-q", ...written], { timeoutMs });
      report.samplesValidated += written.length;
      if (v.code !== 0) {
        report.problems.push(
          `${where}: written samples that validate rejects: ${
            new TextDecoder().decode(v.stdout).slice(0, 800)
          }`,
        );
      }
    }
    await Deno.remove(inDir, { recursive: true });
    await Deno.remove(outDir, { recursive: true }).catch(() => {});
  }
  // A few through the one-input path too: exit 0, 1 or 2, one line on failure.
  for (let i = 0; i < singles; i++) {
    const [ext, bytes] = seedInputs[Math.floor(rand() * seedInputs.length)];
    const input = join(dir, `single${i}.${ext}`);
    const output = join(dir, `single${i}.out.sf`);
    await Deno.writeFile(input, mutate(bytes, rand));
    const r = await runCli(["convert", input, "-o", output], { timeoutMs: INPUT_TIMEOUT_S * 1000 });
    const where = `single ${i} (seed ${seed}, ${ext})`;
    if (r.timedOut) report.problems.push(`${where}: took over ${INPUT_TIMEOUT_S} s`);
    if (![0, 1, 2].includes(r.code)) report.problems.push(`${where}: exit ${r.code}`);
    const stack = noStack(r);
    if (stack) {
      report.problems.push(`${where}: stack trace or uncaught error: ${stack.slice(0, 800)}`);
    }
    // A failure says why in one line: an error, or the notice that no Secflows came of the input
    // (exit 1: nothing written; 2: a log whose every record is malformed).
    const errors = lines(r.stderr).filter((l) =>
      l.startsWith("networksage convert:") || / no Secflows[: ].*; nothing written/.test(l)
    );
    if (r.code !== 0 && errors.length !== 1) {
      report.problems.push(
        `${where}: exit ${r.code} with ${errors.length} error lines: ${r.stderr}`,
      );
    }
    try {
      await Deno.lstat(output);
      const v = await runCli(["validate", "-q", output]);
      report.samplesValidated++;
      if (v.code !== 0) {
        report.problems.push(
          `${where}: written sample rejected: ${new TextDecoder().decode(v.stdout)}`,
        );
      }
    } catch { /* nothing written */ }
    await Deno.remove(input);
    await Deno.remove(output).catch(() => {});
  }
  report.ms = performance.now() - started;
  return report;
}
