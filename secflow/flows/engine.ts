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
 * direction. Objects and strings are made only when a flow is emitted.
 * @module
 */
import type { PacketSink } from "../capture_reader.ts";
import { LINK_TYPES } from "../decode.ts";
import { DnsHarvest } from "../dns.ts";
import { microsToSeconds } from "../format.ts";
import { ipToString, isFilterLocal, isLocal, isRfc1918 } from "../net.ts";
import { KeyTable } from "./_key_table.ts";
import { communityIdOfWords } from "./community_id.ts";
import { FlowDecoder, type Hop, Status, TUNNEL_NAMES } from "./decode.ts";
import { HEAD_OPEN, httpHostScan, tlsServerName } from "./names.ts";
import { QuicHello } from "./quic.ts";
import {
  DEFAULT_MAX_FLOWS,
  DEFAULT_MAX_TUNNEL_DEPTH,
  type Flow,
  type FlowName,
  type LeftOutReason,
  type SampleVerdict,
  type TunnelHop,
} from "./types.ts";

/** Key words: [proto | version << 8, vlans, context, A (4 words), B (4 words), pA << 16 | pB]. */
const KEY_WIDTH = 12;
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

// flags
const F_ORIG_IS_A = 1, F_FIRST_FROM_A = 2, F_SYN = 4, F_FIN_A = 8, F_FIN_B = 16, F_RST = 32;
const F_BIG = 64, F_ONE_WAY = 128, F_COND_DNS = 256, F_SYN_A = 512, F_SYN_B = 1024;
/** A client's request head was cut by its segment's end (the Host may come next). */
const F_HTTP_OPEN = 2048;

/**
 * Ports a server listens on (after Zeek's `likely_server_ports`): a flow whose first packet comes
 * from one of them to a port that is not one, with no SYN to tell, is turned around, as Zeek
 * does, so that the client is the source.
 */
const SERVER_PORTS = new Uint8Array(65536);
for (
  const port of [
    21,
    22,
    23,
    25,
    53,
    67,
    69,
    80,
    88,
    110,
    111,
    123,
    135,
    137,
    138,
    139,
    143,
    161,
    179,
    389,
    443,
    445,
    465,
    500,
    514,
    515,
    587,
    593,
    636,
    853,
    989,
    990,
    993,
    995,
    1080,
    1194,
    1433,
    1521,
    1701,
    1723,
    1812,
    1813,
    1883,
    2049,
    2152,
    3128,
    3306,
    3389,
    3478,
    3544,
    4500,
    4789,
    5060,
    5061,
    5222,
    5353,
    5355,
    5432,
    5900,
    6081,
    6379,
    6667,
    8000,
    8080,
    8443,
    8888,
    9200,
    11211,
    27017,
  ]
) SERVER_PORTS[port] = 1;
/** ICMP (v4 and v6) reply types: a flow first seen as a reply is turned around. */
const ICMP_REPLY = new Uint8Array(256);
for (const t of [0, 14, 16, 18]) ICMP_REPLY[t] = 1;
const ICMP6_REPLY = new Uint8Array(256);
for (const t of [129, 136]) ICMP6_REPLY[t] = 1;

const BLOCKED_PORTS = new Uint8Array(65536);
for (const port of [67, 68, 137, 139, 389, 445, 636, 1900, 5353, 5355]) BLOCKED_PORTS[port] = 1;

const enum V {
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
const VERDICTS: SampleVerdict[] = [
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

/** IANA keywords of common protocol numbers. */
const PROTOCOL_NAMES: Record<number, string> = {
  1: "icmp",
  2: "igmp",
  4: "ipv4",
  6: "tcp",
  17: "udp",
  41: "ipv6",
  46: "rsvp",
  47: "gre",
  50: "esp",
  51: "ah",
  58: "ipv6-icmp",
  88: "eigrp",
  89: "ospf",
  103: "pim",
  112: "vrrp",
  115: "l2tp",
  132: "sctp",
  136: "udplite",
};

/** The transport name of protocol number `p`. */
export function transportName(p: number): string {
  return PROTOCOL_NAMES[p] ?? String(p);
}

/** Engine options (see `FlowOptions`). */
export interface FlowEngineOptions {
  maxFlows?: number;
  maxTunnelDepth?: number;
  streaming?: boolean;
}

/** Counters of a run. */
export interface FlowEngineStats {
  packets: number;
  notIp: number;
  truncated: number;
  unknownLink: number;
  overflowPackets: number;
  tooDeep: number;
  /** Later fragments whose first fragment was not seen (not counted in any flow). */
  orphanFragments: number;
}

class Columns {
  cap: number;
  key: Int32Array;
  flags: Int32Array;
  serial: Int32Array;
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
    this.verdict = new Uint8Array(cap);
    this.budget = new Uint8Array(cap);
    this.fragments = new Int32Array(cap);
    this.path = new Int32Array(cap);
    this.first = new Float64Array(cap);
    this.last = new Float64Array(cap);
    this.count = new Float64Array(cap * 6);
  }
  grow(): void {
    const cap = this.cap * 2;
    const g = <T extends Int32Array | Uint8Array | Float64Array>(a: T, per = 1): T => {
      const b = new (a.constructor as new (n: number) => T)(cap * per);
      b.set(a);
      return b;
    };
    this.key = g(this.key, KEY_WIDTH);
    this.flags = g(this.flags);
    this.serial = g(this.serial);
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
interface Context {
  parent: number;
  hop: TunnelHop;
}

/**
 * The flow engine: a {@link PacketSink}. Finished flows go to `emit` (as they end when
 * streaming, else at {@link finish}, in start order).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FlowsEngine } from "./engine.ts";
 * import type { Flow } from "./types.ts";
 * const flows: Flow[] = [];
 * const engine = new FlowsEngine((f) => flows.push(f));
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

  #emit: (flow: Flow) => void;
  #maxFlows: number;
  #maxDepth: number;
  #streaming: boolean;
  #d = new FlowDecoder();
  #table = new KeyTable(KEY_WIDTH, 1 << 12);
  #c = new Columns(1024);
  #free: number[] = [];
  #used = 0;
  #live = 0;
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
  /** Flows waiting for the end (their DNS name or verdict can still change), or all of them. */
  #held: Flow[] = [];
  #heldWarned = false;
  #fullWarned = false;
  #ctxWarned = false;

  constructor(emit: (flow: Flow) => void, options: FlowEngineOptions = {}) {
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
      slot = this.#create(srcIsA, ctx, depth);
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
  #create(srcIsA: boolean, ctx: number, depth: number): number {
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
    this.#live++;
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
    const [verdict, conditional] = this.#verdict(ctx, depth);
    if (conditional) f |= F_COND_DNS;
    c.flags[slot] = f;
    c.verdict[slot] = verdict;
    return slot;
  }

  /** The platform's verdict on the decoder's packet, first packet of its flow (SECFLOW.md 2-3). */
  #verdict(_ctx: number, depth: number): [V, boolean] {
    const d = this.#d;
    if (depth > 0) return [V.InTunnel, false];
    if (d.encapsulated || !(this.#linkType in LINK_TYPES)) return [V.Encapsulation, false];
    if (d.ipVersion === 6) return [V.Ipv6, false];
    const proto = d.protocol;
    if (proto !== 6 && proto !== 17 && proto !== 1) return [V.NotTcpUdpIcmp, false];
    const src = d.addr[0] >>> 0, dst = d.addr[4] >>> 0;
    const multicast = (dst >>> 28) === 14 || dst === 0xffffffff;
    if (proto === 1) {
      if (isFilterLocal(src) && isFilterLocal(dst)) {
        return [multicast ? V.BroadcastMulticast : V.LanInternal, false];
      }
      return [V.Kept, false];
    }
    const sp = d.srcPort, dp = d.dstPort;
    if (BLOCKED_PORTS[sp] === 1 || BLOCKED_PORTS[dp] === 1) return [V.BlockedPort, false];
    const port53 = sp === 53 || dp === 53;
    if (!port53 && isFilterLocal(src) && isFilterLocal(dst)) {
      return [multicast ? V.BroadcastMulticast : V.LanInternal, false];
    }
    const conditional = port53 && isRfc1918(src) && isRfc1918(dst);
    if (isLocal(src) && isLocal(dst)) {
      return [multicast ? V.BroadcastMulticast : V.LocalOnly, conditional];
    }
    return [V.Kept, conditional];
  }

  /** Ends idle flows. */
  #sweep(): void {
    const now = this.#now;
    this.#nextSweep = now + SWEEP_EVERY;
    const c = this.#c;
    for (let slot = 0; slot < this.#used; slot++) {
      if (c.serial[slot] < 0) continue;
      if (now - c.last[slot] > this.#timeout(slot)) this.#finishSlot(slot);
    }
  }

  /** Emits the flow in `slot` and frees the slot. */
  #finishSlot(slot: number): void {
    const c = this.#c;
    const t = this.#table;
    if (!this.#ending) {
      t.key.set(c.key.subarray(slot * KEY_WIDTH, slot * KEY_WIDTH + KEY_WIDTH));
      t.remove();
    }
    const flow = this.#flowOf(slot);
    c.serial[slot] = -1;
    c.names[slot] = undefined;
    if (this.#quic.size > 0) this.#quic.delete(slot);
    this.#free.push(slot);
    this.#live--;
    this.#out(flow, (c.flags[slot] & F_COND_DNS) !== 0);
  }

  /** The numeric IPv4 destination of an emitted flow (0 for IPv6). */
  #dstOf(flow: Flow): number {
    return flow.ipVersion === 4 ? ipv4Number(flow.dstIp) : 0;
  }

  /** Emits now when streaming and nothing about the flow can change, else holds it. */
  #out(flow: Flow, conditional: boolean): void {
    if (!this.#streaming) {
      this.#held.push(flow);
      return;
    }
    const dst = this.#dstOf(flow);
    const undecided = conditional || (flow.ipVersion === 4 && !this.#dnsSettled(flow, dst));
    if (!undecided) {
      this.#settle(flow, false, dst);
      this.#emit(flow);
      return;
    }
    if (this.#held.length >= this.#maxFlows) {
      if (!this.#heldWarned) {
        this.#heldWarned = true;
        this.warnings.push(
          `more than ${this.#maxFlows} flows waited for names from later DNS answers: further ones are written with the names known when they ended`,
        );
      }
      this.#settle(flow, conditional, dst);
      this.#emit(flow);
      return;
    }
    if (conditional) flow.sample = "local-dns"; // marker, settled at the end
    this.#held.push(flow);
  }

  /**
   * Whether the flow's DNS name is known for good: an answer at or before its start names its
   * destination, or the destination is local (Secflows look ahead only for external ones).
   */
  #dnsSettled(flow: Flow, dst: number): boolean {
    if (isLocal(dst)) return true;
    const list = this.harvest.byAddress.get(dst);
    if (!list) return false;
    const start = flow.start / 1e6;
    for (const h of list) if (h.time <= start) return true;
    return false;
  }

  /** Applies the DNS name and the rule-4 verdict known now. */
  #settle(flow: Flow, conditional: boolean, dst: number): void {
    if (conditional) {
      flow.sample = this.harvest.localLookups ? "local-dns" : this.#keptOrLocal(flow);
      if (flow.sample !== "kept") flow.secflow = undefined;
    }
    if (flow.ipVersion !== 4) return;
    const list = this.harvest.byAddress.get(dst);
    if (!list || list.length === 0) return;
    // As Secflows name destinations: the latest answer at or before the start, else the first.
    const start = microsToSeconds(flow.start);
    let best: { name: string; time: number } | undefined;
    let earliest = list[0];
    for (const h of list) {
      if (h.time < earliest.time) earliest = h;
      if (h.time <= start && (!best || h.time >= best.time)) best = h;
    }
    // A local destination is never named by a later answer (SECFLOW.md section 4).
    if (!best && isLocal(dst)) return;
    const name = (best ?? earliest).name;
    const dnsName: FlowName = { name, source: "dns" };
    flow.names = flow.names.length === 0 ? [dnsName] : [
      dnsName,
      ...flow.names.filter((n) => n.source !== "dns"),
    ];
  }

  #keptOrLocal(flow: Flow): SampleVerdict {
    const s = ipv4Number(flow.srcIp), d = ipv4Number(flow.dstIp);
    return isLocal(s) && isLocal(d) ? "local-only" : "kept";
  }

  /** The flow in `slot` as an object. */
  #flowOf(slot: number): Flow {
    const c = this.#c;
    const k = c.key;
    const o = slot * KEY_WIDTH;
    const f = c.flags[slot];
    const proto = k[o] & 255;
    const version = (k[o] >> 8) as 4 | 6;
    const origA = (f & F_ORIG_IS_A) !== 0;
    const ao = o + 3, bo = o + 7;
    const pa = k[o + 11] >>> 16, pb = k[o + 11] & 0xffff;
    const so = origA ? ao : bo, doff = origA ? bo : ao;
    const srcPort = origA ? pa : pb, dstPort = origA ? pb : pa;
    const srcIp = addressText(version, k, so);
    const dstIp = addressText(version, k, doff);
    const cnt = c.count;
    const sBase = slot * 6 + (origA ? 0 : 3), dBase = slot * 6 + (origA ? 3 : 0);
    const start = c.first[slot], end = c.last[slot];
    let verdict: SampleVerdict = VERDICTS[c.verdict[slot]];
    if (verdict === "kept" && (f & F_BIG) === 0) verdict = "too-short";
    const vlanWord = k[o + 1];
    const vlans: number[] = [];
    if (vlanWord !== 0) {
      vlans.push((vlanWord >> 12) & 0xfff);
      if (vlanWord >>> 24 > 1) vlans.push(vlanWord & 0xfff);
    }
    const flow: Flow = {
      start,
      end,
      duration: end - start,
      startTime: isoMicrosCached(start),
      endTime: isoMicrosCached(end),
      srcIp,
      srcPort,
      dstIp,
      dstPort,
      ipVersion: version,
      protocol: proto,
      transport: transportName(proto),
      srcPackets: cnt[sBase],
      srcBytes: cnt[sBase + 1],
      srcIpBytes: cnt[sBase + 2],
      dstPackets: cnt[dBase],
      dstBytes: cnt[dBase + 1],
      dstIpBytes: cnt[dBase + 2],
      communityId: communityIdOfWords(
        version,
        k,
        so,
        k,
        doff,
        proto,
        srcPort,
        dstPort,
        (f & F_ONE_WAY) !== 0,
      ),
      vlans,
      tunnel: this.#path(c.path[slot]),
      names: c.names[slot] ?? [],
      sample: verdict,
      // Every flow object has every key (absent ones undefined): one shape, fast to read.
      secflow: verdict === "kept" ? this.#secflow(k, o, f, proto) : undefined,
      tcpFlags: proto === 6
        ? {
          syn: (f & F_SYN) !== 0,
          fin: (f & (F_FIN_A | F_FIN_B)) !== 0,
          rst: (f & F_RST) !== 0,
        }
        : undefined,
      uid: undefined,
      fragments: c.fragments[slot] > 0 ? c.fragments[slot] : undefined,
    };
    return flow;
  }

  /** The Secflow a kept flow joins: the session its first packet creates (SECFLOW.md 3). */
  #secflow(k: Int32Array, o: number, f: number, proto: number): { src: string; dst: string } {
    const firstA = (f & F_FIRST_FROM_A) !== 0;
    const s = (firstA ? k[o + 3] : k[o + 7]) >>> 0;
    const dd = (firstA ? k[o + 7] : k[o + 3]) >>> 0;
    const pa = k[o + 11] >>> 16, pb = k[o + 11] & 0xffff;
    const sp = firstA ? pa : pb, dp = firstA ? pb : pa;
    if (proto === 1) {
      const sIsSource = isLocal(s) || !isLocal(dd);
      return sIsSource
        ? { src: ipToString(s), dst: ipToString(dd) }
        : { src: ipToString(dd), dst: ipToString(s) };
    }
    let sourceIsS: boolean;
    if (isLocal(s)) {
      if (sp > 49151) sourceIsS = true;
      else if (dp > 49151) sourceIsS = false;
      else if (dp < 1024) sourceIsS = true;
      else sourceIsS = !(dp > sp);
    } else sourceIsS = !(dp > sp);
    const S = `${ipToString(s)}:${sp}`, D = `${ipToString(dd)}:${dp}`;
    return sourceIsS ? { src: S, dst: D } : { src: D, dst: S };
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
  #ending = false;

  /**
   * Ends up to `max` flows still in the table (the caller takes what they emitted, so that the
   * end of a big capture is not one burst held in memory); true once none is left. Then call
   * {@link finish}.
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
      if (c.serial[slot] >= 0) {
        this.#finishSlot(slot);
        n++;
      }
    }
    return this.#cursor >= this.#used;
  }

  /** Ends every flow; held flows are named and emitted (in start order unless streaming). */
  finish(): void {
    while (!this.finishSome(1 << 30));
    const held = this.#held;
    this.#held = [];
    for (const flow of held) {
      const conditional = flow.sample === "local-dns";
      if (conditional) flow.sample = "kept";
      this.#settle(flow, conditional, this.#dstOf(flow));
    }
    if (!this.#streaming) held.sort((x, y) => x.start - y.start);
    for (const flow of held) this.#emit(flow);
    if (this.stats.orphanFragments > 0) {
      this.warnings.push(
        `${this.stats.orphanFragments} later fragments came without their first fragment (no ports): not counted in any flow`,
      );
    }
  }
}

/** A numeric IPv4 address of dotted text (flows hold text once emitted). */
function ipv4Number(text: string): number {
  let n = 0, part = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 46) {
      n = n * 256 + part;
      part = 0;
    } else part = part * 10 + ch - 48;
  }
  return n * 256 + part;
}

/** Text of an address at `words[at..]`: dotted IPv4, or RFC 5952 IPv6. */
export function addressText(version: number, words: Int32Array, at: number): string {
  if (version === 4) return ipToString(words[at] >>> 0);
  const g: number[] = [];
  for (let i = 0; i < 4; i++) g.push((words[at + i] >>> 16) & 0xffff, words[at + i] & 0xffff);
  // The longest run of two or more zero groups becomes "::".
  let bestAt = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [bestAt, bestLen] = [i, j - i];
    i = j;
  }
  // IPv4-mapped addresses keep their dotted tail.
  if (bestAt === 0 && bestLen === 5 && g[5] === 0xffff) {
    return `::ffff:${ipToString(words[at + 3] >>> 0)}`;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestAt < 0) return hex.join(":");
  return `${hex.slice(0, bestAt).join(":")}::${hex.slice(bestAt + bestLen).join(":")}`;
}

/** Two digits. */
function d2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/**
 * ISO 8601 with microseconds, UTC (`2023-11-14T22:13:20.000001Z`), by arithmetic (Hinnant's
 * days-to-civil): `Date.prototype.toISOString` cost more than the rest of a flow's output.
 * Years outside 0-9999 come out as `Date` writes them.
 */
export function isoMicros(us: number): string {
  const second = Math.floor(us / 1e6);
  const frac = us - second * 1e6;
  let days = Math.floor(second / 86400);
  const rest = second - days * 86400;
  days += 719468;
  const era = Math.floor(days / 146097);
  const doe = days - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) -
      Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  if (year < 0 || year > 9999 || !Number.isFinite(us)) {
    const d = new Date(second * 1000);
    if (Number.isNaN(d.getTime())) return "";
    return `${d.toISOString().slice(0, -5)}.${String(Math.floor(frac)).padStart(6, "0")}Z`;
  }
  const h = Math.floor(rest / 3600), m = Math.floor((rest % 3600) / 60), sec = rest % 60;
  const f = Math.floor(frac);
  return `${String(year).padStart(4, "0")}-${d2(month)}-${d2(day)}T${d2(h)}:${d2(m)}:${d2(sec)}.${
    f < 100000 ? String(f).padStart(6, "0") : f
  }Z`;
}

/** The minute of the last {@link isoMicrosCached} call and its text up to the seconds. */
let cachedMinute = NaN, cachedPrefix = "";

/**
 * {@link isoMicros}, with the text up to the minute kept from the call before: a capture's
 * flows start and end within few minutes, and the calendar arithmetic was most of the cost.
 */
export function isoMicrosCached(us: number): string {
  const minute = Math.floor(us / 60e6);
  if (minute !== cachedMinute) {
    const text = isoMicros(us);
    if (text.length !== 27) return text; // years outside 0-9999, or no date
    cachedMinute = minute;
    cachedPrefix = text.slice(0, 17);
    return text;
  }
  const micros = us - minute * 60e6;
  const sec = Math.floor(micros / 1e6), f = Math.floor(micros - sec * 1e6);
  return `${cachedPrefix}${d2(sec)}.${f < 100000 ? String(f).padStart(6, "0") : f}Z`;
}

export type { LeftOutReason };
