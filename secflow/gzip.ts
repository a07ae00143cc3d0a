/**
 * Gzip looked through: Zeek rotates logs into `.gz`, and captures travel compressed. Streams only
 * (`DecompressionStream`): nothing is decompressed whole.
 * @module
 */
import { InputError } from "./errors.ts";

/** True when the bytes start with the gzip magic 1f 8b. */
export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/** Passes chunks through, or through a gzip decompressor when the first bytes are 1f 8b. */
export async function* gunzipIfNeeded(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  const it =
    (Symbol.asyncIterator in chunks
      ? (chunks as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
      : (chunks as Iterable<Uint8Array>)[Symbol.iterator]()) as
        | AsyncIterator<Uint8Array>
        | Iterator<Uint8Array>;
  let first = await it.next();
  while (!first.done && first.value.length === 0) first = await it.next();
  if (first.done) return;
  const head = first.value;
  if (!(head[0] === 0x1f && (head.length < 2 || head[1] === 0x8b))) {
    yield head;
    while (true) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  const ds = new DecompressionStream("gzip");
  const writer = ds.writable.getWriter();
  const pump = (async () => {
    try {
      // Copy: callers may reuse their chunk buffer.
      await writer.write(head.slice());
      while (true) {
        const r = await it.next();
        if (r.done) break;
        await writer.write(r.value.slice());
      }
      await writer.close();
    } catch (e) {
      await writer.abort(e).catch(() => {});
    }
  })();
  try {
    for await (const chunk of ds.readable) yield chunk;
  } catch (e) {
    throw new InputError(`gzip data is damaged: ${(e as Error).message.split("\n")[0]}`);
  } finally {
    await pump;
  }
}
