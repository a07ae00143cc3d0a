/**
 * A conn.log row twice: {@link ConnRow}, the one record every reader (TSV fast path, TSV general
 * path, JSON) fills and hands on, reused for every row; and {@link RowStore}, the typed-array
 * columns rows are stored in once section 5 has flipped them (s = the session's source side,
 * d = its destination side). A session later lives in the row slot of the row that created it.
 * @module
 */
import { grown } from "../_int_table.ts";

/** One conn.log row as read, before section 5: the orig and resp sides as Zeek names them. */
export class ConnRow {
  /** `ts`, seconds. */
  ts = 0;
  /** `duration`, seconds; NaN when unset (`-`). */
  duration = NaN;
  /** `id.orig_h` as an unsigned IPv4 number. */
  origIp = 0;
  /** `id.orig_p`. */
  origPort = 0;
  /** `id.resp_h` as an unsigned IPv4 number. */
  respIp = 0;
  /** `id.resp_p`. */
  respPort = 0;
  /** `proto` is `icmp`. */
  icmp = false;
  /** `service` is set (not `-`). */
  service = false;
  /** `history` as {@link H_S history bits} (0 when unset). */
  history = 0;
  /** `orig_bytes`; -1 when unset. */
  origBytes = -1;
  /** `resp_bytes`; -1 when unset. */
  respBytes = -1;
  /** `orig_pkts` (unset reads as 0). */
  origPkts = 0;
  /** `resp_pkts` (unset reads as 0). */
  respPkts = 0;
  /** `orig_ip_bytes` (unset reads as 0). */
  origIpBytes = 0;
  /** `resp_ip_bytes` (unset reads as 0). */
  respIpBytes = 0;
}

// Row flags (after the flip: "s" is the session's source side, "d" its destination side).
/** Row flag: ICMP. */
export const F_ICMP = 1;
/** Row flag: the row was flipped (rule 1). */
export const F_FLIPPED = 2;
/** Row flag: service is set. */
export const F_SERVICE = 4;
/** Row flag: the source side's payload byte count was set (not `-`). */
export const F_SBYTES = 8;
/** Row flag: the destination side's payload byte count was set. */
export const F_DBYTES = 16;
/** Row flag: history is exactly `S` (seen from the source side). */
export const F_EXACT_S = 32;
/** Row flag: history has `d` or `t` (seen from the source side). */
export const F_NS_SRC = 64;
/** Row flag: history has `D` or `t` (seen from the source side). */
export const F_NS_DST = 128;
/** Session flag, set on the creating row once a group finished with it current. */
export const S_FINAL = 256;
/** Row flag: the first row of its group. */
export const F_HEAD = 512;

/** Values at or above this are kept in an overflow map (u32 columns). */
const BIG = 0xffffffff;

/** Counter columns of {@link RowStore.get} and {@link RowStore.put}. */
export const C_SPKTS = 0, C_DPKTS = 1, C_SBYTES = 2, C_DBYTES = 3, C_SIPB = 4, C_DIPB = 5;

/** Growable typed-array columns of conn rows, after the flip. */
export class RowStore {
  /** Rows the columns hold. */
  capacity: number;
  /** Rows stored. */
  size = 0;
  ts: Float64Array;
  /** ts + duration; NaN when the duration was unset. */
  end: Float64Array;
  sIp: Uint32Array;
  dIp: Uint32Array;
  sPort: Uint16Array;
  dPort: Uint16Array;
  flags: Uint16Array;
  sPkts: Uint32Array;
  dPkts: Uint32Array;
  sBytes: Uint32Array;
  dBytes: Uint32Array;
  sIpBytes: Uint32Array;
  dIpBytes: Uint32Array;
  /** Group links (see `rules.ts`). */
  next: Int32Array;
  /** Values >= 2^32-1, by `row * 8 + column` (columns: 0 sPkts .. 5 dIpBytes). */
  big: Map<number, number> = new Map();

  /** Columns for `capacity` rows (address space: pages are touched as rows are stored). */
  constructor(capacity: number) {
    this.capacity = capacity;
    this.ts = new Float64Array(capacity);
    this.end = new Float64Array(capacity);
    this.sIp = new Uint32Array(capacity);
    this.dIp = new Uint32Array(capacity);
    this.sPort = new Uint16Array(capacity);
    this.dPort = new Uint16Array(capacity);
    this.flags = new Uint16Array(capacity);
    this.sPkts = new Uint32Array(capacity);
    this.dPkts = new Uint32Array(capacity);
    this.sBytes = new Uint32Array(capacity);
    this.dBytes = new Uint32Array(capacity);
    this.sIpBytes = new Uint32Array(capacity);
    this.dIpBytes = new Uint32Array(capacity);
    this.next = new Int32Array(capacity);
  }

  /** Doubles the capacity. */
  grow(): void {
    const c = this.capacity * 2;
    this.ts = grown(this.ts, c);
    this.end = grown(this.end, c);
    this.sIp = grown(this.sIp, c);
    this.dIp = grown(this.dIp, c);
    this.sPort = grown(this.sPort, c);
    this.dPort = grown(this.dPort, c);
    this.flags = grown(this.flags, c);
    this.sPkts = grown(this.sPkts, c);
    this.dPkts = grown(this.dPkts, c);
    this.sBytes = grown(this.sBytes, c);
    this.dBytes = grown(this.dBytes, c);
    this.sIpBytes = grown(this.sIpBytes, c);
    this.dIpBytes = grown(this.dIpBytes, c);
    this.next = grown(this.next, c);
    this.capacity = c;
  }

  /** Stores a count into a u32 column, spilling large values. */
  put(col: Uint32Array, column: number, row: number, v: number): void {
    if (v >= BIG) {
      col[row] = BIG;
      this.big.set(row * 8 + column, v);
    } else col[row] = v;
  }

  /** A count of a u32 column (spilled values included). */
  get(col: Uint32Array, column: number, row: number): number {
    const v = col[row];
    return v === BIG ? this.big.get(row * 8 + column)! : v;
  }
}
