/**
 * A small stand-in for the platform's upload endpoints, for the capture tests: endpoint 1
 * (`POST /upload/v1.0/uploader`) stores each upload, endpoint 2 (`GET /upload/v1.0/uploads/list`)
 * lists them with their upload time, and endpoint 3 (`GET /sec/v1.0/samples/{uuid}`) gives each
 * one's metadata with the sample's `hash`, as the platform does. Options make it misbehave the
 * ways the collector must survive: answer late (after storing), refuse bodies over a size with
 * 413, hold an upload unstored (a collector killed mid-upload).
 *
 * Run as a program (`deno run --allow-net=127.0.0.1 capture_upload_server.ts PORT`) it prints
 * `ready`, then one JSON line per stored upload, and exits on SIGTERM.
 * @module
 */

/** One stored upload. */
export interface StoredUpload {
  fileName: string;
  type: string;
  apikey: string;
  hash: string;
  bytes: number;
  /** Epoch ms when it was stored. */
  at: number;
}

/** Options of {@link startTestPlatform}. */
export interface TestPlatformOptions {
  /** Port on 127.0.0.1 (default 0: any free one). */
  port?: number;
  /** Bodies larger than this get 413 and are not stored. */
  maxBytes?: number;
  /** Milliseconds to wait after storing an upload before answering (default 0). */
  answerDelayMs?: () => number;
  /** Accepted API keys (default: any). Others get 401 on both endpoints. */
  keys?: string[];
  /** Called once per stored upload. */
  onStored?: (u: StoredUpload) => void;
}

/** An upload request held by {@link TestPlatform.holdNextUpload}. */
export interface HeldUpload {
  /** Resolves when the request has come in (its body unread). */
  arrived: Promise<void>;
  /** Ends the request with a 503, nothing stored (the sender was killed meanwhile). */
  drop(): void;
}

/** A running stand-in. */
export interface TestPlatform {
  url: string;
  received: StoredUpload[];
  /** The next upload request is held, never stored: a collector killed mid-upload. */
  holdNextUpload(): HeldUpload;
  close(): Promise<void>;
}

/** Starts the stand-in on 127.0.0.1. */
export function startTestPlatform(o: TestPlatformOptions = {}): Promise<TestPlatform> {
  const received: StoredUpload[] = [];
  const ac = new AbortController();
  let hold: { arrived: PromiseWithResolvers<void>; drop: PromiseWithResolvers<void> } | null = null;
  return new Promise((resolve) => {
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: o.port ?? 0,
      signal: ac.signal,
      onListen: ({ port }) =>
        resolve({
          url: `http://127.0.0.1:${port}`,
          received,
          holdNextUpload() {
            const h = {
              arrived: Promise.withResolvers<void>(),
              drop: Promise.withResolvers<void>(),
            };
            hold = h;
            return { arrived: h.arrived.promise, drop: () => h.drop.resolve() };
          },
          close: async () => {
            ac.abort();
            await server.finished;
          },
        }),
    }, async (req) => {
      const url = new URL(req.url);
      if (o.keys && !o.keys.includes(req.headers.get("apikey") ?? "")) {
        await req.body?.cancel();
        return Response.json({ error: true, body: "invalid API key" }, { status: 401 });
      }
      if (req.method === "GET" && url.pathname === "/upload/v1.0/uploads/list") {
        return Response.json({
          error: false,
          body: received.map((u, i) => ({
            fileName: u.fileName,
            processed: true,
            fullS3FilePath: `test://uploads/date=${
              new Date(u.at).toISOString().replace("Z", "")
            }000/${i}/${u.fileName}`,
            dateCreated: "",
            fileType: u.type,
            uuid: String(i),
          })),
        });
      }
      const sample = /^\/sec\/v1\.0\/samples\/([^/]+)$/.exec(url.pathname);
      if (req.method === "GET" && sample) {
        const u = received[Number(decodeURIComponent(sample[1]))];
        if (!u || !/^\d+$/.test(sample[1])) {
          return Response.json({ error: true, body: "no such sample" }, { status: 404 });
        }
        return Response.json({
          error: false,
          body: {
            id: sample[1],
            hash: u.hash,
            fileName: u.fileName,
            dateCreated: "",
            trafficDate: "1800000000.0",
            processed: true,
          },
        });
      }
      if (req.method === "POST" && url.pathname === "/upload/v1.0/uploader" && hold) {
        const h = hold;
        hold = null;
        h.arrived.resolve();
        await h.drop.promise;
        await req.body?.cancel().catch(() => {});
        return Response.json({ error: true, body: "not stored" }, { status: 503 });
      }
      if (req.method !== "POST" || url.pathname !== "/upload/v1.0/uploader") {
        return Response.json({ error: true, body: "not found" }, { status: 404 });
      }
      const body = new Uint8Array(await req.arrayBuffer());
      if (o.maxBytes !== undefined && body.length > o.maxBytes) {
        return Response.json({ error: true, body: "upload too large" }, { status: 413 });
      }
      const form = await new Response(body, { headers: req.headers }).formData();
      const file = form.get("file");
      const text = file instanceof File ? await file.text() : "";
      let hash = "";
      try {
        hash = JSON.parse(text).hash;
      } catch { /* not a sample */ }
      const stored: StoredUpload = {
        type: String(form.get("type")),
        fileName: String(form.get("fileName")),
        apikey: req.headers.get("apikey") ?? "",
        hash,
        bytes: text.length,
        at: Date.now(),
      };
      received.push(stored);
      o.onStored?.(stored);
      const delay = o.answerDelayMs?.() ?? 0;
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      return Response.json({ error: false, body: "Sample uploaded successfully" });
    });
  });
}

if (import.meta.main) {
  const platform = await startTestPlatform({
    port: Number(Deno.args[0]),
    onStored: (u) => console.log(JSON.stringify(u)),
  });
  console.log("ready");
  Deno.addSignalListener("SIGTERM", () => platform.close());
}
