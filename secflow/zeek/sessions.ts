/**
 * The sessions section 5 made from a conn.log, compact: each lives in the row slot that created
 * it. Read them as {@link SessionRecord}s, or column by column (the streamed `.sf` writer).
 * @module
 */
import { isLocal } from "../net.ts";
import type { SessionRecord } from "../session.ts";
import { C_DBYTES, C_DPKTS, C_SBYTES, C_SPKTS, F_ICMP, type RowStore } from "./_conn_row.ts";

/**
 * The sessions of a conn.log after section 5, compact: each session lives in the row slot that
 * created it; `holder[i]` is the row of the i-th session in creation order.
 */
export class ZeekSessions {
  constructor(
    private readonly R: RowStore,
    readonly holder: Int32Array,
    readonly startTime: number | undefined,
  ) {}

  /** The row columns the sessions live in (read-only use). */
  get rows(): RowStore {
    return this.R;
  }

  /**
   * Three columns of at least {@link length} entries that nothing reads once the sessions are
   * made (the rows' IP-byte counts and group links), lent to a writer as sort space: memory that
   * is already there costs nothing, fresh memory costs page faults.
   */
  scratch(): [Uint32Array, Uint32Array, Uint32Array] {
    const R = this.R, n = this.holder.length;
    const next = new Uint32Array(R.next.buffer, R.next.byteOffset, R.next.length);
    return [R.sIpBytes.subarray(0, n), R.dIpBytes.subarray(0, n), next.subarray(0, n)];
  }

  /** Number of sessions. */
  get length(): number {
    return this.holder.length;
  }

  /** Session `i` (creation order) as a {@link SessionRecord}. */
  record(i: number): SessionRecord {
    const R = this.R, r = this.holder[i];
    const flags = R.flags[r];
    return {
      icmp: (flags & F_ICMP) !== 0,
      srcIp: R.sIp[r],
      srcPort: R.sPort[r],
      dstIp: R.dIp[r],
      dstPort: R.dPort[r],
      srcPkts: R.get(R.sPkts, C_SPKTS, r),
      dstPkts: R.get(R.dPkts, C_DPKTS, r),
      srcBytes: R.get(R.sBytes, C_SBYTES, r),
      dstBytes: R.get(R.dBytes, C_DBYTES, r),
      first: R.ts[r],
      last: R.end[r],
    };
  }

  /** Every session, in creation order. */
  records(): SessionRecord[] {
    const out: SessionRecord[] = new Array(this.length);
    for (let i = 0; i < out.length; i++) out[i] = this.record(i);
    return out;
  }

  /** External destination addresses of the sessions (section 5's active addresses). */
  active(): Set<number> {
    const out = new Set<number>();
    const R = this.R;
    for (let i = 0; i < this.holder.length; i++) {
      const ip = R.dIp[this.holder[i]];
      if (!isLocal(ip)) out.add(ip);
    }
    return out;
  }

  /** First time of session `i`. */
  first(i: number): number {
    return this.R.ts[this.holder[i]];
  }
}
