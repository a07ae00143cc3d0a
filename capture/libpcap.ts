/**
 * libpcap through `Deno.dlopen`: open a live interface or a capture file, set the kernel filter,
 * read packets without ever blocking the event loop, read the drop counters, list devices.
 *
 * Reads use `pcap_setnonblock` + `pcap_next_ex` (live) and a `poll(2)` on libpcap's selectable
 * file descriptor that runs on Deno's FFI thread pool (`nonblocking: true`), so the JavaScript
 * thread only wakes when packets are there, the timeout passes, or {@link Pcap.wake} is called
 * (an `eventfd` in the same poll, on Linux). Window timers run on the main thread and therefore
 * close on time even if no packet ever arrives.
 *
 * Needs `--allow-ffi` (and `--allow-env` for `NETWORKSAGE_LIBPCAP`).
 * @module
 */
import { describeStart } from "../secflow/capture_reader.ts";
import { isGzip } from "../secflow/gzip.ts";
import { envVar } from "../io/env.ts";

/** A capture problem with a CLI exit code (2: environment or input, 1: runtime failure). */
export class CaptureError extends Error {
  /** Always `"CaptureError"`. */
  override name = "CaptureError";
  /** Process exit code the CLI uses. */
  readonly exitCode: number;
  /** A capture problem; `exitCode` 2 for environment or input, 1 for a runtime failure. */
  constructor(message: string, exitCode = 2) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** libpcap's counters (`pcap_stats`). */
export interface PcapStats {
  /** Packets received by the filter. */
  recv: number;
  /** Packets dropped because the buffer was full. */
  drop: number;
  /** Packets dropped by the interface or driver. */
  ifdrop: number;
}

/** A device from `pcap_findalldevs`. */
export interface PcapDevice {
  /** Device name, as libpcap and `--interface` take it. */
  name: string;
  /** libpcap's description of the device (may be empty). */
  description: string;
  /** IPv4 addresses of the device. */
  addresses: string[];
  /** PCAP_IF_* flags (1 loopback, 2 up, 4 running). */
  flags: number;
}

/** Options of {@link Pcap.openLive}. */
export interface LiveOptions {
  /** Snapshot length (default 350). */
  snaplen?: number;
  /** Kernel buffer in bytes (default 16 MiB). */
  bufferSize?: number;
  /** Immediate mode: deliver each packet at once (default false: buffered, `timeoutMs`). */
  immediate?: boolean;
  /** Read timeout in milliseconds for buffered mode (default 100). */
  timeoutMs?: number;
  /** Promiscuous mode (default false). */
  promisc?: boolean;
}

const SYMBOLS = {
  pcap_create: { parameters: ["buffer", "buffer"], result: "pointer" },
  pcap_open_offline: { parameters: ["buffer", "buffer"], result: "pointer" },
  pcap_set_snaplen: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_promisc: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_buffer_size: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_timeout: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_immediate_mode: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_activate: { parameters: ["pointer"], result: "i32" },
  pcap_geterr: { parameters: ["pointer"], result: "pointer" },
  pcap_statustostr: { parameters: ["i32"], result: "pointer" },
  pcap_compile: { parameters: ["pointer", "buffer", "buffer", "i32", "u32"], result: "i32" },
  pcap_setfilter: { parameters: ["pointer", "buffer"], result: "i32" },
  pcap_freecode: { parameters: ["buffer"], result: "void" },
  pcap_setnonblock: { parameters: ["pointer", "i32", "buffer"], result: "i32" },
  pcap_get_selectable_fd: { parameters: ["pointer"], result: "i32" },
  pcap_next_ex: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  pcap_stats: { parameters: ["pointer", "buffer"], result: "i32" },
  pcap_breakloop: { parameters: ["pointer"], result: "void" },
  pcap_close: { parameters: ["pointer"], result: "void" },
  pcap_datalink: { parameters: ["pointer"], result: "i32" },
  pcap_findalldevs: { parameters: ["buffer", "buffer"], result: "i32" },
  pcap_freealldevs: { parameters: ["pointer"], result: "void" },
  pcap_lib_version: { parameters: [], result: "pointer" },
} as const;

const LIBC_SYMBOLS = {
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  eventfd: { parameters: ["u32", "i32"], result: "i32", optional: true },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  setpriority: { parameters: ["i32", "u32", "i32"], result: "i32" },
  // /proc through libc: Deno lets only --allow-all read it (see readProcFile).
  open: { parameters: ["buffer", "i32"], result: "i32", optional: true },
  opendir: { parameters: ["buffer"], result: "pointer", optional: true },
  readdir: { parameters: ["pointer"], result: "pointer", optional: true },
  closedir: { parameters: ["pointer"], result: "i32", optional: true },
} as const;

type PcapLib = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
type LibcLib = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];

let pcapLib: PcapLib | undefined;
let libcLib: LibcLib | undefined;

function candidates(): string[] {
  const override = envVar("NETWORKSAGE_LIBPCAP");
  if (override) return [override];
  return Deno.build.os === "darwin"
    ? ["libpcap.A.dylib", "/usr/lib/libpcap.A.dylib"]
    : ["libpcap.so.1", "libpcap.so.0.8", "libpcap.so"];
}

function isPermissionError(e: unknown): boolean {
  return e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied ||
    (e instanceof Error && (e.name === "NotCapable" || e.name === "PermissionDenied"));
}

/** Loads libpcap (once). Throws a {@link CaptureError} (exit 2) that says how to fix it. */
export function loadLibpcap(): PcapLib {
  if (pcapLib) return pcapLib;
  const tried: string[] = [];
  for (const name of candidates()) {
    try {
      pcapLib = Deno.dlopen(name, SYMBOLS).symbols;
      return pcapLib;
    } catch (e) {
      if (isPermissionError(e)) {
        throw new CaptureError(
          "FFI permission missing: run with --allow-ffi (live capture loads libpcap through FFI)",
        );
      }
      tried.push(`${name} (${e instanceof Error ? e.message.split("\n")[0] : e})`);
    }
  }
  const how = Deno.build.os === "darwin"
    ? "libpcap ships with macOS; set NETWORKSAGE_LIBPCAP to its path"
    : "install it with `apt-get install libpcap0.8` (Debian/Ubuntu) or `dnf install libpcap`, " +
      "or set NETWORKSAGE_LIBPCAP to the library's path";
  throw new CaptureError(`libpcap not found: ${how}; tried ${tried.join(", ")}`);
}

function loadLibc(): LibcLib {
  if (libcLib) return libcLib;
  const names = Deno.build.os === "darwin" ? ["libSystem.B.dylib"] : ["libc.so.6", "libc.so"];
  for (const name of names) {
    try {
      libcLib = Deno.dlopen(name, LIBC_SYMBOLS).symbols;
      return libcLib;
    } catch (e) {
      if (isPermissionError(e)) {
        throw new CaptureError("FFI permission missing: run with --allow-ffi");
      }
    }
  }
  throw new CaptureError(`libc not found (tried ${names.join(", ")})`);
}

function cString(text: string): Uint8Array<ArrayBuffer> {
  const bytes = new TextEncoder().encode(text);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

function readCString(ptr: Deno.PointerValue): string {
  return ptr === null ? "" : Deno.UnsafePointerView.getCString(ptr);
}

/**
 * What a file libpcap cannot read as a capture is, in the converter's words ("unknown file
 * format" says nothing about a gzip'd capture or a text file), or undefined when it cannot be read.
 */
function notACapture(path: string, reason: string): string | undefined {
  if (!/unknown file format|bad dump file format|truncated dump file/.test(reason)) {
    return undefined;
  }
  let head: Uint8Array;
  try {
    using file = Deno.openSync(path);
    const buf = new Uint8Array(16);
    head = buf.subarray(0, file.readSync(buf) ?? 0);
  } catch {
    return undefined;
  }
  if (isGzip(head)) {
    return `${path}: a gzip-compressed file: live collection reads plain pcap or pcapng ` +
      `(decompress it first; convert reads it as it is)`;
  }
  if (head.length === 0) return `${path}: the file is empty, not a pcap or pcapng capture`;
  return `${path}: not a pcap or pcapng capture (${describeStart(head)})`;
}

function readErrbuf(buf: Uint8Array): string {
  const end = buf.indexOf(0);
  return new TextDecoder().decode(buf.subarray(0, end < 0 ? buf.length : end));
}

/** libpcap's version string, e.g. `libpcap version 1.10.3 (with TPACKET_V3)`. */
export function libpcapVersion(): string {
  return readCString(loadLibpcap().pcap_lib_version());
}

/**
 * Lowers the scheduling priority (`setpriority(PRIO_PROCESS, who, niceness)`; `who` 0 is the
 * calling thread on Linux, the process elsewhere).
 */
export function lowerPriority(niceness = 10, who = 0): boolean {
  try {
    return loadLibc().setpriority(0, who, niceness) === 0;
  } catch {
    return false;
  }
}

/** Lists capture devices (`pcap_findalldevs`). */
export function findAllDevices(): PcapDevice[] {
  const lib = loadLibpcap();
  const out = new BigUint64Array(1);
  const errbuf = new Uint8Array(512);
  if (lib.pcap_findalldevs(out, errbuf) !== 0) {
    throw new CaptureError(`cannot list interfaces: ${readErrbuf(errbuf)}`, 1);
  }
  const devices: PcapDevice[] = [];
  const head = Deno.UnsafePointer.create(out[0]);
  // struct pcap_if { next*, name*, description*, addresses*, flags u32 }
  for (let p = head; p !== null;) {
    const view = new Deno.UnsafePointerView(p);
    const name = readCString(view.getPointer(8));
    const description = readCString(view.getPointer(16));
    const addresses: string[] = [];
    // struct pcap_addr { next*, addr*, netmask*, broadaddr*, dstaddr* }
    for (let a = view.getPointer(24); a !== null;) {
      const av = new Deno.UnsafePointerView(a);
      const sa = av.getPointer(8);
      if (sa !== null) {
        const sv = new Deno.UnsafePointerView(sa);
        // Linux sockaddr: u16 family; macOS: u8 len, u8 family.
        const family = Deno.build.os === "darwin" ? sv.getUint8(1) : sv.getUint16(0);
        if (family === 2) {
          addresses.push(`${sv.getUint8(4)}.${sv.getUint8(5)}.${sv.getUint8(6)}.${sv.getUint8(7)}`);
        }
      }
      a = av.getPointer(0);
    }
    devices.push({ name, description, addresses, flags: view.getUint32(32) });
    p = view.getPointer(0);
  }
  if (head !== null) lib.pcap_freealldevs(head);
  return devices;
}

/** Bytes per batch record header: `[micros f64][caplen u32][origLen u32]`. */
export const RECORD_HEADER = 16;

/** Result of {@link Pcap.readInto}. */
export interface ReadResult {
  /** Bytes of records written into the buffer (from `offset`). */
  bytes: number;
  /** Packets written. */
  packets: number;
  /** Time (micros) of the last packet written, or -1. */
  lastMicros: number;
  /** `"more"`: stopped because the buffer is full or `maxMicros` was reached (`pending` set);
   * `"empty"`: no packet available now; `"eof"`: end of a capture file. */
  state: "more" | "empty" | "eof";
}

/** An open libpcap handle (live interface or capture file). */
export class Pcap {
  readonly #lib: PcapLib;
  readonly #libc: LibcLib;
  #handle: Deno.PointerValue;
  readonly offline: boolean;
  /**
   * Files: what cut the reading short (a damaged or truncated file ends it like the end of the
   * file, keeping the packets before, as `convert` does), or undefined.
   */
  damage: string | undefined;
  #path = "";
  /** Link-layer type (DLT_*), known after activation. */
  linkType = 0;
  /** `pcap_next_ex`'s out-parameters: [hdr ptr lo, hi, data ptr lo, hi]. */
  readonly #out = new Uint32Array(4);
  /** The same bytes as the `buffer` arguments (Uint8Array: what V8's fast FFI calls take). */
  readonly #hdrOut: Uint8Array<ArrayBuffer>;
  readonly #dataOut: Uint8Array<ArrayBuffer>;
  readonly #data64: BigUint64Array<ArrayBuffer>;
  /** A view over the native memory packets are handed out of (see {@link #copySlow}). */
  #region = new Uint8Array(0);
  #regionStart = 0;
  #regionLength = 0;
  #regionLookups = 0;
  /**
   * libpcap's `struct pcap_pkthdr` (`pcap_next_ex` always returns the handle's own header, so
   * an alias of it is made once): [sec lo, sec hi, usec lo, usec hi, caplen, len].
   */
  #hdr = new Uint32Array(6);
  #hdrLo = -1;
  #hdrHi = -1;
  #fd = -1;
  /** `struct pollfd[2]`: libpcap's selectable fd, then the wake eventfd (Linux). */
  #pollfd = new Uint8Array(16);
  #nfds = 1n;
  #wakeFd = -1;
  #scratch = new Uint8Array(8);
  /** A packet read but not yet stored (did not fit or belongs to the next window). */
  #pending = false;

  private constructor(handle: Deno.PointerValue, offline: boolean) {
    this.#lib = loadLibpcap();
    this.#libc = loadLibc();
    this.#handle = handle;
    this.offline = offline;
    this.#hdrOut = new Uint8Array(this.#out.buffer, 0, 8);
    this.#dataOut = new Uint8Array(this.#out.buffer, 8, 8);
    this.#data64 = new BigUint64Array(this.#out.buffer, 8, 1);
  }

  /** Opens a capture file (pcap or pcapng) with `pcap_open_offline`. */
  static openOffline(path: string): Pcap {
    const lib = loadLibpcap();
    const errbuf = new Uint8Array(512);
    const h = lib.pcap_open_offline(cString(path), errbuf);
    if (h === null) {
      // libpcap often starts its message with the path already ("x.pcap: No such file ...").
      const reason = readErrbuf(errbuf);
      throw new CaptureError(
        notACapture(path, reason) ??
          (reason.startsWith(`${path}: `) ? reason : `${path}: ${reason}`),
      );
    }
    const p = new Pcap(h, true);
    p.linkType = lib.pcap_datalink(h);
    p.#path = path;
    return p;
  }

  /** Opens and activates a live interface, non-blocking. */
  static openLive(device: string, options: LiveOptions = {}): Pcap {
    const lib = loadLibpcap();
    const errbuf = new Uint8Array(512);
    const h = lib.pcap_create(cString(device), errbuf);
    if (h === null) throw new CaptureError(`${device}: ${readErrbuf(errbuf)}`);
    const p = new Pcap(h, false);
    try {
      lib.pcap_set_snaplen(h, options.snaplen ?? 350);
      lib.pcap_set_promisc(h, options.promisc ? 1 : 0);
      lib.pcap_set_buffer_size(h, options.bufferSize ?? 16 * 1024 * 1024);
      lib.pcap_set_timeout(h, options.timeoutMs ?? 100);
      if (options.immediate) lib.pcap_set_immediate_mode(h, 1);
      const status = lib.pcap_activate(h);
      if (status < 0) throw activationError(lib, h, device, status);
      p.linkType = lib.pcap_datalink(h);
      if (lib.pcap_setnonblock(h, 1, errbuf) !== 0) {
        throw new CaptureError(`${device}: cannot set non-blocking mode: ${readErrbuf(errbuf)}`);
      }
      p.#fd = lib.pcap_get_selectable_fd(h);
      if (p.#fd >= 0) {
        const pv = new DataView(p.#pollfd.buffer);
        pv.setInt32(0, p.#fd, true);
        pv.setInt16(4, 1, true); // POLLIN
        // EFD_NONBLOCK | EFD_CLOEXEC
        const wakeFd = p.#libc.eventfd ? p.#libc.eventfd(0, 0o4000 | 0o2000000) : -1;
        if (wakeFd >= 0) {
          p.#wakeFd = wakeFd;
          p.#nfds = 2n;
          pv.setInt32(8, wakeFd, true);
          pv.setInt16(12, 1, true);
        }
      }
    } catch (e) {
      p.close();
      throw e;
    }
    return p;
  }

  #error(): string {
    return this.#handle === null ? "closed" : readCString(this.#lib.pcap_geterr(this.#handle));
  }

  /** Compiles `expression` and installs it as the kernel filter. */
  setFilter(expression: string): void {
    // struct bpf_program { u_int bf_len; struct bpf_insn *bf_insns; } = 16 bytes on 64-bit.
    const prog = new Uint8Array(16);
    if (this.#lib.pcap_compile(this.#handle, prog, cString(expression), 1, 0xffffffff) !== 0) {
      throw new CaptureError(`bad filter expression: ${this.#error()}`);
    }
    const ok = this.#lib.pcap_setfilter(this.#handle, prog) === 0;
    const err = ok ? "" : this.#error();
    this.#lib.pcap_freecode(prog);
    if (!ok) throw new CaptureError(`cannot set filter: ${err}`, 1);
  }

  /** Whether {@link wake} interrupts a {@link wait} (so long waits are fine). */
  get wakeable(): boolean {
    return this.#wakeFd >= 0;
  }

  /**
   * Waits (off the JavaScript thread) until packets may be readable, `timeoutMs` passes, or
   * {@link wake} is called. For capture files it resolves at once.
   */
  async wait(timeoutMs: number): Promise<void> {
    if (this.#pending || this.offline || this.#fd < 0 || this.#handle === null) return;
    this.#pollfd.fill(0, 6, 8);
    this.#pollfd.fill(0, 14, 16);
    await this.#libc.poll(this.#pollfd, this.#nfds, timeoutMs);
    if (this.#wakeFd >= 0 && this.#pollfd[14] !== 0) {
      this.#libc.read(this.#wakeFd, this.#scratch, 8n); // reset the eventfd
    }
  }

  /** Makes a running {@link wait} return now (no effect without an eventfd). */
  wake(): void {
    if (this.#wakeFd < 0) return;
    new DataView(this.#scratch.buffer).setBigUint64(0, 1n, true);
    this.#libc.write(this.#wakeFd, this.#scratch, 8n);
  }

  /**
   * Reads available packets into `buf` (at `offset`) as records `[micros f64][caplen u32]
   * [origLen u32][bytes]`, stopping when the buffer is full, no packet is available, the file
   * ends, or a packet's time reaches `maxMicros` (that packet is kept for the next call).
   *
   * One FFI call per packet (`pcap_next_ex`, a V8 fast call); the bytes are copied in JavaScript
   * out of a view over the native region libpcap hands packets out of (the TPACKET_V3 ring).
   */
  readInto(
    buf: Uint8Array,
    offset: number,
    maxMicros = Infinity,
    maxPackets = Infinity,
  ): ReadResult {
    const lib = this.#lib;
    const handle = this.#handle;
    const out = this.#out;
    const hdrOut = this.#hdrOut;
    const dataOut = this.#dataOut;
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const limit = buf.byteLength;
    let off = offset;
    let packets = 0;
    let lastMicros = -1;
    let state: ReadResult["state"] = "more";
    while (packets < maxPackets) {
      if (!this.#pending) {
        const r = lib.pcap_next_ex(handle, hdrOut, dataOut);
        if (r !== 1) {
          if (r === 0) state = "empty";
          else if (r === -2) state = "eof";
          else if (r === -1 && this.offline) {
            this.damage = `${this.#path}: ${this.#error()}: kept the packets before it`;
            state = "eof";
          } else if (r === -1) throw new CaptureError(`read failed: ${this.#error()}`, 1);
          else state = "empty";
          break;
        }
        // struct pcap_pkthdr { timeval ts (2 x i64); u32 caplen; u32 len } on 64-bit.
        if (out[0] !== this.#hdrLo || out[1] !== this.#hdrHi) this.#aliasHeader();
        this.#pending = true;
      }
      const hdr = this.#hdr;
      const caplen = hdr[4];
      const micros = timevalMicros(hdr);
      if (micros >= maxMicros) break;
      if (off + RECORD_HEADER + caplen > limit) {
        if (off === offset) throw new CaptureError(`packet of ${caplen} bytes exceeds batch`, 1);
        break;
      }
      view.setFloat64(off, micros, true);
      view.setUint32(off + 8, caplen, true);
      view.setUint32(off + 12, hdr[5], true);
      if (caplen > 0) {
        const at = out[2] + out[3] * 4294967296 - this.#regionStart;
        if (at >= 0 && at + caplen <= this.#regionLength) {
          buf.set(this.#region.subarray(at, at + caplen), off + RECORD_HEADER);
        } else {
          this.#copySlow(buf, off + RECORD_HEADER, caplen);
        }
      }
      this.#pending = false;
      off += RECORD_HEADER + caplen;
      packets++;
      lastMicros = micros;
    }
    return { bytes: off - offset, packets, lastMicros, state };
  }

  /**
   * Copies a packet that lies outside the known region, then looks its region up (Linux
   * `/proc/self/maps`) so that the next packets are copied from a view of it.
   */
  #copySlow(buf: Uint8Array, at: number, caplen: number): void {
    const data = this.#data64[0];
    Deno.UnsafePointerView.copyInto(
      Deno.UnsafePointer.create(data)!,
      buf.subarray(at, at + caplen),
    );
    if (this.#regionLookups >= 8) return;
    this.#regionLookups++;
    const region = findRegion(Number(data));
    if (region && region.end - region.start >= caplen) {
      const ptr = Deno.UnsafePointer.create(BigInt(region.start))!;
      this.#region = new Uint8Array(
        Deno.UnsafePointerView.getArrayBuffer(ptr, region.end - region.start),
      );
      this.#regionStart = region.start;
      this.#regionLength = region.end - region.start;
    }
  }

  /** Time (micros) of the packet held back by the last {@link readInto}, or -1. */
  pendingMicros(): number {
    if (!this.#pending) return -1;
    return timevalMicros(this.#hdr);
  }

  #aliasHeader(): void {
    this.#hdrLo = this.#out[0];
    this.#hdrHi = this.#out[1];
    const ptr = Deno.UnsafePointer.create(BigInt(this.#hdrLo) + (BigInt(this.#hdrHi) << 32n));
    this.#hdr = new Uint32Array(Deno.UnsafePointerView.getArrayBuffer(ptr!, 24));
  }

  /** libpcap's counters (zeros for capture files). */
  stats(): PcapStats {
    if (this.offline || this.#handle === null) return { recv: 0, drop: 0, ifdrop: 0 };
    const s = new Uint32Array(4);
    if (this.#lib.pcap_stats(this.#handle, s) !== 0) return { recv: 0, drop: 0, ifdrop: 0 };
    return { recv: s[0], drop: s[1], ifdrop: s[2] };
  }

  /** `pcap_breakloop`: makes a running read return. */
  breakLoop(): void {
    if (this.#handle !== null) this.#lib.pcap_breakloop(this.#handle);
  }

  /** Closes the handle (idempotent). */
  close(): void {
    this.#region = new Uint8Array(0);
    this.#regionStart = 0;
    this.#regionLength = 0;
    if (this.#handle !== null) {
      this.wake();
      this.#lib.pcap_close(this.#handle);
      this.#handle = null;
    }
    if (this.#wakeFd >= 0) {
      this.#libc.close(this.#wakeFd);
      this.#wakeFd = -1;
    }
  }
}

/**
 * A small /proc file of this process, read through libc, or null. Deno lets only `--allow-all`
 * read /proc, so under the collector's own permissions (`--allow-ffi --allow-read
 * --allow-write`) `Deno.readTextFileSync("/proc/self/maps")` always failed: every packet took the
 * slow copy (0.03-0.05 s more CPU for the 300k capture) and `--nice` changed nothing. The
 * collector holds `--allow-ffi`, which already allows what libc does.
 */
export function readProcFile(path: string, maxBytes = 16 << 20): string | null {
  if (Deno.build.os !== "linux") return null;
  try {
    const libc = loadLibc();
    if (!libc.open) return null;
    const fd = libc.open(cString(path), 0o2000000); // O_RDONLY | O_CLOEXEC
    if (fd < 0) return null;
    try {
      const parts: Uint8Array[] = [];
      const buf = new Uint8Array(65536);
      let total = 0;
      for (;;) {
        const n = Number(libc.read(fd, buf, BigInt(buf.length)));
        if (n <= 0) break;
        parts.push(buf.slice(0, n));
        total += n;
        if (total > maxBytes) return null;
      }
      const all = new Uint8Array(total);
      let at = 0;
      for (const part of parts) {
        all.set(part, at);
        at += part.length;
      }
      return new TextDecoder().decode(all);
    } finally {
      libc.close(fd);
    }
  } catch {
    return null;
  }
}

/** The names in a /proc directory of this process (see {@link readProcFile}), or null. */
export function listProcDir(path: string): string[] | null {
  if (Deno.build.os !== "linux") return null;
  try {
    const libc = loadLibc();
    if (!libc.opendir || !libc.readdir || !libc.closedir) return null;
    const dir = libc.opendir(cString(path));
    if (dir === null) return null;
    try {
      const names: string[] = [];
      // glibc's struct dirent on Linux: d_ino u64, d_off i64, d_reclen u16, d_type u8, d_name.
      for (let e = libc.readdir(dir); e !== null; e = libc.readdir(dir)) {
        names.push(Deno.UnsafePointerView.getCString(e, 19));
      }
      return names;
    } finally {
      libc.closedir(dir);
    }
  } catch {
    return null;
  }
}

/**
 * Microseconds of a `struct timeval` seen as [sec lo, sec hi, usec lo, usec hi]. A pcap file
 * stores seconds as 32 unsigned bits; libpcap widens them with the sign, so a time from 2038 on
 * came out as a negative high word, read here as 2^32 - 1: a time of 1.8e25 µs. Read as the file
 * holds it instead, as `convert` reads it (a live clock is never negative).
 */
export function timevalMicros(hdr: Uint32Array): number {
  const seconds = hdr[1] === 0xffffffff ? hdr[0] : hdr[0] + hdr[1] * 4294967296;
  return seconds * 1_000_000 + hdr[2];
}

/** The mapping that holds `address` (Linux `/proc/self/maps`), or null. */
function findRegion(address: number): { start: number; end: number } | null {
  const maps = readProcFile("/proc/self/maps");
  if (maps === null) return null;
  for (const line of maps.split("\n")) {
    const dash = line.indexOf("-");
    const space = line.indexOf(" ");
    if (dash < 0 || space < dash) continue;
    const start = parseInt(line.slice(0, dash), 16);
    const end = parseInt(line.slice(dash + 1, space), 16);
    if (address >= start && address < end && end <= Number.MAX_SAFE_INTEGER) return { start, end };
  }
  return null;
}

function activationError(
  lib: PcapLib,
  h: Deno.PointerValue,
  device: string,
  status: number,
): CaptureError {
  const detail = readCString(lib.pcap_geterr(h)) || readCString(lib.pcap_statustostr(status));
  // PCAP_ERROR_PERM_DENIED -8, PCAP_ERROR_NO_SUCH_DEVICE -5, PCAP_ERROR_PROMISC_PERM_DENIED -11
  if (status === -8 || status === -11) {
    return new CaptureError(
      `no permission to capture on ${device}: run as root or grant CAP_NET_RAW ` +
        `(sudo setcap cap_net_raw+ep "$(command -v deno)") (${detail})`,
    );
  }
  if (status === -5) {
    let names = "";
    try {
      names = findAllDevices().map((d) => d.name).join(", ");
    } catch { /* listing failed too */ }
    return new CaptureError(
      `unknown interface '${device}'; interfaces: ${names || "(none found)"}`,
    );
  }
  return new CaptureError(`cannot capture on ${device}: ${detail}`, 1);
}
