/**
 * What each endpoint's answer must look like before a caller touches it. The client used to hand
 * the envelope's body on as it came: a server answering `null`, a number or a list with `null`
 * items for a list of uploads made the CLI fail with "Cannot read properties of null", print
 * `[object Object]` as a count, or look up `/secflows/undefined/count`. A check returns null when
 * the body fits, else what it is not, in a few words for the error line.
 * @module
 */

/**
 * The keys of a platform Secflow that every one carries (`PlatformSecflow` in `types.ts`, all
 * strings), in the order the platform lists them; `eventId` comes only with an Event.
 */
export const PLATFORM_SECFLOW_KEYS = [
  "sourceData",
  "destinationData",
  "destinationNameSource",
  "sourcePackets",
  "sourceBytes",
  "destinationPackets",
  "destinationBytes",
  "relativeStart",
  "duration",
  "flowCategory",
  "flowId",
] as const;

/** A check of an answer's body: null when it fits, else a description of the problem. */
export type ShapeCheck = (body: unknown) => string | null;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** An object (metadata, a sample's record). */
export const anObject = (what: string): ShapeCheck => (body) =>
  isObject(body) ? null : `not ${what} (an object), but ${kindOf(body)}`;

/** A list of objects, each with these string fields. */
export const aListOf = (what: string, fields: readonly string[]): ShapeCheck => (body) => {
  if (!Array.isArray(body)) return `not a list of ${what}, but ${kindOf(body)}`;
  for (let i = 0; i < body.length; i++) {
    const item = body[i];
    if (!isObject(item)) return `item ${i} of the list of ${what} is ${kindOf(item)}`;
    for (const f of fields) {
      if (typeof item[f] !== "string") {
        return `item ${i} of the list of ${what} has no ${f} (text), but ${kindOf(item[f])}`;
      }
    }
  }
  return null;
};

/** A whole number of at least 0 (or its decimal text, as some servers send). */
export const aCount: ShapeCheck = (body) =>
  (typeof body === "number" && Number.isSafeInteger(body) && body >= 0) ||
    (typeof body === "string" && /^\d{1,15}$/.test(body))
    ? null
    : `not a count, but ${kindOf(body)}`;

/** A list of aggregated Secflows (endpoint 5): each an object whose `secflow` is an object. */
export const aListOfActivities: ShapeCheck = (body) => {
  if (!Array.isArray(body)) return `not a list of Secflows, but ${kindOf(body)}`;
  for (let i = 0; i < body.length; i++) {
    const item = body[i];
    if (!isObject(item) || !isObject(item.secflow)) {
      return `item ${i} of the list of Secflows has no secflow object`;
    }
  }
  return null;
};

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "string") return v.length > 40 ? "a long text" : `the text ${JSON.stringify(v)}`;
  if (typeof v === "object") return "an object";
  if (typeof v === "number") return `the number ${v}`;
  return typeof v;
}
