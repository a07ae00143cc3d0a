/**
 * What a text input is, from its first (decompressed) bytes: a Zeek log (TSV with or without
 * headers or with a first line of column names, JSON lines, a JSON array; conn or dns) or a
 * Secflow sample. Pure: no I/O.
 * @module
 */
import { kindOfFields, namesOfLine, type ZeekKind, type ZeekShape } from "./_fields.ts";

// The column-name test `detect.ts` applies to JSON keys, public to the rest of secflow/ from here.
export { kindOfFields };

/** What the first bytes of a text input say it is. */
export interface TextSniff {
  /** A Zeek log or a Secflow sample. */
  format: "zeek" | "secflow";
  /** How a Zeek log is written. */
  shape?: ZeekShape;
  /** Which Zeek log it is, when the fields tell. */
  kind: ZeekKind;
}

const decoder = new TextDecoder();

/**
 * Recognises Zeek logs (TSV with or without headers, JSON lines, JSON arrays) and Secflow
 * samples from the first bytes of a (decompressed) input; undefined when it is neither.
 */
export function sniffText(head: Uint8Array): TextSniff | undefined {
  let text = decoder.decode(head.subarray(0, Math.min(head.length, 65536)));
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const trimmed = text.trimStart();
  if (trimmed.startsWith("#")) {
    const path = /^#path[\t ]+(\S+)/m.exec(trimmed)?.[1];
    const fields = /^#fields\t(.*)$/m.exec(trimmed)?.[1]?.split("\t");
    let kind: ZeekKind = fields ? kindOfFields(fields) : "unknown";
    if (kind === "unknown" && path) {
      kind = path === "conn" ? "conn" : path === "dns" ? "dns" : "unknown";
    }
    if (/^#(separator|fields|path|types|open)\b/m.test(trimmed)) {
      return { format: "zeek", shape: "tsv", kind };
    }
    return undefined;
  }
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    const keys = [...trimmed.slice(0, 8192).matchAll(/"([A-Za-z_][\w.]*)"\s*:/g)].map((m) => m[1]);
    if (trimmed.startsWith("{") && /^\{\s*"hash"\s*:/.test(trimmed)) {
      return { format: "secflow", kind: "unknown" };
    }
    if (keys.includes("flashes") && keys.includes("trafficDate")) {
      return { format: "secflow", kind: "unknown" };
    }
    if (
      keys.includes("ts") || keys.includes("uid") || keys.includes("id.orig_h") ||
      keys.includes("orig_h")
    ) {
      const nested = keys.includes("orig_h") && !keys.includes("id.orig_h");
      const flat = nested
        ? keys.map((k) => (k === "orig_h" || k === "resp_h" ? `id.${k}` : k))
        : keys;
      return {
        format: "zeek",
        shape: trimmed.startsWith("[") ? "json-array" : "json",
        kind: kindOfFields(flat),
      };
    }
    return undefined;
  }
  const line = trimmed.split("\n", 1)[0].replace(/\r$/, "");
  // A first line of Zeek's column names instead of `#fields` (exports of Zeek-based tools).
  const names = namesOfLine(line);
  if (names) return { format: "zeek", shape: "tsv", kind: kindOfFields(names) };
  // Headerless TSV: tab-separated, first field a timestamp, then an address a few columns on.
  const cols = line.split("\t");
  if (cols.length >= 6 && /^\d+(\.\d+)?$/.test(cols[0]) && /[.:]/.test(cols[2])) {
    return { format: "zeek", shape: "tsv", kind: cols.length >= 23 ? "dns" : "conn" };
  }
  return undefined;
}
