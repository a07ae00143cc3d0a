/**
 * An answer's body read with a size limit. `Response.text()` reads whatever the server sends: a
 * broken or hostile API that streams without end took 12 GB and 49 s before failing with
 * "string too long". Here the body is read chunk by chunk and dropped (the connection cancelled)
 * the moment it passes the limit, or at once when `Content-Length` already says it would.
 * @module
 */

/** The answer was larger than the limit; nothing of it was kept. */
export class AnswerTooLargeError extends Error {
  constructor(readonly status: number, readonly limit: number, readonly declared?: number) {
    super(
      `the answer is larger than ${mebibytes(limit)}${
        declared === undefined ? "" : ` (Content-Length ${declared})`
      }: not read`,
    );
    this.name = "AnswerTooLargeError";
  }
}

/** The body of `response` as text, read up to `limit` bytes; {@link AnswerTooLargeError} past it. */
export async function boundedText(response: Response, limit: number): Promise<string> {
  const declared = Number(response.headers.get("content-length") ?? NaN);
  if (declared > limit) {
    await response.body?.cancel().catch(() => {});
    throw new AnswerTooLargeError(response.status, limit, declared);
  }
  if (!response.body) return "";
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new AnswerTooLargeError(response.status, limit);
    }
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}

function mebibytes(bytes: number): string {
  return bytes >= 1 << 20 && bytes % (1 << 20) === 0
    ? `${bytes / (1 << 20)} MiB`
    : `${bytes} bytes`;
}
