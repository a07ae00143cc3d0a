/**
 * Receiving one upload (endpoint 1): the multipart body is parsed as it streams in, file parts go
 * to disk chunk by chunk (files 0600 in a 0700 directory), form fields are bounded together with
 * their names, and anything that goes wrong removes what was written at once. A file part with
 * `filename=""` and no bytes is what a browser sends for a file input left empty: no file.
 * @module
 */
import { boundaryOf, MultipartError, type PartWriter, readMultipart } from "./multipart.ts";
import { detectUploadType } from "./detect.ts";
import { UPLOAD_TYPES, type UploadType } from "./types.ts";

/** Limits of one upload. */
export interface IngestLimits {
  /** Body bytes (413 beyond). */
  maxUploadBytes: number;
  /** Form field bytes, names and file names included (default 64 KiB). */
  maxFieldBytes?: number;
  /** Parts (default 16). */
  maxParts?: number;
  /** Header bytes of one part (default 8 KiB). */
  maxPartHeaderBytes?: number;
}

/** A received upload, its files still in `dir`. */
export interface Received {
  dir: string;
  type: UploadType;
  fileName: string;
  hasDns: boolean;
}

/** Why an upload was refused: the status and the envelope's message. */
export class IngestError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

class TooLarge extends Error {}

/** Creates a directory readable by its owner only, whatever the umask. */
export async function privateDir(path: string): Promise<void> {
  await Deno.mkdir(path, { recursive: true, mode: 0o700 });
  await Deno.chmod(path, 0o700);
}

function safeName(name: string): string {
  const base = name.split(/[\\/]/).filter(Boolean).pop() ?? "";
  // deno-lint-ignore no-control-regex
  const clean = base.replace(/[\x00-\x1f\x7f]/g, "").slice(0, 255);
  return clean === "" || clean === "." || clean === ".." ? "upload" : clean;
}

/**
 * Reads the upload in `request` into the new directory `dir` (files `sample` and `dns`). Throws
 * {@link IngestError} for anything the client must be told; `dir` is gone then.
 */
export async function receiveUpload(
  request: Request,
  dir: string,
  limits: IngestLimits,
): Promise<Received> {
  const maxUpload = limits.maxUploadBytes;
  const maxFields = limits.maxFieldBytes ?? 65536;
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > maxUpload) {
    throw new IngestError(413, `upload larger than the limit of ${maxUpload} bytes`);
  }
  const boundary = boundaryOf(request.headers.get("content-type"));
  if (!boundary) {
    throw new IngestError(400, "expected a multipart/form-data body with a boundary");
  }
  if (!request.body) throw new IngestError(400, "empty body");
  await Deno.mkdir(dir, { mode: 0o700 });
  const fields = new Map<string, string>();
  const files = new Map<string, { fileName: string; size: number }>();
  const open = new Set<Deno.FsFile>();
  let fieldBytes = 0;
  let received = 0;
  const countField = (n: number) => {
    fieldBytes += n;
    if (fieldBytes > maxFields) {
      throw new MultipartError(`form fields and names larger than ${maxFields} bytes`);
    }
  };
  const counted = request.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        received += chunk.length;
        if (received > maxUpload) controller.error(new TooLarge());
        else controller.enqueue(chunk);
      },
    }),
  );
  try {
    await readMultipart(counted, boundary, {
      async open(info): Promise<PartWriter> {
        countField(info.name.length + (info.fileName?.length ?? 0));
        if (info.name === "file" || info.name === "zeekDnsFile") {
          if (files.has(info.name)) throw new MultipartError(`two '${info.name}' parts`);
          const path = `${dir}/${info.name === "file" ? "sample" : "dns"}`;
          const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
          open.add(file);
          const record = { fileName: info.fileName ?? "", size: 0 };
          files.set(info.name, record);
          return {
            async write(chunk) {
              record.size += chunk.length;
              let off = 0;
              while (off < chunk.length) off += await file.write(chunk.subarray(off));
            },
            async close() {
              open.delete(file);
              file.close();
              // A browser sends a file input left empty as a part with filename="" and no
              // bytes: that is "no file" (the upload form's optional dns.log), not an empty one.
              if (info.fileName === "" && record.size === 0) {
                files.delete(info.name);
                await Deno.remove(path);
              }
            },
          };
        }
        const parts: Uint8Array[] = [];
        return {
          write(chunk) {
            countField(chunk.length);
            parts.push(chunk);
          },
          close() {
            fields.set(info.name, new TextDecoder().decode(joinBytes(parts)));
          },
        };
      },
    }, { maxParts: limits.maxParts, maxPartHeaderBytes: limits.maxPartHeaderBytes });
  } catch (e) {
    for (const f of open) f.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    if (e instanceof TooLarge) {
      throw new IngestError(413, `upload larger than the limit of ${maxUpload} bytes`);
    }
    if (e instanceof MultipartError) {
      throw new IngestError(400, `malformed multipart body: ${e.message}`);
    }
    // The server's disk full is no fault of the request: 507 (Insufficient Storage) says try
    // later; 400 told the client never to send it again.
    if (isDiskFull(e)) {
      throw new IngestError(507, "the server's disk is full: the upload was not stored; try later");
    }
    throw new IngestError(400, `upload interrupted: ${e instanceof Error ? e.message : e}`);
  }
  try {
    const file = files.get("file");
    if (!file) throw new IngestError(400, "no 'file' part in the upload");
    const fileName = safeName(fields.get("fileName") || file.fileName || "upload");
    let type = fields.get("type")?.trim() as UploadType | undefined;
    if (type === undefined || type === ("" as UploadType)) {
      try {
        type = await detectUploadType(`${dir}/sample`);
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        throw new IngestError(400, message.replaceAll(`${dir}/sample`, fileName));
      }
    }
    if (!UPLOAD_TYPES.includes(type)) {
      throw new IngestError(400, `unknown type '${type}' (expected ${UPLOAD_TYPES.join(", ")})`);
    }
    const hasDns = files.has("zeekDnsFile");
    if (hasDns && type !== "zeek") {
      throw new IngestError(400, "a 'zeekDnsFile' part goes only with type zeek");
    }
    return { dir, type, fileName, hasDns };
  } catch (e) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  }
}

function joinBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Whether `e` says a disk is full (ENOSPC, or a database that cannot grow). */
export function isDiskFull(e: unknown): boolean {
  const text = e instanceof Error
    ? `${(e as { code?: string }).code ?? ""} ${e.message}`
    : String(e);
  return /ENOSPC|No space left on device|database or disk is full/i.test(text);
}
