/**
 * End to end, all through cli.ts subprocesses under their documented permissions: `serve`, then
 * `upload` a capture written here, `wait`, `samples`, `secflows` (the sessions `convertFile`
 * gives), `count`, `aggregate`; then stop `serve`, start it again, and find every sample.
 */
import assert from "node:assert/strict";
import { convertFile } from "../../io/convert.ts";
import { apiPermissions, runCli, serveProcess, tempDir, tinyPcap } from "../api_fixtures.ts";
import { serveTest } from "../_storages.ts";

const KEY = "sk-e2e-secret-1234";

serveTest(
  "e2e: serve, upload a pcap, wait, samples, secflows = convert, count, aggregate, restart",
  async (storage) => {
    const database = storage.database ? ["--database", storage.database] : [];
    await using dir = await tempDir();
    const data = `${dir.path}/data`;
    const pcap = `${dir.path}/capture.pcap`;
    await Deno.writeFile(pcap, tinyPcap(1_700_000_000, 2));
    let server = await serveProcess(data, KEY, database);
    try {
      const cli = (args: string[], ...extra: string[]) =>
        runCli(args, apiPermissions(server.url, ...extra), {
          NETWORKSAGE_API_KEY: KEY,
          NETWORKSAGE_API_URL: server.url,
          NETWORKSAGE_PUBLIC_URL: server.url,
        });
      const ok = async (args: string[], ...extra: string[]) => {
        const run = await cli(args, ...extra);
        assert.equal(run.code, 0, `${args.join(" ")}: ${run.stderr}`);
        assert.ok(!run.stdout.includes(KEY) && !run.stderr.includes(KEY));
        return run.stdout;
      };

      // upload (type detected from the content), then wait by UUID.
      await ok(["upload", pcap], `--allow-read=${pcap}`);
      const [entry] = JSON.parse(await ok(["samples", "--json"]));
      assert.equal(entry.fileName, "capture.pcap");
      assert.equal(entry.fileType, "pcap");
      const meta = JSON.parse(
        await ok(["wait", entry.uuid, "--interval", "0.05", "--timeout", "30", "--json"]),
      );
      assert.equal(meta.trafficDate, "1700000000.0");
      const [processed] = JSON.parse(await ok(["samples", "--json"]));
      assert.equal(processed.processed, true);

      // secflows: the sessions the converter gives, in the platform's shape.
      const converted = await convertFile(pcap);
      assert.ok(converted.sample);
      const secflows = JSON.parse(await ok(["secflows", entry.uuid, "--json"]));
      assert.equal(secflows.length, 3);
      assert.deepEqual(
        secflows.map((s: Record<string, string>) => ({
          src: s.sourceData,
          dst: s.destinationData,
          destinationNameSource: s.destinationNameSource,
          srcPkts: Number(s.sourcePackets),
          srcBytes: Number(s.sourceBytes),
          dstPkts: Number(s.destinationPackets),
          dstBytes: Number(s.destinationBytes),
          relativeStart: Number(s.relativeStart),
          duration: Number(s.duration),
        })),
        converted.sample.flashes.map(({ protocolInformation: _, ...f }) => f),
      );
      assert.equal(meta.trafficDate, converted.sample.trafficDate);
      assert.equal(secflows[0].sourceData, "192.168.1.10:50000");
      assert.equal(secflows[0].destinationData, "93.184.216.34:443");

      // count: one sample holds this flowId; a second upload makes it two.
      const flowId = secflows[0].flowId;
      assert.equal((await ok(["count", flowId])).trim(), "1");
      await ok([
        "upload",
        pcap,
        "--name",
        "again.pcap",
        "--type",
        "pcap",
        "--wait",
        "--interval",
        "0.05",
        "--timeout",
        "30",
      ], `--allow-read=${pcap}`);
      assert.equal((await ok(["count", flowId, "--json"])).trim(), "2");

      // aggregate: every Secflow with its count and (empty) metadata.
      const activities = JSON.parse(await ok(["aggregate", entry.uuid, "--json"]));
      assert.deepEqual(
        activities,
        secflows.map((secflow: unknown) => ({
          secflow,
          destination: {},
          behavior: {},
          event: {},
          flowIdCount: 2,
        })),
      );
      assert.match(
        await ok(["aggregate", entry.uuid]),
        /93\.184\.216\.34:443\s+local:https:small\s+2/,
      );

      // A restart keeps every sample.
      const stopped = await server.stop();
      assert.equal(stopped.code, 0, stopped.stderr);
      server = await serveProcess(data, KEY, database);
      const after = JSON.parse(await ok(["samples", "--json"]));
      assert.deepEqual(
        after.map((e: { fileName: string; processed: boolean }) => [e.fileName, e.processed]),
        [
          ["capture.pcap", true],
          ["again.pcap", true],
        ],
      );
      assert.deepEqual(JSON.parse(await ok(["secflows", entry.uuid, "--json"])), secflows);
    } finally {
      const last = await server.stop();
      assert.equal(last.code, 0, last.stderr);
    }
  },
);
