/**
 * Packets to sessions (SECFLOW.md sections 2 and 3): harvesting, the filter, the start time and
 * the session table, fed one packet record at a time, in one read of the input.
 *
 * The platform's converter makes three passes over the kept packets (UDP, then TCP, then ICMP),
 * so a TCP packet can join a UDP session created later in the file. This engine reads once and
 * decides at the end. A TCP or UDP packet only ever changes sessions at the first packet of an
 * endpoint pair (a *candidate event*: it creates a session under the key the rules pick, unless
 * one of its endpoints already has one), and it joins the session of its source endpoint if that
 * one exists, else the one of its destination. So each directed flow keeps running counters,
 * cut into a new *segment* only when a candidate event names one of its two endpoints in between
 * (rare: typically one segment per flow). To find those without reading both endpoints' event
 * counts at every packet, an event flags the flows of its key endpoint (each endpoint keeps a list
 * of its flows, linked through their records), and a packet reads the counts only when its flow
 * is flagged; an endpoint on more than 64 flows has its flows read the counts at every packet
 * instead, so no event walks more than 64 flows. {@link FlowEngine.finish} replays the candidate
 * events in the platform's order (UDP ones, then TCP ones; arrival order live), which tells for
 * every endpoint whether and at which of its events it got a session, and then adds each segment
 * to the session its packets belonged to. State is per flow, never per packet; ICMP is exact as it
 * comes. Filter rule 4 (known only at the end) drops or keeps whole flows, so it is decided there
 * too.
 * @module
 */
import { Decoded, PacketDecoder } from "./decode.ts";
import { DnsHarvest } from "./dns.ts";
import { microsToSeconds } from "./format.ts";
import { isFilterLocal, isLocal, isRfc1918 } from "./net.ts";
import type { PacketSink } from "./capture_reader.ts";
import { PairMap } from "./_pair_map.ts";
import {
  FlowTable,
  FT_BYTES,
  FT_DST_ENDPOINT,
  FT_DST_EVENTS,
  FT_LAST,
  FT_NEXT_OF_DST,
  FT_NEXT_OF_SRC,
  FT_PKTS,
  FT_SRC_ENDPOINT,
  FT_SRC_EVENTS,
  FT_TAG,
  SLOT_I32,
} from "./_flow_table.ts";
import type { SessionRecord } from "./session.ts";
import { Fate, FATE_COUNT, FIRST_FINISHED_FATE, localFate, notIPv4Fate } from "./packet_counts.ts";

/** Options of {@link FlowEngine}. */
export interface FlowEngineOptions {
  /**
   * Live-collector rules (section 6): packets in arrival order with no protocol passes, no
   * local-lookup rule, and the start time is the first packet whose IPv4 part exceeds 20 bytes.
   */
  arrivalOrder?: boolean;
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
  /** Where the packets went, in detail: indexed by {@link Fate} (see packet_counts.ts). */
  fates: Float64Array;
  /** Link types met that the decoder cannot read, with packet counts. */
  unknownLinkTypes: Map<number, number>;
}

const BLOCKED_PORTS = new Uint8Array(65536);
for (const port of [67, 68, 137, 139, 389, 445, 636, 1900, 5353, 5355]) BLOCKED_PORTS[port] = 1;

/** Platform pass order of the protocols. */
const PHASE_UDP = 0;
const PHASE_TCP = 1;

type Column = Int32Array | Float64Array | Uint8Array;

/**
 * Growable typed-array columns: `ensure(n)` makes room for row `n`. A column may hold several
 * values per row (its length a multiple of the capacity).
 */
class Columns {
  capacity: number;
  constructor(capacity: number) {
    this.capacity = capacity;
  }
  /**
   * Doubles the capacity of every column of `this` until row `n` fits. Callers test
   * `n >= capacity` first: a call made only when growing stays out of the per-packet code V8
   * optimizes (it inlines what is called often), which keeps that compilation small.
   */
  ensure(n: number): void {
    if (n < this.capacity) return;
    const before = this.capacity;
    while (this.capacity <= n) this.capacity *= 2;
    for (const key of Object.keys(this) as (keyof this)[]) {
      const old = this[key] as unknown;
      if (
        old instanceof Float64Array || old instanceof Int32Array || old instanceof Uint8Array
      ) {
        const perRow = old.length / before;
        const bigger = new (old.constructor as { new (n: number): Column })(
          this.capacity * perRow,
        );
        bigger.set(old as Float64Array);
        (this as Record<string, unknown>)[key as string] = bigger;
      }
    }
  }
}

/** Endpoints (`ip:port`), shared by TCP and UDP as the platform's string keys are. */
class Endpoints extends Columns {
  count = 0;
  ip = new Int32Array(this.capacity);
  port = new Int32Array(this.capacity);
  /** Candidate events naming this endpoint as the key so far. */
  events = new Int32Array(this.capacity);
  /** Set in the replay: the session keyed by this endpoint, or -1. */
  session = new Int32Array(this.capacity);
  /** Set in the replay: the phase and the ordinal of the event that created that session. */
  createdPhase = new Uint8Array(this.capacity);
  createdOrdinal = new Int32Array(this.capacity);
  /** The last flow created on this endpoint ({@link flowRef}; 0: none), the head of its list. */
  flows = new Int32Array(this.capacity);
  /** Flows on this endpoint, either side. */
  flowCount = new Int32Array(this.capacity);
}

/**
 * Tag bits above the flow tag (2 to 5): the flow's endpoints must be checked for new events at
 * its next packet, once ({@link TAG_DIRTY}) or at every packet ({@link TAG_ALWAYS}).
 */
const TAG_DIRTY = 1 << 8, TAG_ALWAYS = 1 << 9, TAG_FLOW = 7;
/**
 * An endpoint on more flows than this is checked at every packet of its flows instead of having
 * its flows flagged at each of its events: the walks stay bounded by this many flows per event.
 */
const HOT_ENDPOINT_FLOWS = 64;

/** A flow's reference in the endpoint lists: its number, its table, plus one (0 is none). */
function flowRef(at: number, tcp: boolean): number {
  return (at / SLOT_I32) * 2 + (tcp ? 1 : 0) + 1;
}

/**
 * Closed runs of a flow's packets (a candidate event on one of its endpoints ended them), each a
 * copy of the flow's record at that moment (the {@link FlowTable} layout). The flow's current run
 * lives in its own record.
 */
class Runs {
  count = 0;
  i32 = new Int32Array(64 * SLOT_I32);
  f64 = new Float64Array(this.i32.buffer);

  /** Appends a copy of the record at `at` in `from`. */
  add(from: Int32Array, at: number): void {
    if ((this.count + 1) * SLOT_I32 > this.i32.length) {
      const bigger = new Int32Array(this.i32.length * 2);
      bigger.set(this.i32);
      this.i32 = bigger;
      this.f64 = new Float64Array(bigger.buffer);
    }
    this.i32.set(from.subarray(at, at + SLOT_I32), this.count++ * SLOT_I32);
  }
}

/** First packets of endpoint pairs: where a session may be created. */
class Events extends Columns {
  count = 0;
  /** The first packet's source and destination endpoints and its protocol's phase. */
  src = new Int32Array(this.capacity);
  dst = new Int32Array(this.capacity);
  phase = new Uint8Array(this.capacity);
  /** The endpoint the creation rules pick as the key, and its event ordinal. */
  key = new Int32Array(this.capacity);
  ordinal = new Int32Array(this.capacity);
  time = new Float64Array(this.capacity);
}

/** A flow's tag in its table: nonzero, the phase and whether filter rule 4 applies. */
function flowTag(phase: number, conditional: boolean): number {
  return 2 + phase * 2 + (conditional ? 1 : 0);
}

/** ICMP sessions, decided as packets come (they never meet TCP or UDP keys). */
class IcmpSessions extends Columns {
  count = 0;
  src = new Float64Array(this.capacity);
  dst = new Float64Array(this.capacity);
  /** Candidate events recorded before this session was created (arrival order merging). */
  eventsBefore = new Int32Array(this.capacity);
  srcPkts = new Float64Array(this.capacity);
  dstPkts = new Float64Array(this.capacity);
  first = new Float64Array(this.capacity);
  last = new Float64Array(this.capacity);
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
 * // One Ethernet frame (link type 1): UDP 10.0.0.2:50000 -> 93.184.216.34:443.
 * const frame = Uint8Array.fromHex(
 *   "0000000000020000000000010800" + "4500001c0000000040110000" + "0a0000025db8d822" +
 *     "c35001bb00080000",
 * );
 * engine.packet(frame, 0, frame.length, frame.length, 1, 1_700_000_000_000_000); // time in µs
 * const { sessions } = engine.finish();
 * assert.equal(sessions.length, 1);
 * assert.equal(sessions[0].dstPort, 443);
 * assert.equal(sessions[0].srcPkts, 1);
 * assert.equal(sessions[0].first, 1_700_000_000); // seconds
 * assert.equal(engine.stats.kept, 1);
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
  /** Details of {@link stats}, indexed by {@link Fate} (see packet_counts.ts). */
  readonly fates: Float64Array = new Float64Array(FATE_COUNT);

  #arrival: boolean;
  #d = new PacketDecoder();
  /** Endpoint (ip, port) → endpoint id. */
  #endpointIds = new PairMap();
  #ep = new Endpoints(1024);
  /** Directed flows keyed (src, dst, sp << 16 | dp), one table per protocol. */
  #udpFlows = new FlowTable(1 << 15);
  #tcpFlows = new FlowTable(1 << 15);
  #runs = new Runs();
  #events = new Events(1024);
  /** ICMP sessions by (source, destination) address pair. */
  #icmpPairs = new PairMap(1 << 8);
  #icmp = new IcmpSessions(64);
  #start = Infinity;
  #condStart = Infinity;
  /** Arrival order only: TCP and UDP sessions created so far (marked in the endpoints' table). */
  #liveSessions = 0;
  /**
   * The current packet's time. Kept in a field, not passed as an argument, so the per-packet
   * helpers receive no doubles: a double argument to a call V8 does not inline is a heap
   * allocation per packet. The addresses are likewise read from the decoder's fields.
   */
  #now = 0;

  constructor(options: FlowEngineOptions = {}) {
    this.#arrival = options.arrivalOrder ?? false;
  }

  /**
   * Sessions so far (a live window's progress): exact in arrival order; for files, whose
   * protocol order is settled only at the end, the endpoint pairs that may still create one.
   */
  get sessionCount(): number {
    return (this.#arrival ? this.#liveSessions : this.#events.count) + this.#icmp.count;
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
    this.stats.packets++;
    if (status !== Decoded.IPv4) {
      this.#notIPv4(status, linkType, b, off, caplen);
      return;
    }
    const proto = d.protocol;
    const hasPorts = d.hasPorts;
    const sp = d.srcPort;
    const dp = d.dstPort;
    const port53 = hasPorts && (sp === 53 || dp === 53);
    // Step A: names from every DNS response, before any filtering.
    if (port53) this.#harvest(b, off, caplen);
    // Step B: the filter.
    if (hasPorts && (BLOCKED_PORTS[sp] === 1 || BLOCKED_PORTS[dp] === 1)) {
      this.#filtered(Fate.BlockedPort);
      return;
    }
    const src = d.src;
    const dst = d.dst;
    if (!port53 && isFilterLocal(src) && isFilterLocal(dst)) {
      this.#filtered(Fate.LanInternal);
      return;
    }
    this.stats.kept++;
    // Rule 4 depends on the whole input: such packets are decided at the end.
    const conditional = !this.#arrival && port53 && isRfc1918(src) && isRfc1918(dst);
    const bigEnough = d.ipCaptured > 20;
    // Step C: the start time.
    const t = this.#now;
    if (this.#arrival) {
      // The first qualifying packet's time, or an earlier one's that follows it (a clock stepped
      // back): a session starting before trafficDate would get a negative relativeStart, which
      // no sample may hold. In order, the first is the earliest, as section 6 says.
      if (bigEnough && t < this.#start) this.#start = t;
    } else if (proto === 6 || proto === 17 || proto === 1) {
      if (conditional) {
        if (t < this.#condStart) this.#condStart = t;
      } else if (t < this.#start) this.#start = t;
    }
    if (bigEnough && hasPorts) {
      // TCP or UDP: count into the flow's current segment.
      const table = proto === 6 ? this.#tcpFlows : this.#udpFlows;
      const at = table.find(src | 0, dst | 0, (sp << 16) | dp);
      this.#count(table, at >= 0 ? at : this.#newFlow(table, conditional));
    } else if (bigEnough && proto === 1) {
      this.#icmpPacket();
    } else {
      // Addresses of packets that reach a flow are recorded once per flow.
      this.#markActive(src);
      this.#markActive(dst);
      this.#keptWithoutFlow(bigEnough);
    }
  }

  // The counters below are out of line, so the per-packet code above stays as small as it was
  // (V8 inlines it into the reader's loop) and receives no doubles (the addresses are read from
  // the decoder's fields).

  /** Counts a packet the filter dropped: `fate` is BlockedPort or LanInternal (refined here). */
  #filtered(fate: Fate): void {
    this.stats.filtered++;
    this.fates[fate === Fate.LanInternal ? localFate(this.#d.src, this.#d.dst) : fate]++;
  }

  /** Counts a kept packet that reaches no flow (no ports, or too small): why. */
  #keptWithoutFlow(bigEnough: boolean): void {
    const proto = this.#d.protocol;
    this.fates[
      !bigEnough ? Fate.Small : proto === 6 || proto === 17 ? Fate.Fragment : Fate.OtherProtocol
    ]++;
  }

  #notIPv4(status: Decoded, linkType: number, b: Uint8Array, off: number, caplen: number): void {
    if (status === Decoded.NotIPv4) {
      this.stats.notIPv4++;
      this.fates[notIPv4Fate(b, off, caplen, linkType)]++;
    } else if (status === Decoded.Truncated) this.stats.truncated++;
    else {
      this.stats.unknownLink++;
      this.unknownLinkTypes.set(linkType, (this.unknownLinkTypes.get(linkType) ?? 0) + 1);
    }
  }

  #harvest(b: Uint8Array, off: number, caplen: number): void {
    const d = this.#d;
    const ipEnd = d.ipOffset + Math.max(d.ipTotalLength, 0);
    const end = d.ipTotalLength >= 20 ? Math.min(off + caplen, ipEnd) : off + caplen;
    if (d.payloadOffset < end) {
      this.harvest.harvest(b, d.payloadOffset, end, microsToSeconds(this.#now), d.protocol === 6);
    }
  }

  /**
   * Adds the current packet to the flow in slot `at` of `table`, first closing its current
   * segment when an event moved its endpoints' counts.
   */
  #count(table: FlowTable, at: number): void {
    const i32 = table.i32;
    const f64 = table.f64;
    // Only a flow flagged since its last packet (an event named one of its endpoints) or on a
    // busy endpoint reads its endpoints' event counts: two reads fewer per packet otherwise.
    const tag = i32[at + FT_TAG];
    if (tag > TAG_FLOW) {
      const events = this.#ep.events;
      const xe = events[i32[at + FT_SRC_ENDPOINT]];
      const ye = events[i32[at + FT_DST_ENDPOINT]];
      if (i32[at + FT_SRC_EVENTS] !== xe || i32[at + FT_DST_EVENTS] !== ye) {
        this.#split(table, at, xe, ye);
      }
      i32[at + FT_TAG] = tag & ~TAG_DIRTY;
    }
    const d = at >> 1;
    f64[d + FT_PKTS]++;
    f64[d + FT_BYTES] += this.#d.payloadBytes;
    const t = this.#now;
    if (t > f64[d + FT_LAST]) f64[d + FT_LAST] = t;
  }

  /** Closes the current segment of the flow in slot `at` (if it has packets), starts another. */
  #split(table: FlowTable, at: number, srcEvents: number, dstEvents: number): void {
    const i32 = table.i32;
    const f64 = table.f64;
    const d = at >> 1;
    if (f64[d + FT_PKTS] > 0) {
      this.#runs.add(i32, at);
    }
    i32[at + FT_SRC_EVENTS] = srcEvents;
    i32[at + FT_DST_EVENTS] = dstEvents;
    f64[d + FT_PKTS] = 0;
    f64[d + FT_BYTES] = 0;
    f64[d + FT_LAST] = -Infinity;
  }

  #endpoint(ip: number, port: number): number {
    const id = this.#endpointIds.get(ip, port);
    if (id >= 0) return id;
    const ep = this.#ep;
    const n = ep.count++;
    if (n >= ep.capacity) ep.ensure(n);
    ep.ip[n] = ip;
    ep.port[n] = port;
    ep.session[n] = -1;
    this.#endpointIds.set(ip, port, n);
    return n;
  }

  /**
   * The first packet of a directed flow (the decoder holds it): a slot in `table`, and a
   * candidate event when it is also the first packet of its endpoint pair. Returns the slot.
   */
  #newFlow(table: FlowTable, conditional: boolean): number {
    const d = this.#d;
    const src = d.src, dst = d.dst, sp = d.srcPort, dp = d.dstPort;
    const s32 = src | 0, d32 = dst | 0;
    const phase = table === this.#tcpFlows ? PHASE_TCP : PHASE_UDP;
    const ep = this.#ep;
    // A pair creates a session only at its first packet. When the reverse flow exists, this is
    // not the first, and its record already names both endpoints (and marked the addresses).
    const reverse = table.find(d32, s32, (dp << 16) | sp);
    let x: number, y: number;
    if (reverse >= 0) {
      x = table.i32[reverse + FT_DST_ENDPOINT];
      y = table.i32[reverse + FT_SRC_ENDPOINT];
    } else {
      x = this.#endpoint(s32, sp);
      y = this.#endpoint(d32, dp);
      this.#markActive(src);
      this.#markActive(dst);
      const sLocal = isLocal(src);
      const dLocal = isLocal(dst);
      if (!(sLocal && dLocal)) {
        let sourceIsS: boolean;
        if (sLocal) {
          if (sp > 49151) sourceIsS = true;
          else if (dp > 49151) sourceIsS = false;
          else if (dp < 1024) sourceIsS = true;
          else sourceIsS = !(dp > sp);
        } else {
          sourceIsS = !(dp > sp);
        }
        const key = sourceIsS ? x : y;
        const events = this.#events;
        const e = events.count++;
        if (e >= events.capacity) events.ensure(e);
        events.src[e] = x;
        events.dst[e] = y;
        events.phase[e] = phase;
        events.key[e] = key;
        events.ordinal[e] = ep.events[key]++;
        this.#flagFlows(key, TAG_DIRTY);
        events.time[e] = this.#now;
        // In arrival order the platform's order is this one: count the session now (finish
        // replays the events from scratch all the same).
        if (this.#arrival && ep.session[x] < 0 && ep.session[y] < 0) {
          ep.session[key] = this.#liveSessions++;
        }
      }
    }
    const at = table.insert(s32, d32, (sp << 16) | dp, flowTag(phase, conditional));
    const i32 = table.i32;
    i32[at + FT_SRC_ENDPOINT] = x;
    i32[at + FT_DST_ENDPOINT] = y;
    // The first segment: the event counts are read after this packet's own event.
    i32[at + FT_SRC_EVENTS] = ep.events[x];
    i32[at + FT_DST_EVENTS] = ep.events[y];
    table.f64[(at >> 1) + FT_LAST] = -Infinity;
    // Into both endpoints' lists (once when both sides are one endpoint).
    const ref = flowRef(at, phase === PHASE_TCP);
    i32[at + FT_NEXT_OF_SRC] = ep.flows[x];
    ep.flows[x] = ref;
    ep.flowCount[x]++;
    if (y !== x) {
      i32[at + FT_NEXT_OF_DST] = ep.flows[y];
      ep.flows[y] = ref;
      ep.flowCount[y]++;
    }
    if (ep.flowCount[x] === HOT_ENDPOINT_FLOWS + 1) this.#flagFlows(x, TAG_ALWAYS);
    if (ep.flowCount[y] === HOT_ENDPOINT_FLOWS + 1) this.#flagFlows(y, TAG_ALWAYS);
    if (ep.flowCount[x] > HOT_ENDPOINT_FLOWS || ep.flowCount[y] > HOT_ENDPOINT_FLOWS) {
      i32[at + FT_TAG] |= TAG_ALWAYS;
    }
    return at;
  }

  /**
   * Sets `bit` in the tag of every flow on endpoint `k`. {@link TAG_DIRTY} is skipped on a busy
   * endpoint, whose flows carry {@link TAG_ALWAYS} (set once, when it became busy).
   */
  #flagFlows(k: number, bit: number): void {
    const ep = this.#ep;
    if (bit === TAG_DIRTY && ep.flowCount[k] > HOT_ENDPOINT_FLOWS) return;
    for (let ref = ep.flows[k]; ref !== 0;) {
      const r = ref - 1;
      const i32 = (r & 1) === 1 ? this.#tcpFlows.i32 : this.#udpFlows.i32;
      const at = (r >> 1) * SLOT_I32;
      i32[at + FT_TAG] |= bit;
      ref = i32[at + FT_SRC_ENDPOINT] === k ? i32[at + FT_NEXT_OF_SRC] : i32[at + FT_NEXT_OF_DST];
    }
  }

  /** Records `ip` as an active address when it is external. */
  #markActive(ip: number): void {
    if (!isLocal(ip)) this.#active.set(ip | 0, 0, 1);
  }

  #icmpPacket(): void {
    const src = this.#d.src, dst = this.#d.dst;
    const t = this.#now;
    const pairs = this.#icmpPairs;
    const table = this.#icmp;
    let i = pairs.get(src | 0, dst | 0);
    let fromSource = true;
    if (i < 0) {
      i = pairs.get(dst | 0, src | 0);
      fromSource = false;
    }
    if (i < 0) {
      const sourceIsS = isLocal(src) || !isLocal(dst);
      i = table.count++;
      if (i >= table.capacity) table.ensure(i);
      table.src[i] = sourceIsS ? src : dst;
      table.dst[i] = sourceIsS ? dst : src;
      table.eventsBefore[i] = this.#events.count;
      table.first[i] = t;
      table.last[i] = t;
      pairs.set(table.src[i] | 0, table.dst[i] | 0, i);
      fromSource = sourceIsS;
      this.#markActive(src);
      this.#markActive(dst);
    }
    if (fromSource) table.srcPkts[i]++;
    else table.dstPkts[i]++;
    if (t > table.last[i]) table.last[i] = t;
  }

  /** External addresses of the kept packets so far. */
  activeAddresses(): Set<number> {
    const out = new Set<number>();
    this.#active.forEach((ip) => out.add(ip >>> 0));
    return out;
  }

  /** Statistics of the deferred state, for benchmarks and tests. */
  get deferred(): { endpoints: number; flows: number; segments: number; events: number } {
    return {
      endpoints: this.#ep.count,
      flows: this.#udpFlows.size + this.#tcpFlows.size,
      segments: this.#runs.count,
      events: this.#events.count,
    };
  }

  /** Replays the candidate events, places every segment, and returns the sessions in order. */
  finish(): Analysis {
    const arrival = this.#arrival;
    const foldConditional = arrival || !this.harvest.localLookups;
    let start = this.#start;
    if (foldConditional && this.#condStart < start) start = this.#condStart;
    const ep = this.#ep, events = this.#events;
    ep.session.fill(-1, 0, ep.count);
    const fates = this.fates;
    fates.fill(0, FIRST_FINISHED_FATE);

    // 1. Candidate events in the platform's order decide which endpoints key a session.
    const createdAt = new Int32Array(events.count); // the event that created each session
    let count = 0;
    if (arrival) count = replayEvents(events, ep, -1, createdAt, count);
    else {
      count = replayEvents(events, ep, PHASE_UDP, createdAt, count);
      count = replayEvents(events, ep, PHASE_TCP, createdAt, count);
    }

    // 2. Each run of a flow's packets (closed runs, then the flows' current ones) joins its source
    // endpoint's session if that existed during the run, else its destination's (or, both local,
    // none). Per session: [srcPkts, dstPkts, srcBytes, dstBytes, last].
    const acc = sessionSums(events, createdAt, count);
    const runs = this.#runs, udp = this.#udpFlows, tcp = this.#tcpFlows;
    placeRuns(runs.i32, runs.f64, runs.count, ep, acc, arrival, foldConditional, fates);
    placeRuns(udp.i32, udp.f64, udp.size, ep, acc, arrival, foldConditional, fates);
    placeRuns(tcp.i32, tcp.f64, tcp.size, ep, acc, arrival, foldConditional, fates);
    const sessions = sessionRecords(events, ep, createdAt, count, acc);

    // 3. ICMP sessions: after the others for files, by creation time live.
    const icmp = this.#icmp;
    const icmpSessions: SessionRecord[] = [];
    for (let i = 0; i < icmp.count; i++) {
      icmpSessions.push({
        icmp: true,
        srcIp: icmp.src[i],
        srcPort: 0,
        dstIp: icmp.dst[i],
        dstPort: 0,
        srcPkts: icmp.srcPkts[i],
        dstPkts: icmp.dstPkts[i],
        srcBytes: 0,
        dstBytes: 0,
        first: microsToSeconds(icmp.first[i]),
        last: microsToSeconds(icmp.last[i]),
      });
    }
    let ordered: SessionRecord[];
    if (!arrival || icmpSessions.length === 0) ordered = sessions.concat(icmpSessions);
    else {
      // An ICMP session created after k candidate events comes before the k-th event's session.
      ordered = [];
      let j = 0;
      for (let i = 0; i < sessions.length; i++) {
        while (j < icmpSessions.length && icmp.eventsBefore[j] <= createdAt[i]) {
          ordered.push(icmpSessions[j++]);
        }
        ordered.push(sessions[i]);
      }
      while (j < icmpSessions.length) ordered.push(icmpSessions[j++]);
    }
    return {
      sessions: ordered,
      startTime: start === Infinity ? undefined : microsToSeconds(start),
      active: this.activeAddresses(),
      harvest: this.harvest,
      stats: this.stats,
      fates,
      unknownLinkTypes: this.unknownLinkTypes,
    };
  }
}

// finish()'s loops, each in a function of its own: a loop that runs long enough gets compiled
// while it runs (on-stack replacement), and that compilation covers the whole function the loop
// is in. Alone, each loop is a small job for the compiler; all in finish(), one large one (the
// largest optimizing compilation of a conversion, measured with --trace-opt).

/**
 * Replays the candidate events of `phase` (-1: all, in arrival order): an event whose endpoints
 * have no session yet creates one keyed by its key endpoint. Returns the session count.
 */
function replayEvents(
  events: Events,
  ep: Endpoints,
  phase: number,
  createdAt: Int32Array,
  count: number,
): number {
  for (let e = 0; e < events.count; e++) {
    if (phase >= 0 && events.phase[e] !== phase) continue;
    const x = events.src[e], y = events.dst[e];
    if (ep.session[x] >= 0 || ep.session[y] >= 0) continue;
    const key = events.key[e];
    ep.session[key] = count;
    ep.createdPhase[key] = events.phase[e];
    ep.createdOrdinal[key] = events.ordinal[e];
    createdAt[count++] = e;
  }
  return count;
}

/** Per session `[srcPkts, dstPkts, srcBytes, dstBytes, last]`, `last` its first packet's time. */
function sessionSums(events: Events, createdAt: Int32Array, count: number): Float64Array {
  const acc = new Float64Array(count * 5);
  for (let i = 0; i < count; i++) acc[i * 5 + 4] = events.time[createdAt[i]];
  return acc;
}

/** Adds the `n` runs of `i32`/`f64` (the {@link FlowTable} layout) into their sessions' `acc`. */
function placeRuns(
  i32: Int32Array,
  f64: Float64Array,
  n: number,
  ep: Endpoints,
  acc: Float64Array,
  arrival: boolean,
  foldConditional: boolean,
  fates: Float64Array,
): void {
  const { session: keyed, createdPhase, createdOrdinal } = ep;
  for (let at = 0; at < n * SLOT_I32; at += SLOT_I32) {
    const d = at >> 1;
    const pkts = f64[d + FT_PKTS];
    const tag = i32[at + FT_TAG] & TAG_FLOW;
    if (pkts === 0) continue;
    if ((tag & 1) === 1 && !foldConditional) {
      fates[Fate.DnsRule4] += pkts;
      continue;
    }
    const phase = (tag >> 1) - 1;
    // An endpoint keyed a session during the run when its session was created before it:
    // in an earlier phase, or in this one at an event the run had seen.
    const x = i32[at + FT_SRC_ENDPOINT];
    let into = keyed[x];
    let side = 0; // 0: source side, 1: destination side
    if (
      into >= 0 &&
      !(arrival || createdPhase[x] === phase
        ? createdOrdinal[x] < i32[at + FT_SRC_EVENTS]
        : createdPhase[x] < phase)
    ) into = -1;
    if (into < 0) {
      const y = i32[at + FT_DST_ENDPOINT];
      into = keyed[y];
      side = 1;
      if (
        into < 0 ||
        !(arrival || createdPhase[y] === phase
          ? createdOrdinal[y] < i32[at + FT_DST_EVENTS]
          : createdPhase[y] < phase)
      ) {
        // In no session: say why (both ends local make none; see packet_counts.ts).
        const local = isLocal(ep.ip[x] >>> 0) && isLocal(ep.ip[y] >>> 0);
        fates[local ? Fate.LocalOnly : Fate.Unplaced] += pkts;
        continue;
      }
    }
    const o = into * 5;
    acc[o + side] += pkts;
    acc[o + 2 + side] += f64[d + FT_BYTES];
    if (f64[d + FT_LAST] > acc[o + 4]) acc[o + 4] = f64[d + FT_LAST];
  }
}

/** The TCP and UDP sessions, in creation order, from the replay and the placed runs. */
function sessionRecords(
  events: Events,
  ep: Endpoints,
  createdAt: Int32Array,
  count: number,
  acc: Float64Array,
): SessionRecord[] {
  const sessions: SessionRecord[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const e = createdAt[i];
    const key = events.key[e];
    const other = key === events.src[e] ? events.dst[e] : events.src[e];
    const o = i * 5;
    sessions[i] = {
      icmp: false,
      srcIp: ep.ip[key] >>> 0,
      srcPort: ep.port[key],
      dstIp: ep.ip[other] >>> 0,
      dstPort: ep.port[other],
      srcPkts: acc[o],
      dstPkts: acc[o + 1],
      srcBytes: acc[o + 2],
      dstBytes: acc[o + 3],
      first: microsToSeconds(events.time[e]),
      last: microsToSeconds(acc[o + 4]),
    };
  }
  return sessions;
}
