/**
 * A flow read from its row of the engine's columns when it is emitted ({@link FlowRow}): every
 * field of {@link Flow} a getter, text made only when a field is read. The engine hands out one
 * row, pointed at each flow in turn; {@link FlowRow.toFlow} copies it into a plain object, and
 * {@link FlowRow.putText} writes its text fields (times, addresses, Community ID, Secflow ends)
 * as bytes straight from the numbers, for the ECS byte writer.
 * @module
 */
import { ipToString, isLocal } from "../net.ts";
import {
  type Columns,
  F_BIG,
  F_FIN_A,
  F_FIN_B,
  F_FIRST_FROM_A,
  F_ONE_WAY,
  F_ORIG_IS_A,
  F_RST,
  F_SYN,
  KEY_WIDTH,
  VERDICTS,
} from "./_columns.ts";
import { hashFlowKey, lastCommunityId, putLastCommunityId } from "./community_id.ts";
import { type TextBytes, TextField } from "./ecs_bytes.ts";
import {
  addressText,
  isoMicrosCached,
  putInteger,
  putIpv4,
  putIsoMicros,
  transportName,
} from "./text.ts";
import type { Flow, FlowName, SampleVerdict, TunnelHop } from "./types.ts";

/** The ends of a kept flow's Secflow: source address and port, destination address and port. */
const ends = new Float64Array(4);

/**
 * The flow in one slot of the engine's columns ({@link FlowRow.at}), valid until the row is
 * pointed at another flow. Read its fields, or copy it with {@link FlowRow.toFlow}.
 */
export class FlowRow implements Flow, TextBytes {
  readonly #c: Columns;
  readonly #paths: (path: number) => TunnelHop[];
  #slot = 0;
  #o = 0;
  #flags = 0;
  #proto = 0;
  #version: 4 | 6 = 4;
  #srcAt = 0;
  #dstAt = 0;
  #srcPort = 0;
  #dstPort = 0;
  #srcCounts = 0;
  #dstCounts = 0;
  #verdict: SampleVerdict = "kept";

  /** A row over `columns`; `paths` gives the tunnel path of an interned path number. */
  constructor(columns: Columns, paths: (path: number) => TunnelHop[]) {
    this.#c = columns;
    this.#paths = paths;
  }

  /** Points the row at the flow in `slot`. */
  at(slot: number): this {
    const c = this.#c;
    const k = c.key;
    const o = slot * KEY_WIDTH;
    const f = c.flags[slot];
    const origA = (f & F_ORIG_IS_A) !== 0;
    const pa = k[o + 11] >>> 16, pb = k[o + 11] & 0xffff;
    this.#slot = slot;
    this.#o = o;
    this.#flags = f;
    this.#proto = k[o] & 255;
    this.#version = (k[o] >> 8) as 4 | 6;
    this.#srcAt = origA ? o + 3 : o + 7;
    this.#dstAt = origA ? o + 7 : o + 3;
    this.#srcPort = origA ? pa : pb;
    this.#dstPort = origA ? pb : pa;
    this.#srcCounts = slot * 6 + (origA ? 0 : 3);
    this.#dstCounts = slot * 6 + (origA ? 3 : 0);
    const verdict = VERDICTS[c.verdict[slot]];
    this.#verdict = verdict === "kept" && (f & F_BIG) === 0 ? "too-short" : verdict;
    return this;
  }

  get start(): number {
    return this.#c.first[this.#slot];
  }
  get end(): number {
    return this.#c.last[this.#slot];
  }
  get duration(): number {
    return this.end - this.start;
  }
  get startTime(): string {
    return isoMicrosCached(this.start);
  }
  get endTime(): string {
    return isoMicrosCached(this.end);
  }
  get srcIp(): string {
    return addressText(this.#version, this.#c.key, this.#srcAt);
  }
  get srcPort(): number {
    return this.#srcPort;
  }
  get dstIp(): string {
    return addressText(this.#version, this.#c.key, this.#dstAt);
  }
  get dstPort(): number {
    return this.#dstPort;
  }
  get ipVersion(): 4 | 6 {
    return this.#version;
  }
  get protocol(): number {
    return this.#proto;
  }
  get transport(): string {
    return transportName(this.#proto);
  }
  get srcPackets(): number {
    return this.#c.count[this.#srcCounts];
  }
  get srcBytes(): number {
    return this.#c.count[this.#srcCounts + 1];
  }
  get srcIpBytes(): number {
    return this.#c.count[this.#srcCounts + 2];
  }
  get dstPackets(): number {
    return this.#c.count[this.#dstCounts];
  }
  get dstBytes(): number {
    return this.#c.count[this.#dstCounts + 1];
  }
  get dstIpBytes(): number {
    return this.#c.count[this.#dstCounts + 2];
  }
  get communityId(): string {
    this.#hashKey();
    return lastCommunityId();
  }
  get vlans(): number[] {
    const word = this.#c.key[this.#o + 1];
    if (word === 0) return [];
    return word >>> 24 > 1 ? [(word >> 12) & 0xfff, word & 0xfff] : [(word >> 12) & 0xfff];
  }
  get tunnel(): TunnelHop[] {
    return this.#paths(this.#c.path[this.#slot]);
  }
  get names(): FlowName[] {
    return this.#c.names[this.#slot] ?? [];
  }
  get sample(): SampleVerdict {
    return this.#verdict;
  }
  get secflow(): { src: string; dst: string } | undefined {
    if (this.#verdict !== "kept") return undefined;
    const ports = this.#secflowEnds();
    const end = (ip: number, port: number) => ports ? `${ipToString(ip)}:${port}` : ipToString(ip);
    return { src: end(ends[0], ends[1]), dst: end(ends[2], ends[3]) };
  }
  get tcpFlags(): { syn: boolean; fin: boolean; rst: boolean } | undefined {
    const f = this.#flags;
    if (this.#proto !== 6) return undefined;
    return { syn: (f & F_SYN) !== 0, fin: (f & (F_FIN_A | F_FIN_B)) !== 0, rst: (f & F_RST) !== 0 };
  }
  get uid(): string | undefined {
    return undefined;
  }
  get fragments(): number | undefined {
    const n = this.#c.fragments[this.#slot];
    return n > 0 ? n : undefined;
  }

  /**
   * The flow as a plain object (every key, in this order, absent ones undefined: one shape), new
   * or `into` filled in.
   */
  toFlow(into?: Flow): Flow {
    const flow = into ?? ({} as Flow);
    flow.start = this.start;
    flow.end = this.end;
    flow.duration = this.duration;
    flow.startTime = this.startTime;
    flow.endTime = this.endTime;
    flow.srcIp = this.srcIp;
    flow.srcPort = this.srcPort;
    flow.dstIp = this.dstIp;
    flow.dstPort = this.dstPort;
    flow.ipVersion = this.ipVersion;
    flow.protocol = this.protocol;
    flow.transport = this.transport;
    flow.srcPackets = this.srcPackets;
    flow.srcBytes = this.srcBytes;
    flow.srcIpBytes = this.srcIpBytes;
    flow.dstPackets = this.dstPackets;
    flow.dstBytes = this.dstBytes;
    flow.dstIpBytes = this.dstIpBytes;
    flow.communityId = this.communityId;
    flow.vlans = this.vlans;
    flow.tunnel = this.tunnel;
    flow.names = this.names;
    flow.sample = this.sample;
    flow.secflow = this.secflow;
    flow.tcpFlags = this.tcpFlags;
    flow.uid = this.uid;
    flow.fragments = this.fragments;
    return flow;
  }

  /** `JSON.stringify` of the row is that of {@link toFlow}'s object. */
  toJSON(): Flow {
    return this.toFlow();
  }

  /** Writes a text field as bytes from the numbers (see {@link TextBytes}); returns the end. */
  putText(field: TextField, buf: Uint8Array, at: number): number {
    const k = this.#c.key;
    switch (field) {
      case TextField.Start:
        return putIsoMicros(this.start, buf, at);
      case TextField.End:
        return putIsoMicros(this.end, buf, at);
      case TextField.SrcIp:
      case TextField.DstIp: {
        const from = field === TextField.SrcIp ? this.#srcAt : this.#dstAt;
        if (this.#version === 4) return putIpv4(k[from] >>> 0, buf, at);
        const text = addressText(6, k, from);
        for (let i = 0; i < text.length; i++) buf[at++] = text.charCodeAt(i);
        return at;
      }
      case TextField.CommunityId:
        this.#hashKey();
        return putLastCommunityId(buf, at);
      case TextField.SecflowSrc:
      case TextField.SecflowDst: {
        const ports = this.#secflowEnds();
        const i = field === TextField.SecflowSrc ? 0 : 2;
        at = putIpv4(ends[i], buf, at);
        if (!ports) return at;
        buf[at++] = 58; // :
        return putInteger(ends[i + 1], buf, at);
      }
    }
  }

  /** Hashes the flow's Community ID input ({@link hashFlowKey}). */
  #hashKey(): void {
    const k = this.#c.key;
    hashFlowKey(
      this.#version,
      k,
      this.#srcAt,
      k,
      this.#dstAt,
      this.#proto,
      this.#srcPort,
      this.#dstPort,
      (this.#flags & F_ONE_WAY) !== 0,
    );
  }

  /**
   * The Secflow a kept flow joins (the session its first packet creates, SECFLOW.md 3) into
   * {@link ends}; whether its ends have ports (ICMP's have none).
   */
  #secflowEnds(): boolean {
    const k = this.#c.key, o = this.#o;
    const firstA = (this.#flags & F_FIRST_FROM_A) !== 0;
    const s = (firstA ? k[o + 3] : k[o + 7]) >>> 0;
    const d = (firstA ? k[o + 7] : k[o + 3]) >>> 0;
    const pa = k[o + 11] >>> 16, pb = k[o + 11] & 0xffff;
    const sp = firstA ? pa : pb, dp = firstA ? pb : pa;
    let sourceIsS: boolean;
    if (this.#proto === 1) sourceIsS = isLocal(s) || !isLocal(d);
    else if (isLocal(s)) {
      if (sp > 49151) sourceIsS = true;
      else if (dp > 49151) sourceIsS = false;
      else if (dp < 1024) sourceIsS = true;
      else sourceIsS = !(dp > sp);
    } else sourceIsS = !(dp > sp);
    ends[0] = sourceIsS ? s : d;
    ends[1] = sourceIsS ? sp : dp;
    ends[2] = sourceIsS ? d : s;
    ends[3] = sourceIsS ? dp : sp;
    return this.#proto !== 1;
  }
}
