/**
 * The collector's state directory as a careless user or an attacker may leave it: a names.cache
 * that is a link (to a file the collector, often run as root, must not touch), a FIFO, a file with
 * a bad line, one over the size limit. Each is reported in one line and left exactly as it was;
 * the capture goes on.
 */
import assert from "node:assert/strict";
import { runCli, tempDir } from "./api_fixtures.ts";
import { dnsA, pcapOf, T0, tcp } from "./_pcap.ts";
import { announceSkip, pcapSkipReason } from "./capture_helpers.ts";

const skip = pcapSkipReason();

/** A capture that names a destination (so the run has a cache update to write). */
function namedCapture(): Uint8Array {
  return pcapOf([
    {
      us: T0,
      ip: dnsA({
        server: "192.168.1.1",
        client: "192.168.1.20",
        qname: "www.example.com",
        addrs: ["93.184.216.34"],
      }),
    },
    { us: T0 + 1000, ip: tcp({ src: "192.168.1.20", dst: "93.184.216.34", sp: 50000, dp: 443 }) },
  ]);
}

Deno.test({
  name: "capture: a names.cache that is a link, a FIFO, damaged or too large is left as it is",
  ignore: announceSkip("capture state directory", skip),
  async fn() {
    await using dir = await tempDir();
    const pcap = `${dir.path}/c.pcap`;
    await Deno.writeFile(pcap, namedCapture());
    const run = (state: string) =>
      runCli(
        ["capture", "-r", pcap, "--no-upload", "--output", `${dir.path}/out`, "--state-dir", state],
        ["--allow-ffi", "--allow-read", "--allow-write"],
      );
    // A link to a file outside: not followed, not replaced.
    const victim = `${dir.path}/victim`;
    await Deno.writeTextFile(victim, "root:x:0:0:root:/root:/bin/sh\n");
    await Deno.mkdir(`${dir.path}/s1`);
    await Deno.symlink(victim, `${dir.path}/s1/names.cache`);
    let r = await run(`${dir.path}/s1`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /names\.cache: is a symbolic link; a name cache must be a plain file/);
    assert.equal(await Deno.readTextFile(victim), "root:x:0:0:root:/root:/bin/sh\n");
    assert.match(r.stderr, /window .*: 1 secflows/);
    // One bad line among good ones: the file is kept whole (it was rewritten to this run's names).
    await Deno.mkdir(`${dir.path}/s2`);
    const damaged = "# names\n8.8.8.8 dns.google\nnot a cache line at all\n1.1.1.1 one.one\n";
    await Deno.writeTextFile(`${dir.path}/s2/names.cache`, damaged);
    r = await run(`${dir.path}/s2`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /name cache ignored and left as it is: .*line 3/);
    assert.equal(await Deno.readTextFile(`${dir.path}/s2/names.cache`), damaged);
    // A FIFO: refused at once (reading it blocked forever, deaf to SIGTERM).
    await Deno.mkdir(`${dir.path}/s3`);
    const fifo = await new Deno.Command("mkfifo", { args: [`${dir.path}/s3/names.cache`] })
      .output();
    if (fifo.success) {
      r = await run(`${dir.path}/s3`);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /names\.cache: is not a plain file \(a FIFO or device\?\): not read/);
    }
    // A readable cache is updated as before.
    await Deno.mkdir(`${dir.path}/s4`);
    await Deno.writeTextFile(`${dir.path}/s4/names.cache`, "8.8.8.8 dns.google\n");
    r = await run(`${dir.path}/s4`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      await Deno.readTextFile(`${dir.path}/s4/names.cache`),
      /93\.184\.216\.34 www\.example\.com/,
    );
  },
});
