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
 * @module
 */
import { type FirstNames, firstNames, hasPorts, tunnelText } from "./format.ts";
import type { Flow, FlowName } from "./types.ts";

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
    const b = this.#buf;
    let digits = 1;
    for (let v = n; v >= 10; v = Math.floor(v / 10)) digits++;
    let at = this.#at + digits;
    this.#at = at;
    let v = n;
    do {
      const q = Math.floor(v / 10);
      b[--at] = 48 + v - q * 10;
      v = q;
    } while (v > 0);
  }

  /** The flow's ECS line and a newline: the bytes of `flowEcs(f) + "\n"`. */
  /** Reused by {@link write}: no object per line. */
  #first: FirstNames = {};

  write(f: Flow): void {
    const { dns, sni, host } = firstNames(f, this.#first);
    const ports = hasPorts(f.protocol);
    this.#bytes(P_START);
    this.#ascii(f.startTime);
    this.#bytes(P_EVENT);
    this.#ascii(f.startTime);
    this.#bytes(P_END);
    this.#ascii(f.endTime);
    this.#bytes(P_DURATION);
    this.#number(f.duration * 1000);
    this.#bytes(P_SRC_IP);
    this.#string(f.srcIp);
    if (ports) {
      this.#bytes(P_PORT);
      this.#number(f.srcPort);
    }
    this.#bytes(P_PACKETS);
    this.#number(f.srcPackets);
    this.#bytes(P_BYTES);
    this.#number(f.srcIpBytes);
    this.#bytes(P_DST_IP);
    this.#string(f.dstIp);
    if (ports) {
      this.#bytes(P_PORT);
      this.#number(f.dstPort);
    }
    this.#bytes(P_PACKETS);
    this.#number(f.dstPackets);
    this.#bytes(P_BYTES);
    this.#number(f.dstIpBytes);
    if (dns !== undefined) {
      this.#bytes(P_DOMAIN);
      this.#string(dns);
    }
    this.#bytes(P_TRANSPORT);
    this.#string(f.transport);
    this.#bytes(P_IANA);
    this.#number(f.protocol);
    this.#bytes(P_TYPE);
    this.#number(f.ipVersion);
    if (f.communityId) {
      this.#bytes(P_CID);
      this.#string(f.communityId);
    } else this.#bytes(P_NO_CID);
    this.#bytes(P_PACKETS);
    this.#number(f.srcPackets + f.dstPackets);
    this.#bytes(P_BYTES);
    this.#number(f.srcIpBytes + f.dstIpBytes);
    if (f.vlans.length > 0) {
      this.#bytes(P_VLAN);
      this.#number(f.vlans[0]);
      this.#bytes(P_VLAN_END);
    }
    if (f.vlans.length > 1) {
      this.#bytes(P_INNER);
      this.#number(f.vlans[1]);
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
    this.#bytes(P_SAMPLE);
    this.#ascii(f.sample);
    this.#bytes(P_SRC_PAYLOAD);
    this.#number(f.srcBytes);
    this.#bytes(P_DST_PAYLOAD);
    this.#number(f.dstBytes);
    if (f.secflow) {
      this.#bytes(P_SECFLOW);
      this.#string(f.secflow.src);
      this.#bytes(P_SECFLOW_DST);
      this.#string(f.secflow.dst);
      this.#bytes(P_CLOSE1);
    }
    if (f.tunnel.length > 0) {
      this.#bytes(P_TUNNEL);
      this.#string(tunnelText(f.tunnel));
    }
    if (f.names.length > 0) this.#names(f.names);
    if (f.uid !== undefined) {
      this.#bytes(P_UID);
      this.#string(f.uid);
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
