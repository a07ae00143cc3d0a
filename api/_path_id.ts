/**
 * What an ID in a URL path may be: any text that is one path segment once percent-encoded. The
 * platform says nothing of its IDs' shape (its own tools make 32-hex sample hashes; a public UUID
 * is base64 that may end in `=`), so the CLI and the client refuse only what cannot be a segment:
 * the empty text, `.` and `..` (a URL resolves them to another path), `/` (two segments once a
 * server decodes it), and whitespace or control characters (never part of an ID someone copied,
 * and invisible in an error line). Everything else is sent percent-encoded.
 * @module
 */

// `\s` is every Unicode space; `\p{Cc}` the C0 and C1 controls; `\p{Cf}` the invisible format
// controls (bidirectional overrides, zero-width characters: two IDs that would look alike);
// `\p{Cs}` a lone surrogate, which no URL can encode.
const UNSAFE = /[\s\p{Cc}\p{Cf}\p{Cs}]/u;

/** What keeps `id` from being one URL path segment, in a few words; null when it can be one. */
export function pathIdProblem(id: string, options: { slash?: boolean } = {}): string | null {
  if (typeof id !== "string") return "is no text";
  if (id === "") return "is empty";
  if (id === "." || id === "..") return `is '${id}', which a URL resolves to another path`;
  if (UNSAFE.test(id)) return "holds whitespace or a control character";
  if (!options.slash && id.includes("/")) return "holds '/', which splits a URL path";
  return null;
}

/** `id` percent-encoded as one path segment (check it with {@link pathIdProblem} first). */
export function pathSegment(id: string): string {
  return encodeURIComponent(id);
}
