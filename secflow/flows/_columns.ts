/**
 * The flow engine's table state: a flow's key words and counters in typed columns indexed by its
 * slot ({@link Columns}), and the interned tunnel contexts ({@link Context}).
 * @module
 */
import { grown } from "../_int_table.ts";
import type { FlowName, SampleVerdict, TunnelHop } from "./types.ts";

/** Key words: [proto | version << 8, vlans, context, A (4 words), B (4 words), pA << 16 | pB]. */
export const KEY_WIDTH = 12;

// Bits of a flow's `flags` column.
export const F_ORIG_IS_A = 1, F_FIRST_FROM_A = 2, F_SYN = 4, F_FIN_A = 8, F_FIN_B = 16;
export const F_RST = 32, F_BIG = 64, F_ONE_WAY = 128, F_COND_DNS = 256, F_SYN_A = 512;
export const F_SYN_B = 1024;
/** A client's request head was cut by its segment's end (the Host may come next). */
export const F_HTTP_OPEN = 2048;
/** The flow ended: its slot is held until the flow is emitted, or free. */
export const F_ENDED = 4096;

/** A flow's sample verdict, as its `verdict` column holds it ({@link VERDICTS} names them). */
export const enum V {
  Kept = 0,
  Ipv6,
  InTunnel,
  Encapsulation,
  NotTcpUdpIcmp,
  Fragment,
  BlockedPort,
  LanInternal,
  LocalDns,
  BroadcastMulticast,
  LocalOnly,
  TooShort,
}
/** The text of each {@link V}. */
export const VERDICTS: readonly SampleVerdict[] = [
  "kept",
  "ipv6",
  "in-tunnel",
  "encapsulation",
  "not-tcp-udp-icmp",
  "fragment",
  "blocked-port",
  "lan-internal",
  "local-dns",
  "broadcast-multicast",
  "local-only",
  "too-short",
];

/** A flow's state in typed columns, indexed by its slot in the key table. */
export class Columns {
  cap: number;
  key: Int32Array;
  flags: Int32Array;
  /** The order flows were made in (interned tunnel paths name carriers by it). */
  serial: Int32Array;
  /** A live flow's place in the engine's list of live slots. */
  place: Int32Array;
  verdict: Uint8Array;
  budget: Uint8Array;
  fragments: Int32Array;
  /** The flow's tunnel path (interned). */
  path: Int32Array;
  first: Float64Array;
  last: Float64Array;
  /** packets, payload bytes, IP bytes from A, then from B. */
  count: Float64Array;
  names: (FlowName[] | undefined)[] = [];
  constructor(cap: number) {
    this.cap = cap;
    this.key = new Int32Array(cap * KEY_WIDTH);
    this.flags = new Int32Array(cap);
    this.serial = new Int32Array(cap);
    this.place = new Int32Array(cap);
    this.verdict = new Uint8Array(cap);
    this.budget = new Uint8Array(cap);
    this.fragments = new Int32Array(cap);
    this.path = new Int32Array(cap);
    this.first = new Float64Array(cap);
    this.last = new Float64Array(cap);
    this.count = new Float64Array(cap * 6);
  }
  /** Doubles every column (through {@link grown}, the one way a typed column grows). */
  grow(): void {
    const cap = this.cap * 2;
    const g = <T extends Int32Array | Uint8Array | Float64Array>(a: T, per = 1): T =>
      grown(a, cap * per);
    this.key = g(this.key, KEY_WIDTH);
    this.flags = g(this.flags);
    this.serial = g(this.serial);
    this.place = g(this.place);
    this.verdict = g(this.verdict);
    this.budget = g(this.budget);
    this.fragments = g(this.fragments);
    this.path = g(this.path);
    this.first = g(this.first);
    this.last = g(this.last);
    this.count = g(this.count, 6);
    this.cap = cap;
  }
}

/** A tunnel context: its parent context, hop, and the hop's text (made once per context). */
export interface Context {
  parent: number;
  hop: TunnelHop;
}
