/**
 * The library's bad-input errors carry the kind docs/LIBRARY.md promises (`unreadable`, `empty`,
 * `unrecognised`, `damaged`, `mismatch`, ...) and name the file in their facts: a program can
 * branch on them instead of parsing messages. (They all came out as `invalid` before.) And the
 * library's writers refuse what would not read back.
 */
import { flashOf } from "../_flash.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  convertFile,
  type Flash,
  InputError,
  type InputErrorKind,
  type Sample,
} from "../../convert.ts";
import { pcapOf, T0, tcp } from "../_pcap.ts";

async function kindOf(
  path: string,
  options: Parameters<typeof convertFile>[1] = {},
): Promise<{ kind: InputErrorKind; file?: string; message: string }> {
  try {
    await convertFile(path, options);
  } catch (e) {
    assert.ok(e instanceof InputError, String(e));
    return { kind: e.kind, file: e.file, message: e.message };
  }
  throw new Error(`${path}: converted, expected an InputError`);
}

async function gzipOf(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(
    await new Response(
      new Blob([bytes as BlobPart]).stream().pipeThrough(
        new CompressionStream("gzip"),
      ),
    ).arrayBuffer(),
  );
}

Deno.test("InputError kinds: unreadable, empty, unrecognised, damaged, mismatch, each naming the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const at = (name: string) => join(dir, name);
    const capture = pcapOf([{
      us: T0,
      ip: tcp({ src: "10.0.0.5", dst: "93.184.216.34", sp: 50000, dp: 443 }),
    }]);
    await Deno.writeFile(at("empty.pcap"), new Uint8Array());
    await Deno.writeTextFile(at("text.pcap"), "hello, this is text\n");
    await Deno.writeFile(at("short.pcap"), capture.subarray(0, 10)); // pcap magic, header cut
    const gz = await gzipOf(capture);
    await Deno.writeFile(at("cut.pcap.gz"), gz.subarray(0, gz.length - 12));
    await Deno.writeFile(at("ok.pcap"), capture);
    await Deno.mkdir(at("folder"));
    await Deno.writeTextFile(at("dns.log"), "#fields\tts\n");

    const cases: [string, Parameters<typeof convertFile>[1], InputErrorKind][] = [
      ["missing.pcap", {}, "unreadable"],
      ["empty.pcap", {}, "empty"],
      ["text.pcap", {}, "unrecognised"],
      ["folder", {}, "unrecognised"], // a directory without a conn.log
      ["short.pcap", {}, "damaged"],
      ["cut.pcap.gz", {}, "damaged"],
      ["ok.pcap", { format: "zeek" }, "mismatch"],
      ["ok.pcap", { dnsLog: at("dns.log") }, "mismatch"],
    ];
    for (const [name, options, kind] of cases) {
      const e = await kindOf(at(name), options);
      assert.equal(e.kind, kind, `${name}: ${e.message}`);
      const named = options?.dnsLog && kind === "mismatch" ? options.dnsLog : at(name);
      assert.equal(e.file, named, `${name}: ${e.message}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeSample refuses a sample that would not read back; formatNameCache a name that would add lines", async () => {
  const { writeSample, formatNameCache, SampleError, parseIPv4 } = await import("../../convert.ts");
  const dir = await Deno.makeTempDir();
  try {
    const flash: Flash = flashOf({ src: "10.0.0.5:50000", srcBytes: 0, dstBytes: 0 });
    const sample: Sample = {
      hash: "0".repeat(32),
      trafficDate: "1.0",
      fileName: "a.sf",
      flashes: [flash],
    };
    await writeSample(`${dir}/ok.sf`, sample);
    const bad = { ...sample, flashes: [{ ...flash, dst: { a: 1 } as unknown as string }] };
    await assert.rejects(() => writeSample(`${dir}/bad.sf`, bad), SampleError);
    assert.equal(await Deno.stat(`${dir}/bad.sf`).catch(() => null), null, "nothing written");
    const ip = parseIPv4("93.184.216.34")!;
    assert.equal(formatNameCache(new Map([[ip, "ok.example"]])), "93.184.216.34 ok.example\n");
    assert.throws(
      () => formatNameCache(new Map([[ip, "ok.example\n8.8.8.8 evil.example"]])),
      RangeError,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("library misuse from plain JavaScript: a wrong argument is a TypeError naming it, null options are none", async () => {
  const { convertFile, convertFileTo } = await import("../../io/convert.ts");
  const { NetworkSageClient } = await import("../../api/client.ts");
  const { createService } = await import("../../serve/server.ts");
  // deno-lint-ignore no-explicit-any
  const loose = (v: unknown) => v as any;
  await assert.rejects(
    () => convertFile(loose(undefined)),
    /convertFile: path must be a file path, not undefined/,
  );
  await assert.rejects(
    () => convertFileTo("x.pcap", loose(5)),
    /convertFileTo: output must be a file path/,
  );
  await assert.rejects(
    () => convertFile("x.pcap", { fileName: loose({}) }),
    /convertFile: fileName must be a non-empty string, not \{\}/,
  );
  await assert.rejects(
    () => convertFile("x.pcap", { format: loose("bogus") }),
    /format must be one of/,
  );
  await assert.rejects(() => convertFile("x.pcap", { maxSecflows: NaN }), RangeError);
  await assert.rejects(() => convertFile("no-such.pcap", loose(null)), /no such file/);
  assert.doesNotThrow(() => new NetworkSageClient(loose(null)));
  await assert.rejects(() => createService(loose(null)), /serve: options must be an object/);
});

Deno.test("library misuse: an empty API key is none, a key that is no string and a window count below 1 are refused", async () => {
  const { NetworkSageClient } = await import("../../api/client.ts");
  const { Collector } = await import("../../capture/collector.ts");
  // deno-lint-ignore no-explicit-any
  const loose = (v: unknown) => v as any;
  assert.equal(new NetworkSageClient({ apiKey: "", useEnv: false }).hasApiKey, false);
  assert.throws(
    () => new NetworkSageClient({ apiKey: loose(5), useEnv: false }),
    /must be a string/,
  );
  for (const windows of [0, -1, NaN, 1.5]) {
    assert.throws(
      () => new Collector({ file: "x.pcap", windows }),
      /windows must be a whole number of at least 1/,
    );
  }
});
