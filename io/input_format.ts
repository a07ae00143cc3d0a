/**
 * What an input is, from its content (never its name): the {@link InputFormat} of a detection,
 * an asked-for format checked against what the content shows for certain, and the one-line
 * {@link InputError} for content that is none of them.
 * @module
 */
import { describeStart } from "../secflow/capture_reader.ts";
import { gunzipIfNeeded } from "../secflow/gzip.ts";
import { detect, type Detection } from "../secflow/detect.ts";
import { InputError } from "../secflow/errors.ts";
import { printable } from "../secflow/printable.ts";
import { type InputSource, openSource } from "./files.ts";

/** Input formats the converter accepts. */
export type InputFormat = "pcap" | "pcapng" | "zeek" | "secflow";

/** Every {@link InputFormat}, in the order help texts list them. */
export const INPUT_FORMATS: readonly InputFormat[] = ["pcap", "pcapng", "zeek", "secflow"];

const WHAT = "not a pcap or pcapng capture, Zeek log or Secflow sample";

/** The input format of a detection, or an {@link InputError} that says what the input is not. */
export function formatOf(name: string, d: Detection, rawHead: Uint8Array): InputFormat {
  const shown = printable(name);
  if (rawHead.length === 0) {
    throw new InputError(`${shown}: the file is empty, ${WHAT}`, { kind: "empty", file: name });
  }
  switch (d.kind) {
    case "pcap":
    case "pcapng":
    case "secflow":
      return d.kind;
    case "zeek":
    case "zeek-conn":
    case "zeek-dns":
      return "zeek";
  }
  if (d.gzip && d.content.length === 0) {
    throw new InputError(`${shown}: gzip data that cannot be read (damaged or cut short)`, {
      kind: "damaged",
      file: name,
    });
  }
  throw new InputError(`${shown}: ${WHAT} (${describeStart(d.gzip ? d.content : rawHead)})`, {
    kind: "unrecognised",
    file: name,
  });
}

/**
 * The format to read `source` as: the detected one, or the one asked for, which must not
 * contradict a format the content shows for certain (a pcap read as a Zeek log gave a "malformed
 * record" and nothing else). Content nothing recognises is read as asked.
 */
export async function formatFor(
  source: InputSource,
  asked?: InputFormat,
  detection?: Detection,
): Promise<InputFormat> {
  detection ??= await detect(source.head);
  if (detection.gzip && detection.content.length === 0) await throwGzipFault(source);
  if (asked === undefined) return formatOf(source.name, detection, source.head);
  const kind = detection.kind;
  const shown: InputFormat | undefined = kind === "unknown"
    ? undefined
    : kind.startsWith("zeek")
    ? "zeek"
    : kind as InputFormat;
  // pcap and pcapng are told apart by the capture reader, with its own message.
  const captures = (f?: InputFormat) => f === "pcap" || f === "pcapng";
  if (shown !== undefined && shown !== asked && !(captures(shown) && captures(asked))) {
    throw new InputError(
      `${printable(source.name)}: asked to read it as ${describeFormat(asked)}, but the content ` +
        `is ${describeFormat(shown)}`,
      { kind: "mismatch", file: source.name, value: shown },
    );
  }
  return asked;
}

/**
 * A gzip input whose head gave no content at all: the decompressor's own error, with its offset
 * and (for gzip files joined with `cat`) its advice. Detection alone only knows that nothing came
 * out, and a small file is all head.
 */
async function throwGzipFault(source: InputSource): Promise<void> {
  for await (const _ of gunzipIfNeeded([source.head], source.name)) return;
}

function describeFormat(format: InputFormat): string {
  return format === "zeek"
    ? "a Zeek log"
    : format === "secflow"
    ? "a Secflow sample"
    : `a ${format} capture`;
}

/**
 * Detects the format of the file at `path` from its content (never its name): pcap, pcapng, Zeek
 * TSV or JSON, or a Secflow sample; gzip-compressed files are looked through. With `asked`, the
 * file is to be read as that format: it is returned unless the content is certainly another one
 * (an `InputError` of kind `mismatch`, as `convertFile` with that `format` throws).
 */
export async function detectFormat(path: string, asked?: InputFormat): Promise<InputFormat> {
  return await formatFor(await openSource(path), asked);
}

/**
 * {@link detectFormat} for a file to be converted on its own (an upload): a Zeek dns.log alone
 * is refused as `convertFile` refuses it (it names destinations; Secflows come from the
 * conn.log).
 */
export async function detectConvertible(path: string, asked?: InputFormat): Promise<InputFormat> {
  const source = await openSource(path);
  const detection = await detect(source.head);
  const format = await formatFor(source, asked, detection);
  if (format === "zeek" && detection.kind === "zeek-dns") {
    const { wrongLog } = await import("../secflow/zeek/_log_reader.ts");
    throw wrongLog(source.name, "dns", "conn");
  }
  return format;
}
