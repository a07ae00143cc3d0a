/**
 * The hand-written multipart writer and streaming reader (any chunking, malformed input), and
 * upload type sniffing.
 */
import assert from "node:assert/strict";
import { boundaryOf, multipartBody, MultipartError, readMultipart } from "../../api/multipart.ts";
import { detectUploadType } from "../../api/detect.ts";
import { classifyLocally, flowIdOf } from "../../api/classify.ts";
import { tempDir, tinyPcap } from "../api_fixtures.ts";
import { exitCodeOf } from "../../cli/errors.ts";

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function rechunk(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let o = 0;
  return new ReadableStream({
    pull(c) {
      if (o >= bytes.length) return c.close();
      c.enqueue(bytes.slice(o, o + size));
      o += size;
    },
  });
}

async function parse(bytes: Uint8Array, boundary: string, chunk: number) {
  const parts: { name: string; fileName?: string; data: Uint8Array }[] = [];
  await readMultipart(rechunk(bytes, chunk), boundary, {
    open(info) {
      const bufs: Uint8Array[] = [];
      return {
        write(c) {
          bufs.push(c.slice());
        },
        close() {
          const data = new Uint8Array(bufs.reduce((n, b) => n + b.length, 0));
          let o = 0;
          for (const b of bufs) {
            data.set(b, o);
            o += b.length;
          }
          parts.push({ ...info, data });
        },
      };
    },
  });
  return parts;
}

Deno.test("multipart: written body has the announced length and parses back at any chunking", async () => {
  await using dir = await tempDir();
  // Content full of near-boundaries and CRLFs.
  const payload = new Uint8Array(120_000);
  crypto.getRandomValues(payload.subarray(0, 65536));
  const tricky = new TextEncoder().encode("\r\n--\r\n------networksage\r\n--");
  for (let i = 70_000; i < 119_000; i += 997) payload.set(tricky, i);
  await Deno.writeFile(`${dir.path}/f.bin`, payload);
  await Deno.writeFile(`${dir.path}/empty`, new Uint8Array());
  const body = await multipartBody([
    { name: "type", value: "zeek" },
    { name: "file", fileName: 'we"ird.log', path: `${dir.path}/f.bin` },
    { name: "zeekDnsFile", fileName: "dns_x", path: `${dir.path}/empty` },
  ]);
  const bytes = await collect(body.stream());
  assert.equal(bytes.length, body.length);
  const boundary = boundaryOf(body.contentType)!;
  for (const size of [2, 7, 50, 51, 52, 53, 100, 101, 4096, 1 << 20]) {
    const parts = await parse(bytes, boundary, size);
    assert.deepEqual(parts.map((p) => [p.name, p.fileName]), [
      ["type", undefined],
      ["file", "we%22ird.log"],
      ["zeekDnsFile", "dns_x"],
    ]);
    assert.equal(new TextDecoder().decode(parts[0].data), "zeek");
    assert.deepEqual(parts[1].data, payload);
    assert.equal(parts[2].data.length, 0);
  }
  // A second stream() gives the same bytes again (retries).
  assert.deepEqual(await collect(body.stream()), bytes);
});

Deno.test("multipart: malformed bodies are MultipartErrors", async () => {
  const enc = new TextEncoder();
  const bad = [
    "",
    "x".repeat(5000),
    '--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue', // no closing boundary
    "--B\r\nContent-Type: text/plain\r\n\r\nv\r\n--B--", // no disposition
    "--B\r\nContent-Disposition: form-data\r\n\r\nv\r\n--B--", // no name
    '--Bjunk\r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n--B--',
  ];
  for (const text of bad) {
    await assert.rejects(parse(enc.encode(text), "B", 3), MultipartError, JSON.stringify(text));
  }
  assert.equal(boundaryOf('multipart/form-data; boundary="a b"'), "a b");
  assert.equal(boundaryOf("application/json"), null);
  assert.equal(boundaryOf("multipart/form-data"), null);
});

Deno.test("detect: upload types as convert detects them: gzip looked through, refusals alike", async () => {
  await using dir = await tempDir();
  const enc = new TextEncoder();
  const gz = async (bytes: Uint8Array) =>
    new Uint8Array(
      await new Response(
        new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
          new CompressionStream("gzip"),
        ),
      )
        .arrayBuffer(),
    );
  const cases: [string, Uint8Array, string | RegExp][] = [
    ["le.pcap", tinyPcap(), "pcap"],
    ["le.pcap.gz", await gz(tinyPcap()), "pcap"],
    ["x.sf", enc.encode(' {"hash": "x", "flashes": []}'), "secflow"],
    ["README.md", enc.encode("# A readme\n\nSome text that is no log.\n"), /not a pcap/],
    ["empty", new Uint8Array(), /empty/],
  ];
  for (const [name, bytes, want] of cases) {
    const path = `${dir.path}/${name}`;
    await Deno.writeFile(path, bytes);
    if (typeof want === "string") assert.equal(await detectUploadType(path), want, name);
    else {
      await assert.rejects(() => detectUploadType(path), (e: Error) => {
        assert.match(e.message, want);
        assert.ok(e.message.startsWith(path), e.message);
        assert.equal(exitCodeOf(e), 2, "the CLI exits 2 for it");
        return true;
      });
    }
  }
});

Deno.test("classify: local labels by protocol, port and volume; flowId stable", async () => {
  assert.equal(
    classifyLocally({ dst: "1.2.3.4", protocolInformation: "ICMP", srcBytes: 0, dstBytes: 0 }),
    "local:icmp",
  );
  assert.equal(classifyLocally({ dst: "a:443", srcBytes: 0, dstBytes: 0 }), "local:https:empty");
  assert.equal(classifyLocally({ dst: "a:53", srcBytes: 40, dstBytes: 120 }), "local:dns:small");
  assert.equal(
    classifyLocally({ dst: "a:80", srcBytes: 500, dstBytes: 900_000 }),
    "local:http:medium-download",
  );
  assert.equal(
    classifyLocally({ dst: "a:22", srcBytes: 5e6, dstBytes: 1000 }),
    "local:ssh:large-upload",
  );
  assert.equal(
    classifyLocally({ dst: "a:8443", srcBytes: 2e6, dstBytes: 2e6 }),
    "local:https:large",
  );
  assert.equal(
    classifyLocally({ dst: "a:999", srcBytes: 1, dstBytes: 1 }),
    "local:tcp-udp-999:small",
  );
  assert.equal(classifyLocally({ dst: "a:40000", srcBytes: 1, dstBytes: 1 }), "local:other:small");
  const id = flowIdOf("a:443", "local:https:small");
  assert.match(id, /^[0-9a-f]{32}$/);
  assert.equal(await flowIdOf("a:443", "local:https:small"), id);
  assert.notEqual(await flowIdOf("a:443", "local:https:medium"), id);
});

Deno.test("multipart: a file is streamed in chunks of at most 1 MiB, read only when pulled", async () => {
  await using dir = await tempDir();
  await Deno.writeFile(`${dir.path}/big`, new Uint8Array(5 * 1024 * 1024 + 3));
  const body = await multipartBody([{ name: "file", fileName: "big", path: `${dir.path}/big` }]);
  const reader = body.stream().getReader();
  let largest = 0, total = 0, chunks = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    largest = Math.max(largest, value.length);
    total += value.length;
    chunks++;
  }
  assert.equal(total, body.length);
  assert.ok(largest <= 1024 * 1024, `largest chunk ${largest}`);
  assert.ok(chunks >= 7);
  // Cancelling mid-file closes it (no leaked handle: the test sanitizer would fail otherwise).
  const partial = body.stream().getReader();
  await partial.read();
  await partial.read();
  await partial.cancel();
});
