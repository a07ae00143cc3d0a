/**
 * Packets to flows, a pipeline of its own beside the Secflow engine (which it never touches).
 *
 * Each IP level of a packet (the carrier of a tunnel, then what it carries, up to the depth limit)
 * counts for one bidirectional flow, found through a {@link KeyTable} keyed by 12 int32 words:
 * protocol and IP version, VLAN ids, tunnel context, the two endpoints in canonical order (the
 * smaller address and port first, as Community ID orders them). A flow's counters live in typed
 * columns indexed by its slot; slots of finished flows are reused. The tunnel context of an inner
 * flow is an interned number for (carrier flow, tunnel kind, VNI): both directions of a tunnel
 * share it, and the path is materialised only when the flow is emitted.
 *
 * A flow ends as Zeek's connections do: after an idle timeout (TCP 5 min, others 1 min), or when
 * a closed TCP connection (FIN both ways, or RST) sees a new SYN. IPv4 and IPv6 fragments are not
 * reassembled but counted as Zeek counts a reassembled datagram: the first fragment (which holds
 * the ports) is one packet, later fragments add their bytes to the IP bytes of the same flow and
 * direction.
 *
 * No object is made per flow, even when it is emitted: a flow that ended but must wait for the
 * end (its DNS name or verdict can still change) keeps its slot, and emitting a flow points one
 * {@link FlowRow} at its slot; the consumer reads the fields it needs (as text, or as bytes) and
 * copies the row into an object only if it keeps the flow. Then the slot is reused.
 * @module
 */
import type { PacketSink } from "../capture_reader.ts";
import { DnsHarvest } from "../dns.ts";
import { microsToSeconds } from "../format.ts";
import { isLocal } from "../net.ts";
import { grown } from "../_int_table.ts";
import { KeyTable } from "./_key_table.ts";
import {
  Columns,
  type Context,
  F_BIG,
  F_COND_DNS,
  F_ENDED,
  F_FIN_A,
  F_FIN_B,
  F_FIRST_FROM_A,
  F_HTTP_OPEN,
  F_ONE_WAY,
  F_ORIG_IS_A,
  F_RST,
  F_SYN,
  F_SYN_A,
  F_SYN_B,
  KEY_WIDTH,
  V,
} from "./_columns.ts";
import { FlowRow } from "./_flow_row.ts";
import { ICMP6_REPLY, ICMP_REPLY, SERVER_PORTS } from "./_ports.ts";
import { CONDITIONAL, sampleVerdict } from "./_verdict.ts";
import { addressText } from "./text.ts";
import { FlowDecoder, type Hop, Status, TUNNEL_NAMES } from "./decode.ts";
import { HEAD_OPEN, httpHostScan, tlsServerName } from "./names.ts";
import { QuicHello } from "./quic.ts";
import {
  DEFAULT_MAX_FLOWS,
  DEFAULT_MAX_TUNNEL_DEPTH,
  type FlowEngineOptions,
  type FlowEngineStats,
  type FlowName,
  type LeftOutReason,
  type TunnelHop,
} from "./types.ts";

const TCP_TIMEOUT = 300e6, OTHER_TIMEOUT = 60e6, DNS_TIMEOUT = 10e6, CLOSE_DELAY = 5e6;
/** Capture time between sweeps for idle flows, µs. */
const SWEEP_EVERY = 10e6;
/** Originator packets of a TCP flow searched for a ClientHello or an HTTP request. */
const NAME_BUDGET = 6;
/** Client datagrams of a UDP flow searched for a QUIC Initial's ClientHello. */
const QUIC_BUDGET = 4;
/** Fragments waiting for their datagram's later pieces, at most. */
const MAX_PENDING_FRAGMENTS = 1 << 16;
/** Tunnel contexts at most (a flood of tunnels cannot grow memory without bound). */
const MAX_CONTEXTS = 1 << 20;

export type { FlowEngineOptions, FlowEngineStats } from "./types.ts";

/**
 * The flow engine: a {@link PacketSink}. Finished flows go to `emit` (as they end when
 * streaming, else at {@link finish}, in start order) as one {@link FlowRow} pointed at each in
 * turn: read it in the call, or keep `row.toFlow()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FlowsEngine } from "./engine.ts";
 * import type { Flow } from "./types.ts";
 * const flows: Flow[] = [];
 * const engine = new FlowsEngine((row) => flows.push(row.toFlow()));
 * // Ethernet, IPv4 UDP 10.0.0.2:50000 -> 93.184.216.34:443
 * const frame = Uint8Array.fromHex(
 *   "0000000000020000000000010800" + "4500001c0000000040110000" + "0a0000025db8d822" +
 *     "c35001bb00080000",
 * );
 * engine.packet(frame, 0, frame.length, frame.length, 1, 1_700_000_000_000_000);
 * engine.finish();
 * assert.equal(flows.length, 1);
 * assert.equal(flows[0].transport, "udp");
 * assert.equal(flows[0].dstPort, 443);
 * assert.equal(flows[0].sample, "kept");
 * ```
 */
export class FlowsEngine implements PacketSink {
  readonly stats: FlowEngineStats = {
    packets: 0,
    notIp: 0,
    truncated: 0,
    unknownLink: 0,
    overflowPackets: 0,
    tooDeep: 0,
    orphanFragments: 0,
  };
  readonly harvest: DnsHarvest = new DnsHarvest();
  readonly unknownLinkTypes: Map<number, number> = new Map();
  /** Warnings raised while reading (the table filling up, ...). */
  readonly warnings: string[] = [];

  #emit: (row: FlowRow) => void;
  #maxFlows: number;
  #maxDepth: number;
  #streaming: boolean;
  #d = new FlowDecoder();
  #table = new KeyTable(KEY_WIDTH, 1 << 12);
  #c = new Columns(1024);
  #free: number[] = [];
  #used = 0;
  #live = 0;
  /**
   * The slots of live flows, `#live` of them (each one's place in `Columns.place`): what a sweep
   * visits, not every slot ever used (ended flows that wait for the end keep theirs).
   */
  #liveSlots = new Int32Array(1024);
  #serial = 0;
  #contexts = new KeyTable(3, 1 << 8);
  #paths = new KeyTable(4, 1 << 8);
  #pathList: Context[] = [{ parent: 0, hop: { kind: "gre", src: "", dst: "" } }];
  /** The current packet's hops: carrier slot (-1 for MPLS/PPPoE), kind, id. */
  #hopSlot = new Int32Array(64);
  #hopKind = new Int32Array(64);
  #hopId = new Int32Array(64);
  #hops = 0;
  /** ClientHellos being gathered from QUIC Initial packets, by flow slot (a few flows at once). */
  #quic = new Map<number, QuicHello>();
  #frags = new KeyTable(KEY_WIDTH, 1 << 8);
  #now = 0;
  #nextSweep = -Infinity;
  #linkType = 1;
  /**
   * Slots of ended flows waiting for the end (their DNS name or verdict can still change), or of
   * all of them: a held slot keeps its columns and is freed once its flow is emitted.
   */
  #held: number[] = [];
  /** The one row emitted, pointed at each flow in turn. */
  #row = new FlowRow(this.#c, (path) => this.#path(path));
  #heldWarned = false;
  #fullWarned = false;
  #ctxWarned = false;

  constructor(emit: (row: FlowRow) => void, options: FlowEngineOptions = {}) {
    this.#emit = emit;
    this.#maxFlows = Math.max(1, options.maxFlows ?? DEFAULT_MAX_FLOWS);
    this.#maxDepth = Math.max(0, options.maxTunnelDepth ?? DEFAULT_MAX_TUNNEL_DEPTH);
    this.#streaming = options.streaming ?? true;
  }

  /** Flows in the table now. */
  get liveFlows(): number {
    return this.#live;
  }

  packet(
    b: Uint8Array,
    off: number,
    caplen: number,
    _origLen: number,
    linkType: number,
    micros: number,
  ): void {
    this.#now = micros;
    this.#frame(b, off, caplen, linkType);
  }

  #frame(b: Uint8Array, off: number, caplen: number, linkType: number): void {
    this.stats.packets++;
    if (this.#now >= this.#nextSweep) this.#sweep();
    this.#linkType = linkType;
    const d = this.#d;
    let status = d.link(b, off, caplen, linkType);
    if (status !== Status.IP) {
      this.#notIp(status, linkType);
      return;
    }
    let ctx = 0;
    let depth = 0;
    this.#hops = 0;
    while (true) {
      if (d.linkHop !== 0) {
        this.#pushHop(-1, d.linkHop, d.linkHopId);
        ctx = this.#context(ctx, d.linkHop, 0);
        if (ctx < 0) return;
      }
      const slot = this.#account(b, ctx, depth);
      if (d.innerKind === 0 || slot < 0) return;
      if (depth >= this.#maxDepth) {
        this.stats.tooDeep++;
        return;
      }
      this.#pushHop(slot, d.hopKind, d.hopId);
      ctx = this.#context(ctx, d.hopKind, d.hopKeyed ? d.hopId : 0);
      if (ctx < 0) return;
      status = d.next(b);
      if (status !== Status.IP) {
        if (status === Status.Truncated) this.stats.truncated++;
        return;
      }
      depth++;
    }
  }

  /** Records a hop of the current packet's path (its carrier flow's slot, or -1). */
  #pushHop(carrier: number, kind: Hop, id: number): void {
    const n = this.#hops;
    if (n >= this.#hopSlot.length) return;
    this.#hopSlot[n] = carrier;
    this.#hopKind[n] = kind;
    this.#hopId[n] = id;
    this.#hops = n + 1;
  }

  #notIp(status: Status, linkType: number): void {
    if (status === Status.Truncated) this.stats.truncated++;
    else if (status === Status.UnknownLink) {
      this.stats.unknownLink++;
      this.unknownLinkTypes.set(linkType, (this.unknownLinkTypes.get(linkType) ?? 0) + 1);
    } else this.stats.notIp++;
  }

  /**
   * The interned tunnel context under `parent` for a hop (kind and, for VXLAN and Geneve, the
   * VNI): what keys inner flows. The carrier's addresses are not part of it, as Zeek does not key
   * inner connections by them (a Teredo reply may come through another relay). -1 when full.
   */
  #context(parent: number, kind: Hop, id: number): number {
    const t = this.#contexts;
    const k = t.key;
    k[0] = parent;
    k[1] = kind;
    k[2] = id;
    const found = t.find();
    if (found >= 0) return found;
    if (t.size >= MAX_CONTEXTS) return this.#full();
    const n = t.size + 1;
    t.insert(n);
    return n;
  }

  #full(): number {
    if (!this.#ctxWarned) {
      this.#ctxWarned = true;
      this.warnings.push(
        `more than ${MAX_CONTEXTS} tunnels: packets of further tunnels count for their carriers only`,
      );
    }
    return -1;
  }

  /**
   * The interned tunnel path of the current packet's hops (made when a flow is created, from
   * the carriers' flows, which are live then): 0 for none.
   */
  #internPath(): number {
    const t = this.#paths;
    const c = this.#c;
    let parent = 0;
    for (let i = 0; i < this.#hops; i++) {
      const slot = this.#hopSlot[i];
      const k = t.key;
      k[0] = parent;
      k[1] = slot >= 0 ? c.serial[slot] : -1;
      k[2] = this.#hopKind[i];
      k[3] = this.#hopId[i];
      const found = t.find();
      if (found >= 0) {
        parent = found;
        continue;
      }
      if (this.#pathList.length >= MAX_CONTEXTS) return parent;
      const hop: TunnelHop = {
        kind: TUNNEL_NAMES[this.#hopKind[i]] as TunnelHop["kind"],
        src: "",
        dst: "",
        id: undefined,
      };
      if (slot >= 0) {
        const o = slot * KEY_WIDTH;
        const version = c.key[o] >> 8;
        const origA = (c.flags[slot] & F_ORIG_IS_A) !== 0;
        hop.src = addressText(version, c.key, origA ? o + 3 : o + 7);
        hop.dst = addressText(version, c.key, origA ? o + 7 : o + 3);
      }
      const id = this.#hopId[i];
      if (id !== 0) hop.id = id >>> 0;
      const n = this.#pathList.length;
      this.#pathList.push({ parent, hop });
      t.insert(n);
      parent = n;
    }
    return parent;
  }

  /** Counts the decoder's IP level for its flow; returns the flow's slot, or -1. */
  #account(b: Uint8Array, ctx: number, depth: number): number {
    const d = this.#d;
    const c = this.#c;
    const a = d.addr;
    const proto = d.protocol;
    const version = d.ipVersion;
    // Later fragments: add to the flow their first fragment counted.
    if (d.fragOffset !== 0) return this.#laterFragment(ctx);
    const sp = d.hasPorts ? d.srcPort : 0;
    const dp = d.hasPorts ? d.dstPort : 0;
    // Canonical order: the smaller (address, port) is A.
    let srcIsA = true;
    for (let i = 0; i < 4; i++) {
      const x = a[i] >>> 0, y = a[4 + i] >>> 0;
      if (x !== y) {
        srcIsA = x < y;
        break;
      }
      if (i === 3) srcIsA = sp <= dp;
    }
    const k = this.#table.key;
    k[0] = proto | (version << 8);
    k[1] = d.vlanCount === 0 ? 0 : ((d.vlanCount > 1 ? 2 : 1) << 24) | (d.vlan1 << 12) | d.vlan2;
    k[2] = ctx;
    const sa = srcIsA ? 0 : 4, sb = srcIsA ? 4 : 0;
    k[3] = a[sa];
    k[4] = a[sa + 1];
    k[5] = a[sa + 2];
    k[6] = a[sa + 3];
    k[7] = a[sb];
    k[8] = a[sb + 1];
    k[9] = a[sb + 2];
    k[10] = a[sb + 3];
    k[11] = srcIsA ? (sp << 16) | dp : (dp << 16) | sp;
    let slot = this.#table.find();
    const tcpFlags = proto === 6 ? d.tcpFlags : 0;
    if (slot >= 0 && this.#ended(slot, proto, tcpFlags)) {
      this.#finishSlot(slot);
      slot = -1;
    }
    if (slot < 0) {
      slot = this.#create(srcIsA, depth);
      if (slot < 0) return -1;
    }
    // Count.
    let f = c.flags[slot];
    const fromA = srcIsA;
    const base = slot * 6 + (fromA ? 0 : 3);
    c.count[base]++;
    c.count[base + 1] += d.payloadLength;
    c.count[base + 2] += d.ipLength;
    const now = this.#now;
    if (now > c.last[slot]) c.last[slot] = now;
    if (now < c.first[slot]) c.first[slot] = now;
    if (d.ipCaptured > 20) f |= F_BIG;
    if (tcpFlags !== 0) {
      if (tcpFlags & 0x02) {
        if ((tcpFlags & 0x10) === 0) {
          // A pure SYN: its sender is the originator, unless one was already seen.
          if ((f & F_SYN) === 0) f = fromA ? f | F_ORIG_IS_A : f & ~F_ORIG_IS_A;
          f |= F_SYN | (fromA ? F_SYN_A : F_SYN_B);
        }
      }
      if (tcpFlags & 0x01) f |= fromA ? F_FIN_A : F_FIN_B;
      if (tcpFlags & 0x04) f |= F_RST;
    }
    if (d.moreFragments) {
      c.fragments[slot]++;
      this.#pendingFragment(ctx, slot, fromA);
    }
    c.flags[slot] = f;
    // Names stated by the originator: TLS SNI and HTTP Host in its first data segments.
    // (A ClientHello in the first few segments; an HTTP request in any segment that starts like
    // one, since a connection carries many.)
    if (proto === 6 && d.payloadCaptured > 0 && ((f & F_ORIG_IS_A) !== 0) === fromA) {
      const first = b[d.payloadOffset];
      if ((f & F_HTTP_OPEN) !== 0) this.#httpContinued(b, slot);
      else if (first === 0x16 ? c.budget[slot] > 0 : first >= 65 && first <= 90) {
        if (first === 0x16) c.budget[slot]--;
        this.#names(b, slot);
      }
    }
    // QUIC: the client's first long-header datagrams (their Initial packets hold the ClientHello).
    if (
      proto === 17 && d.payloadCaptured > 0 && c.budget[slot] > 0 &&
      (b[d.payloadOffset] & 0xc0) === 0xc0 && ((f & F_ORIG_IS_A) !== 0) === fromA
    ) {
      this.#quicName(b, slot);
    }
    if (d.hasPorts && (sp === 53 || dp === 53) && (proto === 17 || proto === 6)) {
      if (d.payloadCaptured > 0) {
        this.harvest.harvest(
          b,
          d.payloadOffset,
          d.payloadOffset + d.payloadCaptured,
          microsToSeconds(now),
          proto === 6,
        );
      }
    }
    return slot;
  }

  /**
   * Whether the flow in `slot` is over for the current packet, as Zeek decides: idle longer than
   * its timeout; a closed TCP connection (FIN both ways, or RST) seeing a new SYN; or, 5 s after
   * it closed, or after a SYN nobody answered, any packet (Zeek has dropped the connection by
   * then: tcp_close_delay, tcp_reset_delay, tcp_attempt_delay). A FIN one way only ends it so
   * too, except a half-close of a connection seen from its handshake, which Zeek keeps open.
   */
  #ended(slot: number, proto: number, tcpFlags: number): boolean {
    const c = this.#c;
    const idle = this.#now - c.last[slot];
    // DNS_TIMEOUT is the shortest: most packets come sooner, and skip reading the flow's key.
    if (idle > DNS_TIMEOUT && idle > this.#timeout(slot)) return true;
    if (proto !== 6) return false;
    const f = c.flags[slot];
    if ((tcpFlags & 0x12) === 0x02) {
      if ((f & F_RST) !== 0 || (f & (F_FIN_A | F_FIN_B)) === (F_FIN_A | F_FIN_B)) return true;
    }
    if (idle <= CLOSE_DELAY) return false;
    if ((f & F_RST) !== 0 || (f & (F_FIN_A | F_FIN_B)) === (F_FIN_A | F_FIN_B)) return true;
    const respPackets = c.count[slot * 6 + ((f & F_ORIG_IS_A) !== 0 ? 3 : 0)];
    // One FIN: a connection seen from its SYN with both sides active is half-closed, and Zeek
    // keeps it (the other side may send for minutes yet); one without a handshake, or whose
    // responder never spoke, Zeek ends.
    if ((f & (F_FIN_A | F_FIN_B)) !== 0) return (f & F_SYN) === 0 || respPackets === 0;
    return (f & F_SYN) !== 0 && respPackets === 0;
  }

  /** The idle timeout of the flow in `slot` (Zeek's: TCP 5 min, DNS 10 s, others 1 min). */
  #timeout(slot: number): number {
    const c = this.#c;
    const o = slot * KEY_WIDTH;
    const proto = c.key[o] & 255;
    if (proto === 6) return TCP_TIMEOUT;
    if (proto === 17) {
      const ports = c.key[o + 11];
      if (ports >>> 16 === 53 || (ports & 0xffff) === 53) return DNS_TIMEOUT;
    }
    return OTHER_TIMEOUT;
  }

  #quicName(b: Uint8Array, slot: number): void {
    const c = this.#c;
    const d = this.#d;
    c.budget[slot]--;
    let hello = this.#quic.get(slot);
    if (!hello) this.#quic.set(slot, hello = new QuicHello());
    const name = hello.datagram(b, d.payloadOffset, d.payloadOffset + d.payloadCaptured);
    if (name !== undefined) {
      c.budget[slot] = 0;
      this.#addName(slot, name, "sni");
    }
    if (c.budget[slot] === 0) this.#quic.delete(slot);
  }

  #addName(slot: number, name: string, source: FlowName["source"]): void {
    const c = this.#c;
    const list = c.names[slot] ?? (c.names[slot] = []);
    if (list.length >= 8 || list.some((n) => n.name === name && n.source === source)) return;
    list.push({ name, source });
  }

  #names(b: Uint8Array, slot: number): void {
    const d = this.#d;
    const p = d.payloadOffset;
    const end = p + d.payloadCaptured;
    if (b[p] === 0x16) {
      const name = tlsServerName(b, p, end);
      if (name !== undefined) this.#addName(slot, name, "sni");
      return;
    }
    const host = httpHostScan(b, p, end, false);
    // A request head cut by the segment's end: its Host may be in the next one.
    if (host === HEAD_OPEN) this.#c.flags[slot] |= F_HTTP_OPEN;
    else if (host !== undefined) this.#addName(slot, host, "http");
  }

  /** The next client segment of a request head the previous one left open. */
  #httpContinued(b: Uint8Array, slot: number): void {
    const d = this.#d;
    const host = httpHostScan(b, d.payloadOffset, d.payloadOffset + d.payloadCaptured, true);
    if (host === HEAD_OPEN) return;
    this.#c.flags[slot] &= ~F_HTTP_OPEN;
    if (host !== undefined) this.#addName(slot, host, "http");
  }

  #pendingFragment(ctx: number, slot: number, fromA: boolean): void {
    const t = this.#frags;
    if (t.size >= MAX_PENDING_FRAGMENTS) t.clear();
    this.#fragmentKey(ctx);
    if (t.find() < 0) t.insert(slot * 2 + (fromA ? 0 : 1));
  }

  #fragmentKey(ctx: number): void {
    const d = this.#d;
    const k = this.#frags.key;
    k.set(d.addr, 0);
    k[8] = d.protocol | (d.ipVersion << 8);
    k[9] = d.fragId;
    k[10] = ctx;
    k[11] = 0;
  }

  #laterFragment(ctx: number): number {
    const d = this.#d;
    this.#fragmentKey(ctx);
    const t = this.#frags;
    const v = t.find();
    if (v < 0) {
      this.stats.orphanFragments++;
      return -1;
    }
    const slot = v >> 1;
    const c = this.#c;
    // The fragment's data (its IP length less its header) joins the datagram's IP bytes.
    c.count[slot * 6 + (v & 1) * 3 + 2] += Math.max(0, d.ipLength - d.headerLength);
    c.fragments[slot]++;
    if (this.#now > c.last[slot]) c.last[slot] = this.#now;
    if (!d.moreFragments) t.remove();
    return -1;
  }

  /** A new flow for the decoder's packet; -1 when the table is full. */
  #create(srcIsA: boolean, depth: number): number {
    if (this.#live >= this.#maxFlows) {
      this.stats.overflowPackets++;
      if (!this.#fullWarned) {
        this.#fullWarned = true;
        this.warnings.push(
          `the flow table is full (${this.#maxFlows} flows at once): packets of further new flows are not counted (raise the limit with maxFlows / --max-flows)`,
        );
      }
      return -1;
    }
    const c = this.#c;
    let slot: number;
    if (this.#free.length > 0) slot = this.#free.pop()!;
    else {
      slot = this.#used++;
      if (slot >= c.cap) c.grow();
    }
    if (this.#live >= this.#liveSlots.length) {
      this.#liveSlots = grown(this.#liveSlots, this.#liveSlots.length * 2);
    }
    c.place[slot] = this.#live;
    this.#liveSlots[this.#live++] = slot;
    this.#table.insert(slot);
    c.key.set(this.#table.key, slot * KEY_WIDTH);
    const d = this.#d;
    let f = srcIsA ? F_FIRST_FROM_A : 0;
    // The originator: the sender, but the receiver of a SYN-ACK or a reply seen first, or of a
    // packet from a server port to a client port (no SYN to tell).
    const proto = d.protocol;
    let flip: boolean;
    if (proto === 6 && (d.tcpFlags & 0x02) !== 0) flip = (d.tcpFlags & 0x10) !== 0;
    else if (proto === 1) flip = ICMP_REPLY[d.srcPort] === 1;
    else if (proto === 58) flip = ICMP6_REPLY[d.srcPort] === 1;
    else {
      flip = d.hasPorts && SERVER_PORTS[d.srcPort] === 1 && SERVER_PORTS[d.dstPort] === 0 &&
        (proto === 6 || proto === 17);
    }
    if (srcIsA !== flip) f |= F_ORIG_IS_A;
    if (d.icmpOneWay) f |= F_ONE_WAY;
    c.serial[slot] = this.#serial++ & 0x7fffffff;
    c.first[slot] = this.#now;
    c.last[slot] = this.#now;
    c.count.fill(0, slot * 6, slot * 6 + 6);
    c.fragments[slot] = 0;
    c.path[slot] = this.#hops > 0 ? this.#internPath() : 0;
    c.budget[slot] = d.protocol === 6 ? NAME_BUDGET : d.protocol === 17 ? QUIC_BUDGET : 0;
    this.#quic.delete(slot);
    c.names[slot] = undefined;
    const verdict = sampleVerdict(d, this.#linkType, depth);
    if ((verdict & CONDITIONAL) !== 0) f |= F_COND_DNS;
    c.flags[slot] = f;
    c.verdict[slot] = verdict & ~CONDITIONAL;
    return slot;
  }

  /** Ends idle flows. */
  #sweep(): void {
    const now = this.#now;
    this.#nextSweep = now + SWEEP_EVERY;
    const c = this.#c;
    const idle: number[] = [];
    for (let i = 0; i < this.#live; i++) {
      const slot = this.#liveSlots[i];
      if (now - c.last[slot] > this.#timeout(slot)) idle.push(slot);
    }
    // In slot order, which is how they have always come out.
    idle.sort((x, y) => x - y);
    for (const slot of idle) this.#finishSlot(slot);
  }

  /** Emits the flow in `slot` and frees the slot. */
  #finishSlot(slot: number): void {
    const c = this.#c;
    const t = this.#table;
    if (!this.#ending) {
      t.key.set(c.key.subarray(slot * KEY_WIDTH, slot * KEY_WIDTH + KEY_WIDTH));
      t.remove();
    }
    c.flags[slot] |= F_ENDED;
    if (this.#quic.size > 0) this.#quic.delete(slot);
    const place = c.place[slot];
    const last = this.#liveSlots[--this.#live];
    this.#liveSlots[place] = last;
    c.place[last] = place;
    this.#out(slot);
  }

  /** The numeric IPv4 destination (the responder) of the flow in `slot` (0 for IPv6). */
  #dstOf(slot: number): number {
    const c = this.#c;
    const o = slot * KEY_WIDTH;
    if (c.key[o] >> 8 !== 4) return 0;
    return c.key[(c.flags[slot] & F_ORIG_IS_A) !== 0 ? o + 7 : o + 3] >>> 0;
  }

  /** Emits the ended flow in `slot` now when streaming and nothing about it can change, else holds it. */
  #out(slot: number): void {
    if (!this.#streaming) {
      this.#held.push(slot);
      return;
    }
    const c = this.#c;
    const conditional = (c.flags[slot] & F_COND_DNS) !== 0;
    const dst = this.#dstOf(slot);
    const ipv4 = c.key[slot * KEY_WIDTH] >> 8 === 4;
    const undecided = conditional || (ipv4 && !this.#dnsSettled(slot, dst));
    if (!undecided) {
      this.#settle(slot, false, dst);
      this.#release(slot);
      return;
    }
    if (this.#held.length >= this.#maxFlows) {
      if (!this.#heldWarned) {
        this.#heldWarned = true;
        this.warnings.push(
          `more than ${this.#maxFlows} flows waited for names from later DNS answers: further ones are written with the names known when they ended`,
        );
      }
      this.#settle(slot, conditional, dst);
      this.#release(slot);
      return;
    }
    this.#held.push(slot);
  }

  /** Emits the flow in `slot` (the row pointed at it) and frees the slot. */
  #release(slot: number): void {
    const c = this.#c;
    this.#emit(this.#row.at(slot));
    c.names[slot] = undefined;
    this.#free.push(slot);
  }

  /**
   * Whether the flow's DNS name is known for good: an answer at or before its start names its
   * destination, or the destination is local (Secflows look ahead only for external ones).
   */
  #dnsSettled(slot: number, dst: number): boolean {
    if (isLocal(dst)) return true;
    const list = this.harvest.byAddress.get(dst);
    if (!list) return false;
    const start = this.#c.first[slot] / 1e6;
    for (const h of list) if (h.time <= start) return true;
    return false;
  }

  /**
   * Applies the DNS name and the rule-4 verdict known now to the flow in `slot`. A conditional
   * flow (DNS between private addresses) is local by its addresses (#verdict): local-dns when the
   * capture holds local lookups (SECFLOW.md rule 4), else local-only.
   */
  #settle(slot: number, conditional: boolean, dst: number): void {
    const c = this.#c;
    if (conditional) c.verdict[slot] = this.harvest.localLookups ? V.LocalDns : V.LocalOnly;
    if (c.key[slot * KEY_WIDTH] >> 8 !== 4) return;
    const list = this.harvest.byAddress.get(dst);
    if (!list || list.length === 0) return;
    // As Secflows name destinations: the latest answer at or before the start, else the first.
    const start = microsToSeconds(c.first[slot]);
    let best: { name: string; time: number } | undefined;
    let earliest = list[0];
    for (const h of list) {
      if (h.time < earliest.time) earliest = h;
      if (h.time <= start && (!best || h.time >= best.time)) best = h;
    }
    // A local destination is never named by a later answer (SECFLOW.md section 4).
    if (!best && isLocal(dst)) return;
    const dnsName: FlowName = { name: (best ?? earliest).name, source: "dns" };
    // The engine's own names are SNI and HTTP Host: the DNS name goes first.
    const names = c.names[slot];
    if (names === undefined) c.names[slot] = [dnsName];
    else names.unshift(dnsName);
  }

  #path(ctx: number): TunnelHop[] {
    const path: TunnelHop[] = [];
    for (let n = 0; ctx !== 0 && n < 64; n++) {
      const c = this.#pathList[ctx];
      path.push(c.hop);
      ctx = c.parent;
    }
    return path.reverse();
  }

  #cursor = 0;
  /** The next held flow to emit at the end; -1 until they are put in order. */
  #heldCursor = -1;
  #ending = false;

  /**
   * Ends up to `max` flows: those still in the table, then those that waited for the end (named
   * now; in start order unless streaming). The caller takes what they emitted between calls, so
   * that the end of a big capture is not one burst held in memory; true once none is left. Then
   * call {@link finish}.
   */
  finishSome(max: number): boolean {
    // At the end the table is dropped whole, not emptied key by key.
    if (!this.#ending) {
      this.#ending = true;
      this.#table.clear();
    }
    const c = this.#c;
    let n = 0;
    while (this.#cursor < this.#used && n < max) {
      const slot = this.#cursor++;
      if ((c.flags[slot] & F_ENDED) === 0) {
        this.#finishSlot(slot);
        n++;
      }
    }
    if (this.#cursor < this.#used) return false;
    const held = this.#held;
    if (this.#heldCursor < 0) {
      this.#heldCursor = 0;
      // Start order; flows that began with the same packet in the order it made them (a
      // tunnel's carrier before what it carries).
      if (!this.#streaming) {
        held.sort((x, y) => c.first[x] - c.first[y] || c.serial[x] - c.serial[y]);
      }
    }
    for (; this.#heldCursor < held.length && n < max; n++) {
      const slot = held[this.#heldCursor++];
      this.#settle(slot, (c.flags[slot] & F_COND_DNS) !== 0, this.#dstOf(slot));
      this.#release(slot);
    }
    return this.#heldCursor >= held.length;
  }

  /** Ends every flow ({@link finishSome} with no limit) and adds the last warnings. */
  finish(): void {
    while (!this.finishSome(1 << 30));
    this.#held = [];
    if (this.stats.orphanFragments > 0) {
      this.warnings.push(
        `${this.stats.orphanFragments} later fragments came without their first fragment (no ports): not counted in any flow`,
      );
    }
  }
}

export type { LeftOutReason };
