/**
 * ECS lines as bytes: the same text as {@link flowEcs} (the reference; a test compares them),
 * written field by field into one reused buffer instead of built as a string per flow, joined and
 * encoded. On the 300k-packet benchmark capture the string path made ~25 string pieces a line,
 * their join and their encoding, and most of `view --flows --ecs`'s garbage collection.
 *
 * Numbers are written digit by digit when they are safe non-negative integers (every count and
 * time a capture gives), otherwise as `String(n)` gives them. Text is copied byte by byte when it
 * is printable ASCII with no quote or backslash (addresses, times, names almost always); anything
 * else goes through `JSON.stringify` and `TextEncoder.encodeInto`, as the string path encodes it.
 * When the buffer fills it is handed to the sink, even in the middle of a line: the sink is a
 * byte stream (stdout), not a line printer.
 *
 * A flow that can write its text fields itself ({@link TextBytes}: the engine's rows, which hold
 * numbers) writes them from its numbers into the buffer; no string is made for its times,
 * addresses, Community ID or Secflow ends. Every other flow's fields are read as text.
 * @module
 */
import { type FirstNames, firstNames, hasPorts, tunnelText } from "./format.ts";
import { putInteger } from "./text.ts";
import type { Flow, FlowName } from "./types.ts";

/** The text fields a {@link TextBytes} flow writes itself. */
export const enum TextField {
  Start,
  End,
  SrcIp,
  DstIp,
  CommunityId,
  SecflowSrc,
  SecflowDst,
}

/**
 * A flow that writes its text fields as bytes: `putText` writes the field's text (what the
 * field's getter would return, never needing a JSON escape, at most 64 bytes) at `at` of `buf`
 * and returns where it ends. `SecflowSrc`/`SecflowDst` are asked only of a kept flow.
 */
export interface TextBytes {
  putText(field: TextField, buf: Uint8Array, at: number): number;
}

const encoder = new TextEncoder();
const latin = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const P_START = latin(`{"@timestamp":"`);
const P_EVENT = latin(
  `","event":{"kind":"event","category":["network"],"type":["connection"],"start":"`,
);
const P_END = latin(`","end":"`);
const P_DURATION = latin(`","duration":`);
const P_SRC_IP = latin(`},"source":{"ip":`);
const P_PORT = latin(`,"port":`);
const P_PACKETS = latin(`,"packets":`);
const P_BYTES = latin(`,"bytes":`);
const P_DST_IP = latin(`},"destination":{"ip":`);
const P_DOMAIN = latin(`,"domain":`);
const P_TRANSPORT = latin(`},"network":{"transport":`);
const P_IANA = latin(`,"iana_number":"`);
const P_TYPE = latin(`","type":"ipv`);
const P_CID = latin(`","community_id":`);
const P_NO_CID = latin(`"`);
const P_VLAN = latin(`,"vlan":{"id":"`);
const P_INNER = latin(`,"inner":{"vlan":{"id":"`);
const P_TLS = latin(`},"tls":{"client":{"server_name":`);
const P_CLOSE2 = latin(`}}`);
const P_URL = latin(`,"url":{"domain":`);
const P_SAMPLE = latin(`,"networksage":{"sample":"`);
const P_SRC_PAYLOAD = latin(`","source_payload_bytes":`);
const P_DST_PAYLOAD = latin(`,"destination_payload_bytes":`);
const P_SECFLOW = latin(`,"secflow":{"src":`);
const P_SECFLOW_DST = latin(`,"dst":`);
const P_TUNNEL = latin(`,"tunnel":`);
const P_NAMES_KEY = latin(`,"names":`);
const P_NAMES = latin(`,"names":[{"name":`);
const P_SOURCE = latin(`,"source":`);
const P_NEXT_NAME = latin(`},{"name":`);
const P_NAMES_END = latin(`}]`);
const P_CLOSE1 = latin(`}`);
const P_VLAN_END = latin(`"}`);
const P_INNER_END = latin(`"}}`);
const P_LINE_END = latin(`}}\n`);
const P_UID = latin(`,"uid":`);

/** Writes ECS lines of flows into a reused buffer, handing full buffers to `sink`. */
export class EcsWriter {
  #buf: Uint8Array;
  #at = 0;
  #sink: (bytes: Uint8Array) => void;

  /** `size`: the buffer's bytes (a line longer than it still fits: the buffer grows). */
  constructor(sink: (bytes: Uint8Array) => void, size = 1 << 20) {
    this.#buf = new Uint8Array(size);
    this.#sink = sink;
  }

  /** Hands what is buffered to the sink. */
  flush(): void {
    if (this.#at > 0) this.#sink(this.#buf.subarray(0, this.#at));
    this.#at = 0;
  }

  /** Room for `n` more bytes. */
  #room(n: number): void {
    if (this.#at + n <= this.#buf.length) return;
    this.flush();
    if (n > this.#buf.length) this.#buf = new Uint8Array(n);
  }

  #bytes(p: Uint8Array): void {
    const n = p.length;
    this.#room(n);
    // A loop, not `set`: these are a few dozen bytes at most, where the builtin's call costs more.
    const b = this.#buf;
    let at = this.#at;
    for (let i = 0; i < n; i++) b[at++] = p[i];
    this.#at = at;
  }

  /** Text written raw, as the string path puts it in (times, digits, verdicts: ASCII). */
  #ascii(s: string): void {
    const n = s.length;
    this.#room(n);
    const b = this.#buf;
    let at = this.#at;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) return this.#encoded(s);
      b[at++] = c;
    }
    this.#at = at;
  }

  /** A JSON string literal of `s`, byte for byte what `JSON.stringify(s)` encodes to. */
  #string(s: string): void {
    const n = s.length;
    this.#room(n + 2);
    const b = this.#buf;
    let at = this.#at;
    b[at++] = 34;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 34 || c === 92) return this.#slowString(s);
      b[at++] = c;
    }
    b[at++] = 34;
    this.#at = at;
  }

  #slowString(s: string): void {
    this.#encoded(JSON.stringify(s));
  }

  /** Any text, as UTF-8. */
  #encoded(text: string): void {
    this.#room(text.length * 3);
    this.#at += encoder.encodeInto(text, this.#buf.subarray(this.#at)).written;
  }

  /** A number as `${n}` writes it. */
  #number(n: number): void {
    if (!(n >= 0 && n <= Number.MAX_SAFE_INTEGER && Math.floor(n) === n)) {
      return this.#ascii(String(n));
    }
    this.#room(16);
    this.#at = putInteger(n, this.#buf, this.#at);
  }

  /** Reused by {@link write}: no object per line. */
  #first: FirstNames = {};

  /** Writes a field of a {@link TextBytes} flow, raw (`quote`: in JSON quotes). */
  #put(flow: TextBytes, field: TextField, quote: boolean): void {
    this.#room(66);
    const b = this.#buf;
    let at = this.#at;
    if (quote) b[at++] = 34;
    at = flow.putText(field, b, at);
    if (quote) b[at++] = 34;
    this.#at = at;
  }

  /** The flow's ECS line and a newline: the bytes of `flowEcs(f) + "\n"`. */
  write(f: Flow): void {
    const direct = typeof (f as Partial<TextBytes>).putText === "function"
      ? f as unknown as TextBytes
      : undefined;
    const names = f.names;
    const { dns, sni, host } = firstNames(names, this.#first);
    const protocol = f.protocol;
    const ports = hasPorts(protocol);
    const srcPackets = f.srcPackets, srcIpBytes = f.srcIpBytes;
    const dstPackets = f.dstPackets, dstIpBytes = f.dstIpBytes;
    const start = direct ? "" : f.startTime;
    this.#bytes(P_START);
    if (direct) this.#put(direct, TextField.Start, false);
    else this.#ascii(start);
    this.#bytes(P_EVENT);
    if (direct) this.#put(direct, TextField.Start, false);
    else this.#ascii(start);
    this.#bytes(P_END);
    if (direct) this.#put(direct, TextField.End, false);
    else this.#ascii(f.endTime);
    this.#bytes(P_DURATION);
    this.#number(f.duration * 1000);
    this.#bytes(P_SRC_IP);
    if (direct) this.#put(direct, TextField.SrcIp, true);
    else this.#string(f.srcIp);
    if (ports) {
      this.#bytes(P_PORT);
      this.#number(f.srcPort);
    }
    this.#bytes(P_PACKETS);
    this.#number(srcPackets);
    this.#bytes(P_BYTES);
    this.#number(srcIpBytes);
    this.#bytes(P_DST_IP);
    if (direct) this.#put(direct, TextField.DstIp, true);
    else this.#string(f.dstIp);
    if (ports) {
      this.#bytes(P_PORT);
      this.#number(f.dstPort);
    }
    this.#bytes(P_PACKETS);
    this.#number(dstPackets);
    this.#bytes(P_BYTES);
    this.#number(dstIpBytes);
    if (dns !== undefined) {
      this.#bytes(P_DOMAIN);
      this.#string(dns);
    }
    this.#bytes(P_TRANSPORT);
    this.#string(f.transport);
    this.#bytes(P_IANA);
    this.#number(protocol);
    this.#bytes(P_TYPE);
    this.#number(f.ipVersion);
    if (direct) {
      this.#bytes(P_CID);
      this.#put(direct, TextField.CommunityId, true);
    } else {
      const id = f.communityId;
      if (id) {
        this.#bytes(P_CID);
        this.#string(id);
      } else this.#bytes(P_NO_CID);
    }
    this.#bytes(P_PACKETS);
    this.#number(srcPackets + dstPackets);
    this.#bytes(P_BYTES);
    this.#number(srcIpBytes + dstIpBytes);
    const vlans = f.vlans;
    if (vlans.length > 0) {
      this.#bytes(P_VLAN);
      this.#number(vlans[0]);
      this.#bytes(P_VLAN_END);
    }
    if (vlans.length > 1) {
      this.#bytes(P_INNER);
      this.#number(vlans[1]);
      this.#bytes(P_INNER_END);
    }
    if (sni !== undefined) {
      this.#bytes(P_TLS);
      this.#string(sni);
      this.#bytes(P_CLOSE2);
    } else this.#bytes(P_CLOSE1);
    if (host !== undefined) {
      this.#bytes(P_URL);
      this.#string(host.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1"));
      this.#bytes(P_CLOSE1);
    }
    const sample = f.sample;
    this.#bytes(P_SAMPLE);
    this.#ascii(sample);
    this.#bytes(P_SRC_PAYLOAD);
    this.#number(f.srcBytes);
    this.#bytes(P_DST_PAYLOAD);
    this.#number(f.dstBytes);
    if (direct) {
      if (sample === "kept") {
        this.#bytes(P_SECFLOW);
        this.#put(direct, TextField.SecflowSrc, true);
        this.#bytes(P_SECFLOW_DST);
        this.#put(direct, TextField.SecflowDst, true);
        this.#bytes(P_CLOSE1);
      }
    } else {
      const secflow = f.secflow;
      if (secflow) {
        this.#bytes(P_SECFLOW);
        this.#string(secflow.src);
        this.#bytes(P_SECFLOW_DST);
        this.#string(secflow.dst);
        this.#bytes(P_CLOSE1);
      }
    }
    const tunnel = f.tunnel;
    if (tunnel.length > 0) {
      this.#bytes(P_TUNNEL);
      this.#string(tunnelText(tunnel));
    }
    if (names.length > 0) this.#names(names);
    const uid = f.uid;
    if (uid !== undefined) {
      this.#bytes(P_UID);
      this.#string(uid);
    }
    this.#bytes(P_LINE_END);
  }

  /**
   * `,"names":` and the names as `JSON.stringify` writes them: the engine makes each name an
   * object `{ name, source }` with those two keys in that order (any other shape is stringified).
   */
  #names(names: readonly FlowName[]): void {
    for (const n of names) {
      if (!isPlainName(n)) {
        this.#bytes(P_NAMES_KEY);
        this.#encoded(JSON.stringify(names));
        return;
      }
    }
    this.#bytes(P_NAMES);
    for (let i = 0; i < names.length; i++) {
      if (i > 0) this.#bytes(P_NEXT_NAME);
      this.#string(names[i].name);
      this.#bytes(P_SOURCE);
      this.#string(names[i].source);
    }
    this.#bytes(P_NAMES_END);
  }
}

/** Whether `JSON.stringify(n)` is `{"name":…,"source":…}` (both strings, no other keys). */
function isPlainName(n: FlowName): boolean {
  if (typeof n.name !== "string" || typeof n.source !== "string") return false;
  let i = 0;
  for (const k in n) {
    if ((i === 0 && k !== "name") || (i === 1 && k !== "source") || i > 1) return false;
    i++;
  }
  return i === 2;
}
