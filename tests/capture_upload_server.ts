/**
 * A tiny stand-in for the platform's upload endpoint, for the capture fault tests: listens on
 * 127.0.0.1:PORT (inside the test's network namespace), answers `POST /upload/v1.0/uploader`
 * like the platform, and prints one JSON line per accepted upload. Exits on SIGTERM.
 * Usage: deno run --allow-net=127.0.0.1 capture_upload_server.ts PORT
 */
const port = Number(Deno.args[0]);
const ac = new AbortController();
Deno.addSignalListener("SIGTERM", () => ac.abort());
const server = Deno.serve({
  hostname: "127.0.0.1",
  port,
  signal: ac.signal,
  onListen: () => console.log("ready"),
}, async (req) => {
  const url = new URL(req.url);
  if (req.method !== "POST" || url.pathname !== "/upload/v1.0/uploader") {
    return Response.json({ error: true, body: "not found" }, { status: 404 });
  }
  const form = await req.formData();
  const file = form.get("file");
  const text = file instanceof File ? await file.text() : "";
  let hash = "";
  try {
    hash = JSON.parse(text).hash;
  } catch { /* not a sample */ }
  console.log(JSON.stringify({
    type: form.get("type"),
    fileName: form.get("fileName"),
    apikey: req.headers.get("apikey"),
    hash,
    bytes: text.length,
  }));
  return Response.json({ error: false, body: "Sample uploaded successfully" });
});
await server.finished;
