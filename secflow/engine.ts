/**
 * Packets to sessions (SECFLOW.md sections 2 and 3): harvesting, the filter, the start time and
 * the session table, fed one packet record at a time.
 *
 * The platform's converter makes three passes over the kept packets (UDP, then TCP, then ICMP),
 * so a TCP packet can join a UDP session created later in the file. This engine does it in one
 * pass: UDP and ICMP are exact as they come (neither depends on the other protocols), and TCP is
 * processed speculatively against the UDP sessions seen so far. The speculation is wrong only if a
 * UDP session is later created under an endpoint a TCP lookup missed; the engine notices that
 * ({@link FlowEngine.needsTcpReplay}) and the driver then reads the input again in two exact
 * passes. Packets that filter rule 4 would drop once a local lookup turns up are kept in a side
 * ledger per session and folded in or dropped at the end.
 * @module
 */
import { Decoded, PacketDecoder } from "./decode.ts";
import { DnsHarvest } from "./dns.ts";
import { microsToSeconds } from "./format.ts";
import { isFilterLocal, isLocal, isRfc1918 } from "./net.ts";
import type { PacketSink } from "./capture_reader.ts";
import { PairMap } from "./_pair_map.ts";
import type { SessionRecord } from "./session.ts";

/** How TCP packets are handled in a pass. */
export type TcpMode = "speculate" | "skip" | "only";

/** Options of {@link FlowEngine}. */
export interface FlowEngineOptions {
  /**
   * Live-collector rules (section 6): packets in arrival order with no protocol passes, no
   * local-lookup rule, and the start time is the first packet whose IPv4 part exceeds 20 bytes.
   */
  arrivalOrder?: boolean;
  /** TCP handling for file passes (default "speculate"). */
  tcp?: TcpMode;
}

/** Counters of what the engine saw. */
export interface EngineStats {
  /** Packets read. */
  packets: number;
  /** Packets that were not IPv4 (not converted). */
  notIPv4: number;
  /** Packets too short to hold the fields that are read. */
  truncated: number;
  /** Packets of a link type the engine does not decode. */
  unknownLink: number;
  /** Packets dropped by the section 2 filter. */
  filtered: number;
  /** Packets kept. */
  kept: number;
}

/** What the engine hands to naming. */
export interface Analysis {
  /** Sessions in creation order (UDP, then TCP, then ICMP for files). */
  sessions: SessionRecord[];
  /** The sample's start time in seconds, or undefined when no packet qualified. */
  startTime: number | undefined;
  /** External addresses of kept packets. */
  active: Set<number>;
  harvest: DnsHarvest;
  stats: EngineStats;
  /** Link types met that the decoder cannot read, with packet counts. */
  unknownLinkTypes: Map<number, number>;
}

const BLOCKED_PORTS = new Uint8Array(65536);
for (const port of [67, 68, 137, 139, 389, 445, 636, 1900, 5353, 5355]) BLOCKED_PORTS[port] = 1;

const PHASE_UDP = 0;
const PHASE_TCP = 1;
const PHASE_ICMP = 2;

/**
 * Session table over numeric endpoint keys (`ip * 65536 + port`, exact in a double), fields in
 * growable typed arrays.
 */
class SessionTable {
  count = 0;
  capacity = 1024;
  srcIp = new Float64Array(this.capacity);
  dstIp = new Float64Array(this.capacity);
  srcPort = new Uint16Array(this.capacity);
  dstPort = new Uint16Array(this.capacity);
  phase = new Uint8Array(this.capacity);
  /** Set once a speculative TCP lookup missed this session's destination endpoint. */
  dstMissed = new Uint8Array(this.capacity);
  srcPkts = new Float64Array(this.capacity);
  dstPkts = new Float64Array(this.capacity);
  srcBytes = new Float64Array(this.capacity);
  dstBytes = new Float64Array(this.capacity);
  first = new Float64Array(this.capacity);
  last = new Float64Array(this.capacity);
  /** Side ledger: packets that filter rule 4 drops when local lookups exist. */
  condSrcPkts = new Float64Array(this.capacity);
  condDstPkts = new Float64Array(this.capacity);
  condSrcBytes = new Float64Array(this.capacity);
  condDstBytes = new Float64Array(this.capacity);
  condLast = new Float64Array(this.capacity);

  add(phase: number, srcIp: number, srcPort: number, dstIp: number, dstPort: number, t: number) {
    if (this.count === this.capacity) this.#grow();
    const i = this.count++;
    this.phase[i] = phase;
    this.srcIp[i] = srcIp;
    this.srcPort[i] = srcPort;
    this.dstIp[i] = dstIp;
    this.dstPort[i] = dstPort;
    this.first[i] = t;
    this.last[i] = t;
    this.condLast[i] = -Infinity;
    return i;
  }

  #grow(): void {
    this.capacity *= 2;
    for (const key of Object.keys(this) as (keyof this)[]) {
      const old = this[key];
      if (old instanceof Float64Array || old instanceof Uint16Array || old instanceof Uint8Array) {
        const bigger = new (old.constructor as Float64ArrayConstructor)(this.capacity);
        bigger.set(old);
        (this as Record<string, unknown>)[key as string] = bigger;
      }
    }
  }
}

/**
 * The packet-to-session engine. Feed it packet records (it is a {@link PacketSink}), then call
 * {@link finish}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FlowEngine } from "./engine.ts";
 * const engine = new FlowEngine();
 * // engine.packet(frame, 0, frame.length, frame.length, 1, micros) for each frame...
 * const analysis = engine.finish();
 * assert.equal(analysis.sessions.length, 0);
 * ```
 */
export class FlowEngine implements PacketSink {
  readonly stats: EngineStats = {
    packets: 0,
    notIPv4: 0,
    truncated: 0,
    unknownLink: 0,
    filtered: 0,
    kept: 0,
  };
  readonly harvest: DnsHarvest = new DnsHarvest();
  /** External addresses of kept packets (int32 keys). */
  #active = new PairMap();
  readonly unknownLinkTypes: Map<number, number> = new Map();

  #arrival: boolean;
  #tcp: TcpMode;
  #d = new PacketDecoder();
  #table = new SessionTable();
  /** Endpoint (ip, port) → session index, shared by TCP and UDP as in the platform's table. */
  #byEndpoint = new PairMap();
  /** ICMP sessions by (source, destination) address pair. */
  #icmp = new PairMap(1 << 8);
  /** Endpoints a speculative TCP lookup asked for and did not find. */
  #tcpMissed = new PairMap();
  #speculationFailed = false;
  #start = Infinity;
  #condStart = Infinity;
  /**
   * The current packet's time. Kept in a field, not passed as an argument, so the per-packet
   * helpers receive no doubles: a double argument to a call V8 does not inline is a heap
   * allocation per packet. The addresses are likewise read from the decoder's fields.
   */
  #now = 0;

  constructor(options: FlowEngineOptions = {}) {
    this.#arrival = options.arrivalOrder ?? false;
    this.#tcp = this.#arrival ? "speculate" : options.tcp ?? "speculate";
  }

  /** True when a UDP session appeared under an endpoint a TCP packet had looked up and missed. */
  get needsTcpReplay(): boolean {
    return this.#speculationFailed && !this.#arrival;
  }

  /** Switches to the second of two exact passes: from now on only TCP packets are handled. */
  beginTcpPass(): void {
    this.#tcp = "only";
  }

  packet(
    b: Uint8Array,
    off: number,
    caplen: number,
    _origLen: number,
    linkType: number,
    micros: number,
  ): void {
    // Small on purpose: V8 inlines it into the reader's loop, so the time is never boxed.
    this.#now = micros;
    this.#frame(b, off, caplen, linkType);
  }

  #frame(b: Uint8Array, off: number, caplen: number, linkType: number): void {
    const d = this.#d;
    const status = d.decode(b, off, caplen, linkType);
    const tcpOnly = this.#tcp === "only";
    if (status !== Decoded.IPv4) {
      if (tcpOnly) return;
      this.stats.packets++;
      if (status === Decoded.NotIPv4) this.stats.notIPv4++;
      else if (status === Decoded.Truncated) this.stats.truncated++;
      else {
        this.stats.unknownLink++;
        this.unknownLinkTypes.set(linkType, (this.unknownLinkTypes.get(linkType) ?? 0) + 1);
      }
      return;
    }
    const proto = d.protocol;
    if (tcpOnly && proto !== 6) return;
    const src = d.src;
    const dst = d.dst;
    const hasPorts = d.hasPorts;
    const sp = d.srcPort;
    const dp = d.dstPort;
    const port53 = hasPorts && (sp === 53 || dp === 53);
    const t = this.#now;
    if (!tcpOnly) {
      this.stats.packets++;
      // Step A: names from every DNS response, before any filtering.
      if (port53) {
        const ipEnd = d.ipOffset + Math.max(d.ipTotalLength, 0);
        const end = d.ipTotalLength >= 20 ? Math.min(off + caplen, ipEnd) : off + caplen;
        if (d.payloadOffset < end) {
          this.harvest.harvest(b, d.payloadOffset, end, microsToSeconds(t), proto === 6);
        }
      }
    }
    // Step B: the filter.
    if (hasPorts && (BLOCKED_PORTS[sp] === 1 || BLOCKED_PORTS[dp] === 1)) {
      if (!tcpOnly) this.stats.filtered++;
      return;
    }
    if (!port53 && isFilterLocal(src) && isFilterLocal(dst)) {
      if (!tcpOnly) this.stats.filtered++;
      return;
    }
    // Rule 4 depends on the whole input: such packets go to the side ledger.
    const conditional = !this.#arrival && port53 && isRfc1918(src) && isRfc1918(dst);
    const bigEnough = d.ipCaptured > 20;
    const toSession = bigEnough &&
      (proto === 1 || (hasPorts && (proto === 17 || (proto === 6 && this.#tcp !== "skip"))));
    if (!tcpOnly) {
      this.stats.kept++;
      // Addresses of packets that reach a session are recorded there, once per session.
      if (!toSession) {
        this.#markActive(src);
        this.#markActive(dst);
      }
      // Step C: the start time.
      if (this.#arrival) {
        if (bigEnough && this.#start === Infinity) this.#start = t;
      } else if (proto === 6 || proto === 17 || proto === 1) {
        if (conditional) {
          if (t < this.#condStart) this.#condStart = t;
        } else if (t < this.#start) this.#start = t;
      }
    }
    if (!toSession) return;
    if (proto === 17) {
      this.#endpoints(PHASE_UDP, conditional, false, tcpOnly);
    } else if (proto === 6) {
      this.#endpoints(PHASE_TCP, conditional, !this.#arrival && this.#tcp === "speculate", tcpOnly);
    } else if (!tcpOnly) {
      this.#icmpPacket();
    }
  }

  /** Records `ip` as an active address when it is external. */
  #markActive(ip: number): void {
    if (!isLocal(ip)) this.#active.set(ip | 0, 0, 1);
  }

  /** A TCP or UDP packet (the decoder holds it) into the endpoint table. */
  #endpoints(phase: number, conditional: boolean, speculative: boolean, tcpOnly: boolean): void {
    const d = this.#d;
    const src = d.src, dst = d.dst, sp = d.srcPort, dp = d.dstPort;
    const t = this.#now;
    const table = this.#table;
    const endpoints = this.#byEndpoint;
    const s32 = src | 0, d32 = dst | 0;
    let i = endpoints.get(s32, sp);
    let fromSource = true;
    if (i < 0) {
      i = endpoints.get(d32, dp);
      fromSource = false;
      if (i >= 0) {
        if (speculative) {
          // The missed endpoint is nearly always the session's destination: note that once.
          if (table.dstIp[i] === src && table.dstPort[i] === sp) {
            if (table.dstMissed[i] === 0) {
              table.dstMissed[i] = 1;
              this.#tcpMissed.set(s32, sp, 1);
            }
          } else this.#tcpMissed.set(s32, sp, 1);
        }
        if (!tcpOnly && table.dstIp[i] !== src) this.#markActive(src);
      } else {
        if (speculative) {
          this.#tcpMissed.set(s32, sp, 1);
          this.#tcpMissed.set(d32, dp, 1);
        }
        if (conditional) return; // both RFC 1918: never creates a session
        const sLocal = isLocal(src);
        const dLocal = isLocal(dst);
        let sourceIsS: boolean;
        if (sLocal) {
          if (dLocal) return;
          if (sp > 49151) sourceIsS = true;
          else if (dp > 49151) sourceIsS = false;
          else if (dp < 1024) sourceIsS = true;
          else sourceIsS = !(dp > sp);
        } else {
          sourceIsS = !(dp > sp);
        }
        const [keyIp, keyPort] = sourceIsS ? [s32, sp] : [d32, dp];
        if (phase === PHASE_UDP && this.#tcpMissed.get(keyIp, keyPort) >= 0) {
          this.#speculationFailed = true;
        }
        i = sourceIsS
          ? table.add(phase, src, sp, dst, dp, t)
          : table.add(phase, dst, dp, src, sp, t);
        endpoints.set(keyIp, keyPort, i);
        fromSource = sourceIsS;
        if (!tcpOnly) {
          this.#markActive(src);
          this.#markActive(dst);
        }
      }
    } else if (!tcpOnly && table.dstIp[i] !== dst) {
      this.#markActive(dst);
    }
    // In the platform's order every UDP packet comes before any TCP session exists.
    if (phase === PHASE_UDP && table.phase[i] === PHASE_TCP) this.#speculationFailed = true;
    this.#count(i, fromSource, d.payloadBytes, conditional);
  }

  /** Counts the current packet for side `fromSource` of session `i`. */
  #count(i: number, fromSource: boolean, bytes: number, conditional: boolean): void {
    const table = this.#table;
    const t = this.#now;
    if (conditional) {
      if (fromSource) {
        table.condSrcPkts[i]++;
        table.condSrcBytes[i] += bytes;
      } else {
        table.condDstPkts[i]++;
        table.condDstBytes[i] += bytes;
      }
      if (t > table.condLast[i]) table.condLast[i] = t;
      return;
    }
    if (fromSource) {
      table.srcPkts[i]++;
      table.srcBytes[i] += bytes;
    } else {
      table.dstPkts[i]++;
      table.dstBytes[i] += bytes;
    }
    if (t > table.last[i]) table.last[i] = t;
  }

  #icmpPacket(): void {
    const src = this.#d.src, dst = this.#d.dst;
    const t = this.#now;
    const pairs = this.#icmp;
    let i = pairs.get(src | 0, dst | 0);
    let fromSource = true;
    if (i < 0) {
      i = pairs.get(dst | 0, src | 0);
      fromSource = false;
    }
    if (i < 0) {
      const sourceIsS = isLocal(src) || !isLocal(dst);
      const [s, x] = sourceIsS ? [src, dst] : [dst, src];
      i = this.#table.add(PHASE_ICMP, s, 0, x, 0, t);
      pairs.set(s | 0, x | 0, i);
      fromSource = sourceIsS;
      this.#markActive(src);
      this.#markActive(dst);
    }
    this.#count(i, fromSource, 0, false);
  }

  /** External addresses of the kept packets so far. */
  activeAddresses(): Set<number> {
    const out = new Set<number>();
    this.#active.forEach((ip) => out.add(ip >>> 0));
    return out;
  }

  /** Resolves the side ledger and returns the sessions in creation order. */
  finish(): Analysis {
    const table = this.#table;
    const foldLedger = this.#arrival || !this.harvest.localLookups;
    let start = this.#start;
    if (foldLedger && this.#condStart < start) start = this.#condStart;
    const order = Array.from({ length: table.count }, (_, i) => i);
    if (!this.#arrival) order.sort((x, y) => table.phase[x] - table.phase[y] || x - y);
    const sessions: SessionRecord[] = order.map((i) => {
      let last = table.last[i];
      let srcPkts = table.srcPkts[i], dstPkts = table.dstPkts[i];
      let srcBytes = table.srcBytes[i], dstBytes = table.dstBytes[i];
      if (foldLedger) {
        srcPkts += table.condSrcPkts[i];
        dstPkts += table.condDstPkts[i];
        srcBytes += table.condSrcBytes[i];
        dstBytes += table.condDstBytes[i];
        if (table.condLast[i] > last) last = table.condLast[i];
      }
      return {
        icmp: table.phase[i] === PHASE_ICMP,
        srcIp: table.srcIp[i],
        srcPort: table.srcPort[i],
        dstIp: table.dstIp[i],
        dstPort: table.dstPort[i],
        srcPkts,
        dstPkts,
        srcBytes,
        dstBytes,
        first: microsToSeconds(table.first[i]),
        last: microsToSeconds(last),
      };
    });
    return {
      sessions,
      startTime: start === Infinity ? undefined : microsToSeconds(start),
      active: this.activeAddresses(),
      harvest: this.harvest,
      stats: this.stats,
      unknownLinkTypes: this.unknownLinkTypes,
    };
  }
}
