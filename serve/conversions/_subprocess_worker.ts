/**
 * The Web Worker of a conversion subprocess (`_subprocess_main.ts`): converts one stored upload,
 * classifies its Secflows and writes them as JSON lines (0600) to `output` ({@link writeResult}).
 * Classified here, so the server only stores rows: its memory does not grow with the sample.
 * @module
 */
import { type ConversionOutput, defaultConverter } from "./converter.ts";
import { toPlatformSecflow } from "../../api/classify.ts";
import type { UploadType } from "../../api/types.ts";

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
    await writeResult(data.output, out);
    scope.postMessage({ ok: true });
  } catch (e) {
    scope.postMessage({
      ok: false,
      message: (e instanceof Error ? e.message : String(e)).split("\n")[0],
    });
  }
};

/**
 * The result as JSON lines: `{sample, warnings}` (the sample without its flashes), then one
 * platform Secflow per line, each flash classified and let go as it is written. Never one string
 * of the whole result: a 300k-Secflow sample's was 98 MB, held twice (text and bytes).
 */
async function writeResult(output: string, out: ConversionOutput): Promise<void> {
  using file = await Deno.open(output, { write: true, create: true, truncate: true, mode: 0o600 });
  const encoder = new TextEncoder();
  let text = JSON.stringify({
    sample: out.sample && { ...out.sample, flashes: [] },
    warnings: out.warnings,
  }) + "\n";
  const flashes = out.sample?.flashes ?? [];
  for (let i = 0; i < flashes.length; i++) {
    text += JSON.stringify(toPlatformSecflow(flashes[i])) + "\n";
    (flashes as unknown[])[i] = undefined;
    if (text.length >= 1 << 20) {
      await writeAll(file, encoder.encode(text));
      text = "";
    }
  }
  await writeAll(file, encoder.encode(text));
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await file.write(bytes.subarray(off));
}
