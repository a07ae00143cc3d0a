/**
 * The one content detector (secflow/detect.ts): every kind, gzip looked through, a Zeek JSON log
 * that mentions "flashes" is still a log, and a gzip bomb's head costs nothing.
 */
import assert from "node:assert/strict";
import { detect } from "../../secflow/detect.ts";
import { pcap, pcapng, T0 } from "../_pcap.ts";
import { connTsv, DNS_FIELDS, gzip, tsv } from "../zeek_fixtures.ts";
import { gzipBomb } from "../_child.ts";

const enc = new TextEncoder();

Deno.test("detect: every kind, plain and gzip", async () => {
  const conn = connTsv([{ ts: "1.5", oh: "10.0.0.1", op: 1, rh: "1.1.1.1", rp: 443 }]);
  const dns = tsv("dns", DNS_FIELDS, []);
  const cases: [Uint8Array, string][] = [
    [pcap([{ us: T0, data: new Uint8Array(60) }]), "pcap"],
    [pcapng([{ interfaces: [{ linkType: 1 }], blocks: [] }]), "pcapng"],
    [enc.encode(conn), "zeek-conn"],
    [enc.encode(dns), "zeek-dns"],
    [
      // JSON lines without a conn-only or dns-only field: a Zeek log of unknown kind.
      enc.encode('{"ts": 1.5, "uid": "C1", "id.orig_h": "10.0.0.1", "id.resp_h": "1.1.1.1"}\n'),
      "zeek",
    ],
    [enc.encode('{"hash": "00", "trafficDate": "1.0", "fileName": "x", "flashes": []}'), "secflow"],
    [enc.encode("hello"), "unknown"],
  ];
  for (const [bytes, kind] of cases) {
    assert.equal((await detect(bytes)).kind, kind, kind);
    const zipped = await detect((await gzip(bytes)).subarray(0, 4096));
    assert.equal(zipped.kind, kind, `gzip of ${kind}`);
    assert.ok(zipped.gzip);
  }
});

Deno.test("detect: a Zeek JSON log that mentions flashes and trafficDate is not a sample", async () => {
  const line = JSON.stringify({
    ts: 1700000000.5,
    uid: "C1",
    "id.orig_h": "10.0.0.1",
    "id.orig_p": 5,
    "id.resp_h": "1.1.1.1",
    "id.resp_p": 443,
    proto: "tcp",
    conn_state: "SF",
    orig_pkts: 1,
    resp_pkts: 1,
    history: "ShAD",
    note: '"flashes": [], "trafficDate": "1.0"',
    flashes: 3,
    trafficDate: "x",
  });
  assert.equal((await detect(enc.encode(line + "\n"))).kind, "zeek-conn");
});

Deno.test("detect: the head of a gzip bomb inflates into at most 64 KiB", async () => {
  const bomb = await gzipBomb(enc.encode('{"hash": '), 0x20, 64 << 20);
  const d = await detect(bomb.subarray(0, 65536));
  assert.equal(d.kind, "secflow");
  assert.ok(d.content.length <= 65536);
});
