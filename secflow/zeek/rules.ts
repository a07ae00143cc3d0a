/**
 * SECFLOW.md section 5, the rules, readable beside the spec: rows are kept or dropped and
 * flipped as they are stored ({@link ConnRules.add}: "rows whose two addresses are both local are
 * dropped", the start time, rule 1's flip), grouped by key in order of first appearance
 * (`ConnRules.#groupRow`, in batches), and each group's rows taken by ts through rules 1-4 and the
 * after-group step ({@link ConnRules.sessions}). The readers only parse; this module decides.
 *
 * Storage: rows live in typed-array columns ({@link RowStore}); a key (address and port, or the
 * two addresses of an ICMP pair) is a dense id of an {@link IntPairTable} with two columns
 * beside it: the key's group (its first row + 1) and its session (position + 1). A session lives
 * in the row slot of the row that created it (that row's own values are consumed at that moment).
 * @module
 */
import { grown, hashOf, IntPairTable } from "../_int_table.ts";
import { isLocal } from "../net.ts";
import { H_D, H_d, H_LOWER_S, H_S, H_T, H_t } from "./_text.ts";
import {
  C_DBYTES,
  C_DIPB,
  C_DPKTS,
  C_SBYTES,
  C_SIPB,
  C_SPKTS,
  type ConnRow,
  F_DBYTES,
  F_EXACT_S,
  F_FLIPPED,
  F_HEAD,
  F_ICMP,
  F_NS_DST,
  F_NS_SRC,
  F_SBYTES,
  F_SERVICE,
  RowStore,
  S_FINAL,
} from "./_conn_row.ts";
import { ZeekSessions } from "./sessions.ts";

/** Rows grouped together, their keys' slots loaded first (see `ConnRules.#groupBatch`). */
const BATCH = 64;

/** Keys of one table (TCP/UDP endpoints or ICMP pairs) with their group and session columns. */
export class KeyEntries {
  readonly table: IntPairTable;
  /** First row of the group keyed by the entry, + 1 (0: no group). */
  group: Int32Array;
  /** Session position of the entry's key, + 1 (0: no session). */
  session: Int32Array;

  constructor(entries: number) {
    this.table = new IntPairTable(entries);
    this.group = new Int32Array(Math.max(entries, 1024));
    this.session = new Int32Array(Math.max(entries, 1024));
  }

  /** The entry of `(x, y)` (int32s), added when absent. */
  findOrAdd(x: number, y: number, hash = hashOf(x, y)): number {
    const k = this.table.findOrAddHashed(x, y, hash);
    if (k >= this.group.length) {
      this.group = grown(this.group, k + 1);
      this.session = grown(this.session, k + 1);
    }
    return k;
  }
}

/** Row counters section 5 keeps while rows are added. */
export interface RuleCounts {
  /** Rows kept (IPv4, not both addresses local). */
  rows: number;
  /** Rows whose two addresses are both local. */
  local: number;
}

/** Section 5 over the rows of one conn.log. */
export class ConnRules {
  /** Earliest ts of a kept row: the sample's `trafficDate`. */
  startTime: number | undefined;
  /** The stored rows. */
  readonly rows: RowStore;
  /** (address, port) → group and session of that key. */
  readonly keys: KeyEntries;
  /** ICMP (orig address, resp address) → group and session of that key. */
  readonly icmpKeys: KeyEntries = new KeyEntries(1024);

  /** Rules for about `rowsHint` rows (the columns grow beyond). */
  constructor(rowsHint: number, private readonly counts: RuleCounts) {
    const cap = Math.max(1024, Math.min(rowsHint, 1 << 26));
    this.rows = new RowStore(cap);
    this.keys = new KeyEntries(cap);
  }

  /** Makes room for about `n` TCP/UDP keys at once. */
  reserveKeys(n: number): void {
    this.keys.table.reserve(n);
  }

  /**
   * Adds one row: dropped when both addresses are local; the start time; flipped when from an
   * external to a local address (rule 1: addresses, ports, counts, the case of history), as it
   * is stored; then grouped.
   */
  add(row: ConnRow): void {
    const oIp = row.origIp, rIp = row.respIp;
    const oLocal = isLocal(oIp), rLocal = isLocal(rIp);
    if (oLocal && rLocal) {
      this.counts.local++;
      return;
    }
    this.counts.rows++;
    const ts = row.ts;
    if (this.startTime === undefined || ts < this.startTime) this.startTime = ts;
    const R = this.rows;
    if (R.size === R.capacity) R.grow();
    const r = R.size++;
    let flags = (row.icmp ? F_ICMP : 0) | (row.service ? F_SERVICE : 0);
    const hist = row.history;
    const oBytes = row.origBytes, rBytes = row.respBytes;
    R.ts[r] = ts;
    R.end[r] = row.duration === row.duration ? ts + row.duration : NaN;
    if (rLocal && !oLocal) {
      // Rule 1, the flip: swap addresses, ports, counts; swap the case of the history letters.
      flags |= F_FLIPPED;
      R.sIp[r] = rIp;
      R.dIp[r] = oIp;
      R.sPort[r] = row.respPort;
      R.dPort[r] = row.origPort;
      if (rBytes >= 0) flags |= F_SBYTES;
      if (oBytes >= 0) flags |= F_DBYTES;
      if (hist & H_LOWER_S) flags |= F_EXACT_S;
      if (hist & (H_D | H_T)) flags |= F_NS_SRC;
      if (hist & (H_d | H_T)) flags |= F_NS_DST;
      R.put(R.sPkts, C_SPKTS, r, row.respPkts);
      R.put(R.dPkts, C_DPKTS, r, row.origPkts);
      R.put(R.sBytes, C_SBYTES, r, rBytes < 0 ? 0 : rBytes);
      R.put(R.dBytes, C_DBYTES, r, oBytes < 0 ? 0 : oBytes);
      R.put(R.sIpBytes, C_SIPB, r, row.respIpBytes);
      R.put(R.dIpBytes, C_DIPB, r, row.origIpBytes);
    } else {
      R.sIp[r] = oIp;
      R.dIp[r] = rIp;
      R.sPort[r] = row.origPort;
      R.dPort[r] = row.respPort;
      if (oBytes >= 0) flags |= F_SBYTES;
      if (rBytes >= 0) flags |= F_DBYTES;
      if (hist & H_S) flags |= F_EXACT_S;
      if (hist & (H_d | H_t)) flags |= F_NS_SRC;
      if (hist & (H_D | H_t)) flags |= F_NS_DST;
      R.put(R.sPkts, C_SPKTS, r, row.origPkts);
      R.put(R.dPkts, C_DPKTS, r, row.respPkts);
      R.put(R.sBytes, C_SBYTES, r, oBytes < 0 ? 0 : oBytes);
      R.put(R.dBytes, C_DBYTES, r, rBytes < 0 ? 0 : rBytes);
      R.put(R.sIpBytes, C_SIPB, r, row.origIpBytes);
      R.put(R.dIpBytes, C_DIPB, r, row.respIpBytes);
    }
    R.flags[r] = flags;
    if (R.size - this.#grouped >= BATCH) this.#groupBatch();
  }

  /** Rows stored but not yet grouped. */
  #grouped = 0;
  #hashes = new Int32Array(BATCH);
  /** Keeps the touched slots' loads from being optimised away. */
  #touched = 0;

  /**
   * Groups the rows stored since the last batch. Their keys' slots are loaded first, all
   * together, so that the cache misses of a batch overlap instead of coming one per row.
   */
  #groupBatch(): void {
    const R = this.rows, from = this.#grouped, to = R.size, hashes = this.#hashes;
    let n = 0;
    for (let r = from; r < to; r++) {
      const f = R.flags[r];
      if (f & F_ICMP) continue;
      hashes[n++] = f & F_FLIPPED
        ? hashOf(R.dIp[r] | 0, R.dPort[r])
        : hashOf(R.sIp[r] | 0, R.sPort[r]);
    }
    this.#touched |= this.keys.table.touch(hashes, n);
    let k = 0;
    for (let r = from; r < to; r++) this.#groupRow(r, R.flags[r] & F_ICMP ? 0 : hashes[k++]);
    this.#grouped = to;
  }

  /**
   * Puts stored row `r` into its group (key orig_h:orig_p, or orig_h:ICMP-resp_h:ICMP, read
   * back from the row: after a flip the orig side is the destination). Rows are grouped in
   * order. A group is found through its first row (flag F_HEAD), whose `next` holds the group's
   * last row; every later row's `next` holds the row before it.
   */
  #groupRow(r: number, hash: number): void {
    const R = this.rows;
    let flags = R.flags[r];
    const flipped = (flags & F_FLIPPED) !== 0;
    let key: number, table: KeyEntries;
    if (flags & F_ICMP) {
      table = this.icmpKeys;
      key = flipped
        ? table.findOrAdd(R.dIp[r] | 0, R.sIp[r] | 0)
        : table.findOrAdd(R.sIp[r] | 0, R.dIp[r] | 0);
    } else {
      table = this.keys;
      key = flipped
        ? table.findOrAdd(R.dIp[r] | 0, R.dPort[r], hash)
        : table.findOrAdd(R.sIp[r] | 0, R.sPort[r], hash);
    }
    const next = R.next;
    const h = table.group[key] - 1;
    if (h < 0) {
      table.group[key] = r + 1;
      flags |= F_HEAD;
      next[r] = r;
      R.flags[r] = flags;
    } else {
      next[r] = next[h];
      next[h] = r;
    }
  }

  /**
   * Section 5: every group in order of first appearance, its rows by ts, flips, the NS and SV
   * byte counters. Call once, after {@link end}.
   */
  sessions(): ZeekSessions {
    this.#groupBatch();
    const R = this.rows;
    const size = R.size;
    const keys = this.keys, icmpKeys = this.icmpKeys;
    const flagsOf = R.flags, next = R.next;
    // Session position → the row that holds it.
    const holder = new Int32Array(Math.max(size, 1));
    let count = 0;
    let order: number[] = [];
    let tcpGroups = 0;
    // "Rows are grouped by key in order of first appearance": a group's first row comes first.
    for (let head = 0; head < size; head++) {
      const headFlags = flagsOf[head];
      if ((headFlags & F_HEAD) === 0) continue;
      let r = head;
      let rowsOfGroup: number[] | null = null;
      const last = next[head];
      if (last !== head) {
        // "Each group, rows sorted by ts (stable)": in row order, then by ts unless in order.
        order.length = 0;
        for (let x = last; x !== head; x = next[x]) order.push(x);
        order.push(head);
        order.reverse();
        let sorted = true;
        for (let i = 1; i < order.length && sorted; i++) {
          if (R.ts[order[i]] < R.ts[order[i - 1]]) sorted = false;
        }
        if (!sorted) order.sort((a, b) => R.ts[a] - R.ts[b] || a - b);
        rowsOfGroup = order;
      }
      // The group's key entry (the key's session, when its rows are not flipped).
      const icmpGroup = (headFlags & F_ICMP) !== 0;
      // Entries were made in add() exactly when a group began: the n-th TCP/UDP group's key is
      // entry n.
      const groupKey = icmpGroup ? -1 : tcpGroups++;
      let nsSrc = 0, nsDst = 0, svSrc = 0, svDst = 0;
      let cur = -1;
      const n = rowsOfGroup ? rowsOfGroup.length : 1;
      for (let i = 0; i < n; i++) {
        if (rowsOfGroup) r = rowsOfGroup[i];
        const flags = flagsOf[r];
        const ts = R.ts[r], end = R.end[r];
        const sPkts = R.get(R.sPkts, C_SPKTS, r), dPkts = R.get(R.dPkts, C_DPKTS, r);
        const sBytes = R.get(R.sBytes, C_SBYTES, r), dBytes = R.get(R.dBytes, C_DBYTES, r);
        const sIpB = R.get(R.sIpBytes, C_SIPB, r), dIpB = R.get(R.dIpBytes, C_DIPB, r);
        // The session key of the row (after any flip): src endpoint, or the ICMP pair.
        let table: KeyEntries, skey: number;
        if (flags & F_ICMP) {
          table = icmpKeys;
          skey = icmpKeys.findOrAdd(R.sIp[r] | 0, R.dIp[r] | 0);
        } else {
          table = keys;
          skey = (flags & F_FLIPPED) === 0 ? groupKey : keys.findOrAdd(R.sIp[r] | 0, R.sPort[r]);
        }
        let pos = table.session[skey] - 1;
        if (flags & F_FLIPPED) {
          // Rule 1: "a new session is created under the flipped key, replacing any session with
          // that key; it becomes current" (the row was flipped in add(); the replaced session's
          // place in the output order is kept).
          if (pos < 0) {
            pos = count++;
            table.session[skey] = pos + 1;
          }
          holder[pos] = r;
          this.#initSession(r, ts);
          cur = r;
        } else if (pos < 0) {
          // Rule 2: "if no session has the row's key, one is created (source = the row's orig
          // side, destination = its resp side, first time = ts) and becomes current".
          pos = count++;
          table.session[skey] = pos + 1;
          holder[pos] = r;
          this.#initSession(r, ts);
          cur = r;
        } else if (cur < 0) {
          // Rule 2 deviation: "when the group has no current session yet, because another group
          // made that key, the existing session becomes current". Otherwise the current stays.
          cur = holder[pos];
        }
        // Rule 3: "the current session adds orig_pkts to its source packets and resp_pkts to its
        // destination packets; its last time becomes max(last, ts + duration), or max(last, ts)
        // when duration is `-` (the last time never moves back)".
        R.put(R.sPkts, C_SPKTS, cur, R.get(R.sPkts, C_SPKTS, cur) + sPkts);
        R.put(R.dPkts, C_DPKTS, cur, R.get(R.dPkts, C_DPKTS, cur) + dPkts);
        const rowEnd = end === end ? end : ts;
        if (rowEnd > R.end[cur]) R.end[cur] = rowEnd;
        // Rule 4: bytes.
        if ((flags & F_SERVICE) === 0) {
          // "when service is `-`: if history is exactly `S`, NS-src = NS-dst = 0; else if NS-src
          // or NS-dst is 0: NS-src = orig_bytes if history contains `d` or `t`, else 0; NS-dst =
          // resp_bytes if history contains `D` or `t`, else 0 (a `-` count reads as 0 for src and
          // leaves NS-dst as it was); else NS-src = max(NS-src, orig_ip_bytes), NS-dst likewise"
          if (flags & F_EXACT_S) {
            nsSrc = 0;
            nsDst = 0;
          } else if (nsSrc === 0 || nsDst === 0) {
            nsSrc = flags & F_NS_SRC ? sBytes : 0; // an unset count was stored as 0
            if (flags & F_NS_DST) {
              if (flags & F_DBYTES) nsDst = dBytes;
            } else nsDst = 0;
          } else {
            if (sIpB > nsSrc) nsSrc = sIpB;
            if (dIpB > nsDst) nsDst = dIpB;
          }
        } else if (svSrc === 0 || svDst === 0) {
          // "When service is named: if SV-src or SV-dst is 0, SV-src = orig_bytes, SV-dst =
          // resp_bytes; else each becomes the max with the row's value (a `-` leaves the counter
          // as it was)"
          if (flags & F_SBYTES) svSrc = sBytes;
          if (flags & F_DBYTES) svDst = dBytes;
        } else {
          if (flags & F_SBYTES && sBytes > svSrc) svSrc = sBytes;
          if (flags & F_DBYTES && dBytes > svDst) svDst = dBytes;
        }
      }
      // "After the group: the current session's source bytes = max(its bytes, NS-src, SV-src),
      // destination likewise" (its duration, last - first, is taken when it is written).
      if (cur >= 0) {
        const sb = Math.max(R.get(R.sBytes, C_SBYTES, cur), nsSrc, svSrc);
        const db = Math.max(R.get(R.dBytes, C_DBYTES, cur), nsDst, svDst);
        R.put(R.sBytes, C_SBYTES, cur, sb);
        R.put(R.dBytes, C_DBYTES, cur, db);
        R.flags[cur] |= S_FINAL;
      }
    }
    order = [];
    return new ZeekSessions(R, holder.subarray(0, count), this.startTime);
  }

  #initSession(r: number, ts: number): void {
    const R = this.rows;
    R.sPkts[r] = 0;
    R.dPkts[r] = 0;
    R.sBytes[r] = 0;
    R.dBytes[r] = 0;
    R.end[r] = ts;
    // Clear any spilled values of this row: it now holds a session.
    if (R.big.size > 0) { for (let c = 0; c < 6; c++) R.big.delete(r * 8 + c); }
  }
}
