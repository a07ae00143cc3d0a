/**
 * The Web Worker of a conversion subprocess (`_convert_worker.ts`): converts one stored upload,
 * classifies its Secflows and writes `{sample, warnings, secflows}` as JSON (0600) to `output`.
 * Classified here, so the server only stores rows: its memory does not grow with the sample.
 * @module
 */
import { defaultConverter } from "./_conversion.ts";
import { toPlatformSecflow } from "./classify.ts";
import type { UploadType } from "./types.ts";

interface Job {
  input: string;
  format: UploadType;
  fileName: string;
  output: string;
  dnsLog: string;
}

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<Job>) => void) | null;
  postMessage(message: unknown): void;
};

scope.onmessage = async ({ data }) => {
  try {
    const out = await defaultConverter(data.input, {
      format: data.format,
      fileName: data.fileName,
      dnsLog: data.dnsLog || undefined,
    });
    const secflows = out.sample ? await Promise.all(out.sample.flashes.map(toPlatformSecflow)) : [];
    const sample = out.sample && { ...out.sample, flashes: [] };
    await Deno.writeTextFile(
      data.output,
      JSON.stringify({ sample, warnings: out.warnings, secflows }),
      { mode: 0o600 },
    );
    scope.postMessage({ ok: true });
  } catch (e) {
    scope.postMessage({
      ok: false,
      message: (e instanceof Error ? e.message : String(e)).split("\n")[0],
    });
  }
};
