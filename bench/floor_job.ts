/**
 * The floor of the real job (issue 25): the simplest program that does what a Secflow converter
 * must do on top of `bench/floor_loop.ts`, written as plain loops, not with our engine. Besides
 * the floor's read, decode and count per bidirectional 5-tuple, it keeps each flow's first and
 * last packet time, harvests the A answers of every DNS response (question name read through
 * compression pointers into a string, a `Map` from address to name), and writes one JSON record
 * with a flash's fields per flow not between two private addresses (source, destination named
 * from the harvest, both directions' packets and bytes, start and duration) into a file it
 * fsyncs: 7,712 records and 1.9 MB on the 300k capture, as many as `convert`'s flashes (1.9 MB).
 * It does not apply the Secflow rules (sessions per endpoint pair in the platform's three-pass
 * order, the whole filter, naming by time, Python's number formats): they are what our engine
 * adds, so `convert`'s time over this one's is what our code costs beyond the job's minimum.
 *
 *     deno run --allow-read --allow-write bench/floor_job.ts CAPTURE OUT [-v]
 *
 * Little-endian microsecond pcap only (the benchmark captures); no imports.
 * @module
 */
const CAPACITY = 1 << 16; // power of two, above twice the flows of the 600k capture
const MASK = CAPACITY - 1;
const keyA = new Int32Array(CAPACITY);
const keyB = new Int32Array(CAPACITY);
const keyC = new Int32Array(CAPACITY);
const used = new Uint8Array(CAPACITY);
const pkts = new Float64Array(CAPACITY * 2);
const bytes = new Float64Array(CAPACITY * 2);
// Times as (seconds, microseconds) int pairs: a double per packet would be boxed (a heap
// allocation) until the loop is optimized.
const firstSec = new Int32Array(CAPACITY);
const firstUsec = new Int32Array(CAPACITY);
const lastSec = new Int32Array(CAPACITY);
const lastUsec = new Int32Array(CAPACITY);
/** Slots in creation order, so the records come out in the order flows began. */
const order = new Int32Array(CAPACITY);
/** The ports of the key, without the protocol mixed in. */
const portsOf = new Int32Array(CAPACITY);
let flows = 0;
let packets = 0;
let startSec = 0x7fffffff;
let startUsec = 0;
/** A answers: address -> the last name that resolved to it. */
const names = new Map<number, string>();
const chars: number[] = [];

/** The name at `p` of the DNS message at `m` (through compression pointers), or "". */
function readName(b: Uint8Array, m: number, p: number, end: number): string {
  chars.length = 0;
  for (let hops = 0; p < end && hops < 32;) {
    const len = b[p];
    if (len === 0) break;
    if ((len & 0xc0) === 0xc0) {
      p = m + (((len & 0x3f) << 8) | b[p + 1]);
      hops++;
      continue;
    }
    if (p + 1 + len > end) return "";
    if (chars.length > 0) chars.push(46);
    for (let i = p + 1; i <= p + len; i++) chars.push(b[i]);
    p += 1 + len;
  }
  return String.fromCharCode.apply(null, chars);
}

/** Past the name at `p` (no pointer followed). */
function skipName(b: Uint8Array, p: number, end: number): number {
  while (p < end) {
    const len = b[p];
    if (len === 0) return p + 1;
    if ((len & 0xc0) === 0xc0) return p + 2;
    p += 1 + len;
  }
  return end;
}

/** Harvests the A answers of the DNS response at `b[m, end)`. */
function harvest(b: Uint8Array, m: number, end: number): void {
  if (end - m < 12 || (b[m + 2] & 0x80) === 0) return;
  const qd = (b[m + 4] << 8) | b[m + 5];
  const an = (b[m + 6] << 8) | b[m + 7];
  if (qd !== 1) return;
  const name = readName(b, m, m + 12, end);
  let p = skipName(b, m + 12, end) + 4;
  for (let i = 0; i < an && p + 10 <= end; i++) {
    p = skipName(b, p, end);
    if (p + 10 > end) return;
    const type = (b[p] << 8) | b[p + 1];
    const rdlen = (b[p + 8] << 8) | b[p + 9];
    p += 10;
    if (type === 1 && rdlen === 4 && p + 4 <= end && name !== "") {
      names.set((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3], name);
    }
    p += rdlen;
  }
}

/** Counts the complete records of `b[from, len)`; returns where the first incomplete one starts. */
function records(b: Uint8Array, view: DataView, from: number, len: number): number {
  let i = from;
  while (i + 16 <= len) {
    const caplen = view.getUint32(i + 8, true);
    if (i + 16 + caplen > len) break;
    const sec = view.getInt32(i, true);
    const usec = view.getInt32(i + 4, true);
    const p = i + 16;
    i = p + caplen;
    packets++;
    if (caplen < 38 || b[p + 12] !== 0x08 || b[p + 13] !== 0x00) continue;
    const ip = p + 14;
    const proto = b[ip + 9];
    if (proto !== 6 && proto !== 17) continue;
    const ihl = (b[ip] & 15) * 4;
    const t = ip + ihl;
    const total = (b[ip + 2] << 8) | b[ip + 3];
    const headers = ihl + (proto === 6 ? (b[t + 12] >> 4) * 4 : 8);
    const payload = total > headers ? total - headers : 0;
    const src = view.getInt32(ip + 12);
    const dst = view.getInt32(ip + 16);
    const sp = (b[t] << 8) | b[t + 1];
    const dp = (b[t + 2] << 8) | b[t + 3];
    if (proto === 17 && sp === 53) harvest(b, t + 8, Math.min(ip + total, i));
    if (sec < startSec || (sec === startSec && usec < startUsec)) {
      startSec = sec;
      startUsec = usec;
    }
    // One key for both directions: the lower (address, port) first.
    const forward = src < dst || (src === dst && sp <= dp);
    const a = forward ? src : dst;
    const c = forward ? dst : src;
    const ports = (forward ? (sp << 16) | dp : (dp << 16) | sp) ^ (proto << 24);
    let h = Math.imul(a ^ Math.imul(c, 0x9e3779b1) ^ Math.imul(ports, 0x85ebca6b), 0xc2b2ae35);
    h = (h ^ (h >>> 15)) & MASK;
    while (used[h] === 1 && !(keyA[h] === a && keyB[h] === c && keyC[h] === ports)) {
      h = (h + 1) & MASK;
    }
    if (used[h] === 0) {
      used[h] = 1;
      keyA[h] = a;
      keyB[h] = c;
      keyC[h] = ports;
      portsOf[h] = forward ? (sp << 16) | dp : (dp << 16) | sp;
      firstSec[h] = sec;
      firstUsec[h] = usec;
      order[flows++] = h;
    }
    if (sec > lastSec[h] || (sec === lastSec[h] && usec > lastUsec[h])) {
      lastSec[h] = sec;
      lastUsec[h] = usec;
    }
    const side = 2 * h + (forward ? 0 : 1);
    pkts[side]++;
    bytes[side] += payload;
  }
  return i;
}

const CHUNK = 256 * 1024;
const file = Deno.openSync(Deno.args[0]);
// Room for one chunk plus a record carried over from the previous one (65,535 bytes at most in
// the benchmark captures; a bigger record ends the loop, as a floor need not read every file).
const buf = new Uint8Array(CHUNK + 256 * 1024);
const view = new DataView(buf.buffer);
let len = 0;
let pos = 24; // the pcap file header
for (let n; (n = file.readSync(buf.subarray(len, len + CHUNK)));) {
  len += n;
  const end = records(buf, view, pos, len);
  buf.copyWithin(0, end, len);
  len -= end;
  pos = 0;
}
file.close();

const ip = (x: number) => `${x >>> 24}.${(x >> 16) & 255}.${(x >> 8) & 255}.${x & 255}`;
const seconds = (sec: number, usec: number) => Math.round((sec + usec / 1e6) * 1e6) / 1e6;
const isPrivate = (x: number) => (x >>> 24) === 10 || (x >>> 20) === 0xac1 || (x >>> 16) === 0xc0a8;
let written = 0;

/** One JSON record per flow not between two private addresses, in the order flows began. */
function flowRecords(): string {
  const parts: string[] = [];
  const start = seconds(startSec, startUsec);
  for (let k = 0; k < flows; k++) {
    const h = order[k];
    // The filter's LAN-internal rule, simplified: nothing between two private addresses.
    if (isPrivate(keyA[h]) && isPrivate(keyB[h])) continue;
    // The private side is the source, the other one the destination that gets a name.
    const swap = isPrivate(keyB[h]) && !isPrivate(keyA[h]);
    const src = swap ? keyB[h] : keyA[h], dst = swap ? keyA[h] : keyB[h];
    const sp = swap ? portsOf[h] & 0xffff : portsOf[h] >>> 16;
    const dp = swap ? portsOf[h] >>> 16 : portsOf[h] & 0xffff;
    const s = swap ? 2 * h + 1 : 2 * h, d = swap ? 2 * h : 2 * h + 1;
    const first = seconds(firstSec[h], firstUsec[h]);
    const name = names.get(dst);
    parts.push(
      `{"src": "${ip(src)}:${sp}", "dst": "${name ?? ip(dst)}:${dp}", ` +
        `"destinationNameSource": "${name === undefined ? "original" : "passive"}", ` +
        `"srcPkts": ${pkts[s]}, "srcBytes": ${bytes[s]}, "dstPkts": ${pkts[d]}, ` +
        `"dstBytes": ${bytes[d]}, "relativeStart": ${Math.round((first - start) * 1e6) / 1e6}, ` +
        `"protocolInformation": "", "duration": ${
          Math.round((seconds(lastSec[h], lastUsec[h]) - first) * 1e6) / 1e6
        }}`,
    );
  }
  written = parts.length;
  return `{"flashes": [${parts.join(", ")}]}`;
}

const out = Deno.openSync(Deno.args[1], { write: true, create: true, truncate: true });
const text = new TextEncoder().encode(flowRecords());
for (let w = 0; w < text.length;) w += out.writeSync(text.subarray(w));
out.syncSync();
out.close();
if (Deno.args[2] === "-v") {
  console.log(
    `${packets} packets, ${flows} flows, ${written} written, ${names.size} named addresses, ${text.length} bytes`,
  );
}
