/**
 * Totals of flows, as `stats --flows` prints them and `report --flows` heads its page with: all
 * flows, by transport, by what the platform's sample does with them (kept, or the reason it
 * leaves them out), and by address (the top talkers). A {@link FlowTally} takes flows one at a
 * time, so a command can count a capture's flows as they stream past without holding them.
 *
 * Memory stays bounded: the transports and reasons are a few dozen keys at most, and the
 * addresses ranked as talkers stop at {@link MAX_TALKERS} (a scan from spoofed addresses has one
 * per packet); flows of addresses past it still count everywhere else, and
 * {@link FlowTotals.unrankedAddresses} says how many were not ranked.
 * @module
 */
import type { Flow, LeftOutReason, SampleVerdict } from "../secflow/flows/types.ts";

/** Counts of a group of flows. */
export interface FlowCounts {
  flows: number;
  /** Packets, both directions. */
  packets: number;
  /** Transport payload bytes, both directions. */
  bytes: number;
  /** IP bytes (headers included), both directions. */
  ipBytes: number;
}

/** Everything a {@link FlowTally} counted. */
export interface FlowTotals extends FlowCounts {
  /** First packet of all flows, µs since the epoch; null without flows. */
  start: number | null;
  /** Last packet of all flows, µs since the epoch; null without flows. */
  end: number | null;
  /** Per transport (`tcp`, `udp`, `ipv6-icmp`, `253`, ...). */
  transports: Map<string, FlowCounts>;
  /** Per sample verdict: `kept` and each reason a flow is left out. */
  sample: Map<SampleVerdict, FlowCounts>;
  /** Distinct Secflows the kept flows belong to (`src` and `dst` before naming). */
  secflows: number;
  /** Per address, each flow counted for both its ends (the talkers). */
  addresses: Map<string, FlowCounts>;
  /**
   * Addresses not ranked because {@link MAX_TALKERS} were already ranked: at least this many
   * (they are themselves counted up to that bound).
   */
  unrankedAddresses: number;
}

/** The most addresses ranked as talkers (about 100 MB of map at most). */
export const MAX_TALKERS = 500_000;

/**
 * The reasons the platform's sample leaves a flow out, as a reader needs them explained, in the
 * order the engine checks them.
 */
export const REASON_TEXT: Readonly<Record<LeftOutReason, string>> = {
  "ipv6": "IPv6: the platform reads IPv4 only",
  "in-tunnel": "inside a tunnel: the platform reads the outer header only",
  "encapsulation": "under MPLS, PPPoE or another encapsulation the platform does not read",
  "not-tcp-udp-icmp": "neither TCP, UDP nor ICMP",
  "fragment": "a later IPv4 fragment, without ports",
  "blocked-port": "a port the platform filters (67, 68, 137, 139, 389, 445, 636, 1900, 5353, 5355)",
  "lan-internal": "both ends local (LAN-internal) and no port 53",
  "local-dns": "private DNS between RFC 1918 addresses while the capture holds local lookups",
  "broadcast-multicast": "a broadcast or multicast destination",
  "local-only": "both ends local by the wider list: filtered in, but no session is made",
  "too-short": "every packet's IPv4 part was 20 bytes or shorter",
};

function zero(): FlowCounts {
  return { flows: 0, packets: 0, bytes: 0, ipBytes: 0 };
}

function addTo<K>(map: Map<K, FlowCounts>, key: K, f: Flow): void {
  let c = map.get(key);
  if (!c) map.set(key, c = zero());
  c.flows++;
  c.packets += f.srcPackets + f.dstPackets;
  c.bytes += f.srcBytes + f.dstBytes;
  c.ipBytes += f.srcIpBytes + f.dstIpBytes;
}

/** Counts flows added one at a time. */
export class FlowTally {
  readonly totals: FlowTotals = {
    ...zero(),
    start: null,
    end: null,
    transports: new Map(),
    sample: new Map(),
    secflows: 0,
    addresses: new Map(),
    unrankedAddresses: 0,
  };
  #secflows = new Set<string>();
  #unranked = new Set<string>();
  #maxTalkers: number;

  /** `maxTalkers`: the most addresses ranked (default {@link MAX_TALKERS}). */
  constructor(maxTalkers = MAX_TALKERS) {
    this.#maxTalkers = maxTalkers;
  }

  /** Counts one flow. */
  add(f: Flow): void {
    const t = this.totals;
    t.flows++;
    t.packets += f.srcPackets + f.dstPackets;
    t.bytes += f.srcBytes + f.dstBytes;
    t.ipBytes += f.srcIpBytes + f.dstIpBytes;
    if (t.start === null || f.start < t.start) t.start = f.start;
    if (t.end === null || f.end > t.end) t.end = f.end;
    addTo(t.transports, f.transport, f);
    addTo(t.sample, f.sample, f);
    if (f.secflow) {
      this.#secflows.add(`${f.secflow.src} ${f.secflow.dst}`);
      t.secflows = this.#secflows.size;
    }
    for (const ip of f.srcIp === f.dstIp ? [f.srcIp] : [f.srcIp, f.dstIp]) {
      if (ip === "") continue; // a flow read without addresses
      if (t.addresses.has(ip) || t.addresses.size < this.#maxTalkers) addTo(t.addresses, ip, f);
      else if (this.#unranked.size < this.#maxTalkers) {
        this.#unranked.add(ip);
        t.unrankedAddresses = this.#unranked.size;
      }
    }
  }
}

/**
 * The `n` entries of `map` with the most IP bytes (ties: most flows, then by key), as
 * `[key, counts]`.
 */
export function topByIpBytes<K extends string>(
  map: Map<K, FlowCounts>,
  n: number,
): [K, FlowCounts][] {
  return [...map].sort((a, b) =>
    b[1].ipBytes - a[1].ipBytes || b[1].flows - a[1].flows || (a[0] < b[0] ? -1 : 1)
  ).slice(0, n);
}

/** The entries of `map` with the most flows first (ties by key). */
export function byFlows<K extends string>(map: Map<K, FlowCounts>): [K, FlowCounts][] {
  return [...map].sort((a, b) => b[1].flows - a[1].flows || (a[0] < b[0] ? -1 : 1));
}
