/**
 * Streaming readers for pcap and pcapng. Bytes are pushed in chunks of any size; every complete
 * record is handed to a {@link PacketSink} straight from the chunk it lies in, and only a record
 * that spans two chunks is stitched (copied) into a carry buffer. Memory is one carry buffer, not
 * the file.
 * @module
 */
import { InputError } from "./errors.ts";
import { quoted } from "./printable.ts";

/** Receives each packet record. `buf[off .. off+caplen)` is valid only during the call. */
export interface PacketSink {
  packet(
    buf: Uint8Array,
    off: number,
    caplen: number,
    origLen: number,
    linkType: number,
    micros: number,
  ): void;
}

/** Capture container formats. */
export type CaptureFormat = "pcap" | "pcapng";

/** A record larger than this is taken as corruption, not as a packet. */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER = 0x1a2b3c4d;

/** Which capture format (if any) `head` starts with. */
export function sniffCapture(head: Uint8Array): CaptureFormat | undefined {
  if (head.length < 4) return undefined;
  const be = ((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0;
  if (be === 0xa1b2c3d4 || be === 0xd4c3b2a1 || be === 0xa1b23c4d || be === 0x4d3cb2a1) {
    return "pcap";
  }
  if (be === PCAPNG_SHB) return "pcapng";
  return undefined;
}

interface PcapngInterface {
  linkType: number;
  /** Timestamp units per second (e.g. 1e6, 1e9). */
  unitsPerSecond: number;
  /** if_tsoffset, in seconds. */
  offsetSeconds: number;
}

/**
 * Push parser for pcap and pcapng. Feed it with {@link push}, then call {@link end}.
 * Damage it cannot read past stops the reading with a warning (the records before it count);
 * a file that is not a capture at all is an {@link InputError}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CaptureReader } from "./capture_reader.ts";
 * let packets = 0;
 * const reader = new CaptureReader({ packet() { packets++; } }, "x.pcap");
 * const header = new Uint8Array(24);
 * new DataView(header.buffer).setUint32(0, 0xa1b2c3d4, true);
 * new DataView(header.buffer).setUint32(20, 1, true);
 * reader.push(header);
 * reader.end();
 * assert.equal(reader.format, "pcap");
 * assert.equal(packets, 0);
 * ```
 */
export class CaptureReader {
  /** Warnings, one line each, naming the file and the byte offset. */
  readonly warnings: string[] = [];
  /** Detected format, once the first bytes are seen. */
  format: CaptureFormat | undefined;
  /** Packet records delivered. */
  packets = 0;
  /** Packets skipped because their interface or link type is unusable. */
  skipped = 0;
  /**
   * 1 when the file ends inside a record or block, or damage stopped the reading (a warning says
   * where): a packet read but not delivered, counted as truncated in summaries.
   */
  cut = 0;

  #sink: PacketSink;
  #name: string;
  #carry = new Uint8Array(64 * 1024);
  #carryLen = 0;
  /** File offset of the first byte not yet consumed. */
  #offset = 0;
  #stopped = false;
  // pcap state
  #headerDone = false;
  #little = true;
  #nanos = false;
  #linkType = 1;
  // pcapng state
  #interfaces: PcapngInterface[] = [];
  #unsupportedLinkWarned = new Set<number>();
  /** pcapng Simple Packet Blocks seen (skipped: no timestamp), warned about at the end. */
  #simpleBlocks = 0;

  constructor(sink: PacketSink, name = "input") {
    this.#sink = sink;
    this.#name = name;
  }

  /** True once damage stopped the reading: further input is ignored. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Bytes consumed so far (complete headers, blocks and records). */
  get offset(): number {
    return this.#offset;
  }

  /** Feeds the next chunk of the file. The chunk may be reused by the caller afterwards. */
  push(chunk: Uint8Array): void {
    if (this.#stopped || chunk.length === 0) return;
    if (this.format === undefined && this.#offset === 0 && this.#carryLen === 0) {
      if (chunk.length < 4) {
        this.#append(chunk, 0, chunk.length);
        return;
      }
      this.#detect(chunk);
    }
    let pos = 0;
    if (this.#carryLen > 0) {
      // Complete the unit that spans the previous chunk and this one, byte range by byte range.
      while (true) {
        if (this.format === undefined) {
          const take = Math.min(4 - this.#carryLen, chunk.length - pos);
          this.#append(chunk, pos, take);
          pos += take;
          if (this.#carryLen < 4) return;
          this.#detect(this.#carry.subarray(0, 4));
        }
        const need = this.#unitSize(this.#carry, 0, this.#carryLen);
        if (need < 0) return; // stopped
        if (need <= this.#carryLen) break;
        const take = Math.min(need - this.#carryLen, chunk.length - pos);
        this.#append(chunk, pos, take);
        pos += take;
        if (this.#carryLen < need && pos >= chunk.length) return;
        if (this.#carryLen < need) continue;
        // Size known and satisfied; the header may now reveal a bigger size: loop re-checks.
      }
      const used = this.#parseUnits(this.#carry, 0, this.#carryLen, true);
      if (this.#stopped) return;
      this.#carryLen -= used;
      if (this.#carryLen !== 0) throw new Error("capture reader: carry not consumed");
    }
    const next = this.#parseUnits(chunk, pos, chunk.length, false);
    if (this.#stopped) return;
    if (next < chunk.length) this.#append(chunk, next, chunk.length - next);
  }

  /** Signals the end of the file: a partial record left over becomes a warning. */
  end(): void {
    if (this.#stopped) return;
    if (this.format === undefined) {
      if (this.#offset === 0 && this.#carryLen === 0) {
        throw new InputError(`${this.#name}: the file is empty, not a pcap or pcapng capture`, {
          kind: "empty",
          file: this.#name,
        });
      }
      throw new InputError(
        `${this.#name}: too short to be a pcap or pcapng capture (${this.#carryLen} bytes)`,
        { kind: "unrecognised", file: this.#name },
      );
    }
    if (this.format === "pcap" && !this.#headerDone) {
      throw new InputError(
        `${this.#name}: pcap file header cut short (${this.#carryLen} of 24 bytes)`,
        { kind: "damaged", file: this.#name, offset: 0 },
      );
    }
    if (this.#carryLen > 0) {
      this.cut = 1;
      const what = this.format === "pcap" ? "record" : "block";
      this.warnings.push(
        `${this.#name}: capture cut at byte offset ${this.#offset}: ignored an incomplete ${what} of ${this.#carryLen} bytes`,
      );
      this.#carryLen = 0;
    }
    if (this.#simpleBlocks > 0) {
      this.warnings.push(
        `${this.#name}: skipped ${this.#simpleBlocks} pcapng Simple Packet Block${
          this.#simpleBlocks === 1 ? "" : "s"
        } (they carry no timestamp, and a Secflow's times come from packets')`,
      );
    }
  }

  #append(src: Uint8Array, from: number, len: number): void {
    if (len <= 0) return;
    if (this.#carryLen + len > this.#carry.length) {
      const bigger = new Uint8Array(Math.max(this.#carry.length * 2, this.#carryLen + len));
      bigger.set(this.#carry.subarray(0, this.#carryLen));
      this.#carry = bigger;
    }
    this.#carry.set(src.subarray(from, from + len), this.#carryLen);
    this.#carryLen += len;
  }

  #detect(head: Uint8Array): void {
    const format = sniffCapture(head);
    if (!format) {
      throw new InputError(`${this.#name}: not a pcap or pcapng capture (${describeStart(head)})`, {
        kind: "unrecognised",
        file: this.#name,
      });
    }
    this.format = format;
  }

  #stop(message: string): void {
    this.warnings.push(`${this.#name}: ${message}`);
    this.cut = 1;
    this.#stopped = true;
    this.#carryLen = 0;
  }

  /**
   * Size in bytes of the unit (header, record or block) starting at `p`, as far as the `avail`
   * bytes tell: the header size while the header is incomplete, then the whole unit's size.
   * Returns -1 after stopping on an absurd size.
   */
  #unitSize(b: Uint8Array, p: number, avail: number): number {
    if (this.format === "pcap") {
      if (!this.#headerDone) return 24;
      if (avail < 16) return 16;
      const caplen = readU32(b, p + 8, this.#little);
      if (caplen > MAX_RECORD_BYTES) {
        this.#stop(
          `record at byte offset ${this.#offset} claims ${caplen} captured bytes (limit ${MAX_RECORD_BYTES}): the file is damaged from there on; kept the ${
            packetsText(this.packets)
          } before it`,
        );
        return -1;
      }
      return 16 + caplen;
    }
    if (avail < 12) return 12;
    const type = readU32(b, p, true);
    let little = this.#little;
    if (type === PCAPNG_SHB) {
      const bom = readU32(b, p + 8, true);
      if (bom === PCAPNG_BYTE_ORDER) little = true;
      else if (bom === 0x4d3c2b1a) little = false;
      else {
        this.#stop(
          `section header at byte offset ${this.#offset} has a bad byte-order magic; stopped there`,
        );
        return -1;
      }
    }
    const len = readU32(b, p + 4, little);
    if (len < 12 || len % 4 !== 0 || len > MAX_RECORD_BYTES) {
      this.#stop(
        `block at byte offset ${this.#offset} has an impossible length ${len}: the file is damaged from there on; kept the ${
          packetsText(this.packets)
        } before it`,
      );
      return -1;
    }
    return len;
  }

  /**
   * Parses complete units in `b[start, end)`; returns the position of the first incomplete one.
   * With `exact`, the range holds exactly one unit (the stitched carry).
   */
  #parseUnits(b: Uint8Array, start: number, end: number, exact: boolean): number {
    let p = start;
    if (this.format === "pcap") {
      if (!this.#headerDone) {
        if (end - p < 24) return p;
        this.#pcapHeader(b, p);
        p += 24;
        this.#offset += 24;
        if (exact) return p;
      }
      const little = this.#little;
      const nanos = this.#nanos;
      const link = this.#linkType;
      const sink = this.#sink;
      const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
      while (end - p >= 16) {
        const caplen = view.getUint32(p + 8, little);
        if (caplen > MAX_RECORD_BYTES) {
          this.#unitSize(b, p, end - p);
          return p;
        }
        if (end - p < 16 + caplen) break;
        const sec = view.getUint32(p, little);
        const frac = view.getUint32(p + 4, little);
        const micros = sec * 1e6 + (nanos ? Math.floor(frac / 1000) : frac);
        const origLen = view.getUint32(p + 12, little);
        this.packets++;
        sink.packet(b, p + 16, caplen, origLen, link, micros);
        p += 16 + caplen;
        this.#offset += 16 + caplen;
        if (exact) break;
      }
      return p;
    }
    while (end - p >= 12) {
      const size = this.#unitSize(b, p, end - p);
      if (size < 0) return p;
      if (end - p < size) break;
      this.#pcapngBlock(b, p, size);
      if (this.#stopped) return p;
      p += size;
      this.#offset += size;
      if (exact) break;
    }
    return p;
  }

  #pcapHeader(b: Uint8Array, p: number): void {
    const magic = readU32(b, p, true);
    if (magic === 0xa1b2c3d4) [this.#little, this.#nanos] = [true, false];
    else if (magic === 0xa1b23c4d) [this.#little, this.#nanos] = [true, true];
    else if (magic === 0xd4c3b2a1) [this.#little, this.#nanos] = [false, false];
    else [this.#little, this.#nanos] = [false, true];
    // The upper bits of the link-type field carry FCS information in some writers.
    this.#linkType = readU32(b, p + 20, this.#little) & 0x0fffffff;
    this.#headerDone = true;
  }

  #pcapngBlock(b: Uint8Array, p: number, size: number): void {
    const type = readU32(b, p, this.#little);
    if (type === PCAPNG_SHB) {
      this.#little = readU32(b, p + 8, true) === PCAPNG_BYTE_ORDER;
      this.#interfaces = [];
      return;
    }
    if (this.#offset === 0) {
      this.#stop("does not start with a pcapng section header");
      return;
    }
    const little = this.#little;
    if (type === 1) {
      this.#interfaces.push(parseInterface(b, p, size, little));
      return;
    }
    if (type === 3) {
      this.#simpleBlocks++;
      this.skipped++;
      return;
    }
    if (type !== 6 && type !== 2) return; // other blocks carry no packets we read
    const ifId = type === 6 ? readU32(b, p + 8, little) : readU16(b, p + 8, little);
    const tsHigh = readU32(b, p + 12, little);
    const tsLow = readU32(b, p + 16, little);
    const caplen = readU32(b, p + 20, little);
    const origLen = readU32(b, p + 24, little);
    if (size < 32 || caplen > size - 32) {
      this.warnings.push(
        `${this.#name}: packet block at byte offset ${this.#offset} claims ${caplen} bytes in a ${size}-byte block; skipped`,
      );
      this.skipped++;
      return;
    }
    const iface = this.#interfaces[ifId];
    if (!iface) {
      if (!this.#unsupportedLinkWarned.has(-1 - ifId)) {
        this.#unsupportedLinkWarned.add(-1 - ifId);
        this.warnings.push(
          `${this.#name}: packet block at byte offset ${this.#offset} names interface ${ifId}, which the section does not describe; its packets are skipped`,
        );
      }
      this.skipped++;
      return;
    }
    const micros = timestampMicros(tsHigh, tsLow, iface.unitsPerSecond) + iface.offsetSeconds * 1e6;
    this.packets++;
    this.#sink.packet(b, p + 28, caplen, origLen, iface.linkType, micros);
  }
}

function parseInterface(b: Uint8Array, p: number, size: number, little: boolean): PcapngInterface {
  const iface: PcapngInterface = {
    linkType: readU16(b, p + 8, little),
    unitsPerSecond: 1e6,
    offsetSeconds: 0,
  };
  let o = p + 16;
  const end = p + size - 4;
  while (o + 4 <= end) {
    const code = readU16(b, o, little);
    const len = readU16(b, o + 2, little);
    if (code === 0 || o + 4 + len > end) break;
    if (code === 9 && len >= 1) {
      const v = b[o + 4];
      iface.unitsPerSecond = v & 0x80 ? 2 ** (v & 0x7f) : 10 ** v;
    } else if (code === 14 && len >= 8) {
      const hi = readU32(b, o + 4 + (little ? 4 : 0), little) | 0;
      const lo = readU32(b, o + 4 + (little ? 0 : 4), little);
      iface.offsetSeconds = hi * 4294967296 + lo;
    }
    o += 4 + ((len + 3) & ~3);
  }
  return iface;
}

/**
 * Microseconds (truncated) of a 64-bit pcapng timestamp in `unitsPerSecond` units, exact for
 * every resolution: fast paths for micro- and nanoseconds, BigInt for the rest.
 */
export function timestampMicros(high: number, low: number, unitsPerSecond: number): number {
  if (unitsPerSecond === 1e6) return high * 4294967296 + low;
  if (unitsPerSecond > 1e6 && unitsPerSecond % 1e6 === 0 && unitsPerSecond / 1e6 < 2 ** 20) {
    const d = unitsPerSecond / 1e6;
    const qh = Math.floor(high / d);
    const rh = high - qh * d;
    return qh * 4294967296 + Math.floor((rh * 4294967296 + low) / d);
  }
  const ts = (BigInt(high) << 32n) | BigInt(low);
  const units = BigInt(unitsPerSecond);
  return Number((ts * 1000000n) / units);
}

/** `1 packet`, `2 packets`. */
function packetsText(n: number): string {
  return `${n} packet${n === 1 ? "" : "s"}`;
}

function readU32(b: Uint8Array, p: number, little: boolean): number {
  return little
    ? (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0
    : ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
}

function readU16(b: Uint8Array, p: number, little: boolean): number {
  return little ? b[p] | (b[p + 1] << 8) : (b[p] << 8) | b[p + 1];
}

/** A short description of what a file starts with, for "not a capture" errors. */
export function describeStart(head: Uint8Array): string {
  const n = Math.min(head.length, 8);
  let printable = true;
  for (let i = 0; i < n; i++) {
    const c = head[i];
    if (!(c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127))) printable = false;
  }
  if (printable && n > 0) {
    const text = new TextDecoder().decode(head.subarray(0, n)).replace(/[\r\n\t]/g, " ");
    return `it starts with the text ${quoted(text)}`;
  }
  const hex = Array.from(head.subarray(0, n), (x) => x.toString(16).padStart(2, "0")).join(" ");
  return `it starts with the bytes ${hex}`;
}
