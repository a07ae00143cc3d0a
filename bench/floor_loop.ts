/**
 * The convert floor (issue 25): the least a Deno program that reads a capture and counts its flows
 * costs, written as a plain loop, not with our engine. It starts Deno, streams the pcap through
 * one reused 256 KiB buffer, decodes Ethernet, IPv4, TCP and UDP, and counts packets and payload
 * bytes per bidirectional 5-tuple in one open-addressing table of parallel typed arrays (the
 * lower address first; the ports and the protocol in the third key). Anything that converts the
 * capture does at least this, so `convert`'s time is reported as a multiple of this one's.
 *
 *     deno run --allow-read bench/floor_loop.ts CAPTURE [-v]
 *
 * With -v it prints the packets and flows it counted. Little-endian microsecond pcap only (the
 * benchmark captures); no imports, so start-up is Deno's own.
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
let flows = 0;
let packets = 0;

/** Counts the complete records of `b[from, len)`; returns where the first incomplete one starts. */
function records(b: Uint8Array, view: DataView, from: number, len: number): number {
  let i = from;
  while (i + 16 <= len) {
    const caplen = view.getUint32(i + 8, true);
    if (i + 16 + caplen > len) break;
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
      flows++;
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
if (Deno.args[1] === "-v") console.log(`${packets} packets, ${flows} flows`);
