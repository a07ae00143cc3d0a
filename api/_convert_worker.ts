/**
 * The conversion subprocess of `serve` (see `_convert_pool.ts`): converts one stored upload and
 * writes `{sample, warnings}` as JSON to the output path. Run with read and write permission on
 * the upload's directory only, a V8 heap limit, and this watchdog on its resident memory.
 *
 * Exit codes: 0 converted, 2 the input was refused (message on stderr), 3 over the memory cap.
 * @module
 */
import { defaultConverter } from "./_conversion.ts";
import { toPlatformSecflow } from "./classify.ts";
import type { UploadType } from "./types.ts";

const [input, format, fileName, output, capText, dnsLog] = Deno.args;
const cap = Number(capText);
setInterval(() => {
  if (Deno.memoryUsage().rss > cap) {
    console.error(`over the memory cap of ${Math.round(cap / 1048576)} MiB`);
    Deno.exit(3);
  }
}, 50);

// The server holds our stdin open; EOF means it died (even by SIGKILL): do not outlive it.
(async () => {
  const buf = new Uint8Array(16);
  while ((await Deno.stdin.read(buf)) !== null) { /* nothing is sent */ }
  Deno.exit(4);
})();

try {
  const out = await defaultConverter(input, {
    format: format as UploadType,
    fileName,
    dnsLog: dnsLog || undefined,
  });
  // Classified here, so the server only stores rows: its memory does not grow with the sample.
  const secflows = out.sample ? await Promise.all(out.sample.flashes.map(toPlatformSecflow)) : [];
  const sample = out.sample && { ...out.sample, flashes: [] };
  await Deno.writeTextFile(output, JSON.stringify({ sample, warnings: out.warnings, secflows }), {
    mode: 0o600,
  });
  Deno.exit(0);
} catch (e) {
  console.error((e instanceof Error ? e.message : String(e)).split("\n")[0]);
  Deno.exit(2);
}
