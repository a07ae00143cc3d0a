/**
 * The conversion subprocess of `serve` (see `_subprocess.ts`). Its main thread only watches:
 * the conversion itself runs on a Web Worker (`_subprocess_worker.ts`), so a converter that never
 * yields to timers (a decompression loop fed from memory runs on microtasks) cannot starve the
 * resident-memory check, which ends the whole process past the cap. Run with read and write
 * permission on the upload's directory only, a V8 heap limit, and a low scheduling priority.
 *
 * Exit codes: 0 converted (JSON at the output path), 2 the input was refused (message on
 * stderr), 3 over the memory cap, 4 the server went away.
 * @module
 */
import { setPriority } from "node:os";

// Below the server in the scheduler: on a small machine, requests must not wait for CPU.
try {
  setPriority(0, 10);
} catch { /* not allowed here: run at the server's priority */ }

const [input, format, fileName, output, capText, dnsLog] = Deno.args;
const cap = Number(capText);
setInterval(() => {
  if (Deno.memoryUsage().rss > cap) {
    console.error(`over the memory cap of ${Math.round(cap / 1048576)} MiB`);
    Deno.exit(3);
  }
}, 20);

// The server holds our stdin open; EOF means it died (even by SIGKILL): do not outlive it.
(async () => {
  const buf = new Uint8Array(16);
  while ((await Deno.stdin.read(buf)) !== null) { /* nothing is sent */ }
  Deno.exit(4);
})();

const job = new Worker(new URL("./_subprocess_worker.ts", import.meta.url), { type: "module" });
job.onmessage = (e: MessageEvent<{ ok: boolean; message?: string }>) => {
  if (e.data.ok) Deno.exit(0);
  console.error(e.data.message ?? "the conversion failed");
  Deno.exit(2);
};
job.onerror = (e) => {
  e.preventDefault();
  console.error(e.message.split("\n")[0]);
  Deno.exit(2);
};
job.postMessage({ input, format, fileName, output, dnsLog });
