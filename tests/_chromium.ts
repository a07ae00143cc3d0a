/**
 * A small Chrome DevTools Protocol client over Deno's built-in WebSocket, driving Debian's
 * headless `chromium` for the browser tests and the report benchmark (no npm dependency: the
 * dozen CDP methods used here are a few lines each). {@link launchChromium} returns null, after
 * saying why, when no chromium binary is installed, so tests can skip.
 * (No tests here.)
 * @module
 */

/** Where chromium is looked for, in order (`CHROMIUM` overrides). */
const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

// Without the background-networking flags Chromium makes connections of its own (and logs the
// refused ones); QUIC and GPU are off because nothing here needs them.
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--disable-extensions",
  "--mute-audio",
  "--remote-debugging-port=0",
];

/** The chromium binary, or null. */
export function chromiumPath(): string | null {
  let override: string | undefined;
  try {
    override = Deno.env.get("CHROMIUM");
  } catch { /* no env permission */ }
  for (const p of override ? [override] : CANDIDATES) {
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch { /* next */ }
  }
  return null;
}

type Params = Record<string, unknown>;
// deno-lint-ignore no-explicit-any
type Result = any;

interface Pending {
  resolve(v: Result): void;
  reject(e: Error): void;
  method: string;
}

/** One DevTools connection; pages are flat sessions on it. */
class Connection {
  #ws: WebSocket;
  #next = 1;
  #pending = new Map<number, Pending>();
  #listeners = new Set<(method: string, params: Result, sessionId?: string) => void>();
  closed: Promise<void>;

  constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (e) => {
      const msg = JSON.parse(String(e.data));
      if (msg.id !== undefined) {
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        if (!p) return;
        if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
        else p.resolve(msg.result);
      } else {
        for (const l of this.#listeners) l(msg.method, msg.params, msg.sessionId);
      }
    };
    this.closed = new Promise((resolve) => {
      ws.onclose = () => {
        for (const p of this.#pending.values()) {
          p.reject(new Error(`${p.method}: connection closed`));
        }
        this.#pending.clear();
        resolve();
      };
    });
  }

  send(method: string, params: Params = {}, sessionId?: string): Promise<Result> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, method });
      this.#ws.send(JSON.stringify({ id, method, params, sessionId }));
    });
  }

  listen(f: (method: string, params: Result, sessionId?: string) => void): () => void {
    this.#listeners.add(f);
    return () => this.#listeners.delete(f);
  }

  close() {
    this.#ws.close();
  }
}

/** A tab. */
export class Page {
  /** Console errors, uncaught exceptions and error log entries (CSP violations, failed loads). */
  readonly errors: string[] = [];
  #conn: Connection;
  #session: string;
  #targetId: string;

  constructor(conn: Connection, session: string, targetId: string) {
    this.#conn = conn;
    this.#session = session;
    this.#targetId = targetId;
    conn.listen((method, params, sessionId) => {
      if (sessionId !== session) return;
      if (method === "Runtime.exceptionThrown") {
        const d = params.exceptionDetails;
        this.errors.push(`exception: ${d.exception?.description ?? d.text}`);
      } else if (method === "Runtime.consoleAPICalled" && params.type === "error") {
        this.errors.push(
          `console.error: ${params.args.map((a: Result) => a.value ?? a.description).join(" ")}`,
        );
      } else if (method === "Log.entryAdded" && params.entry.level === "error") {
        this.errors.push(`log: ${params.entry.text} ${params.entry.url ?? ""}`.trim());
      }
    });
  }

  /** A DevTools command in this tab. */
  send(method: string, params: Params = {}): Promise<Result> {
    return this.#conn.send(method, params, this.#session);
  }

  /** Resolves on the next event `method` of this tab (rejects after `timeoutMs`). */
  waitFor(method: string, timeoutMs = 30_000): Promise<Result> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`timed out waiting for ${method}`));
      }, timeoutMs);
      const stop = this.#conn.listen((m, params, sessionId) => {
        if (sessionId === this.#session && m === method) {
          clearTimeout(timer);
          stop();
          resolve(params);
        }
      });
    });
  }

  /**
   * Navigates and waits for the load event; resolves to the main document's HTTP status (0 for
   * documents without one, such as `about:blank`).
   */
  goto(url: string): Promise<number> {
    return this.navigation(async () => {
      const r = await this.send("Page.navigate", { url });
      if (r.errorText) throw new Error(`navigate ${url}: ${r.errorText}`);
    });
  }

  /** Runs `action` (e.g. a click that submits a form) and waits for the page it loads. */
  async navigation(action: () => Promise<unknown>): Promise<number> {
    let status = 0;
    const stop = this.#conn.listen((m, params, sessionId) => {
      if (
        sessionId === this.#session && m === "Network.responseReceived" &&
        params.type === "Document"
      ) status = params.response.status;
    });
    try {
      const loaded = this.waitFor("Page.loadEventFired");
      await action();
      await loaded;
    } finally {
      stop();
    }
    return status;
  }

  /** Evaluates an expression in the page; resolves to its value (promises awaited). */
  async evaluate<T = Result>(expression: string): Promise<T> {
    const r = await this.send("Runtime.evaluate", {
      expression,
      returnByValue: true,
      awaitPromise: true,
      userGesture: true,
    });
    if (r.exceptionDetails) {
      throw new Error(
        `evaluate: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`,
      );
    }
    return r.result.value as T;
  }

  /** Sets the viewport (CSS pixels). */
  async viewport(width: number, height: number, mobile = false): Promise<void> {
    await this.send("Emulation.setDeviceMetricsOverride", {
      width,
      height,
      deviceScaleFactor: 1,
      mobile,
    });
  }

  /** A PNG of the viewport. */
  async screenshot(): Promise<Uint8Array> {
    const r = await this.send("Page.captureScreenshot", { format: "png" });
    return Uint8Array.from(atob(r.data), (c) => c.charCodeAt(0));
  }

  /** The browser's cookies for `url`, with their attributes. */
  async cookies(url: string): Promise<Result[]> {
    return (await this.send("Network.getCookies", { urls: [url] })).cookies;
  }

  async close(): Promise<void> {
    await this.#conn.send("Target.closeTarget", { targetId: this.#targetId });
  }
}

/** A running headless chromium. */
export interface Browser {
  /** Opens a tab with Page, Runtime, Log and Network events on. */
  newPage(): Promise<Page>;
  /** Ends the browser and removes its profile. */
  close(): Promise<void>;
}

/**
 * Starts headless chromium with a fresh profile and connects to it; null (after a warning naming
 * what is missing) when there is no chromium.
 */
export async function launchChromium(): Promise<Browser | null> {
  const bin = chromiumPath();
  if (!bin) {
    console.warn(
      "skipping browser tests: no chromium (apt-get install chromium, or set CHROMIUM=/path)",
    );
    return null;
  }
  const profile = await Deno.makeTempDir({ prefix: "ns_chromium_" });
  const child = new Deno.Command(bin, {
    args: [...FLAGS, `--user-data-dir=${profile}`, "about:blank"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let ws: WebSocket | undefined;
  try {
    // Chromium writes the port it picked and the browser's path into DevToolsActivePort.
    const deadline = Date.now() + 20_000;
    let lines: string[] = [];
    while (Date.now() < deadline) {
      try {
        lines = (await Deno.readTextFile(`${profile}/DevToolsActivePort`)).split("\n");
        if (lines.length >= 2 && lines[1]) break;
      } catch { /* not yet */ }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (lines.length < 2 || !lines[1]) throw new Error(`${bin} did not open its DevTools port`);
    ws = new WebSocket(`ws://127.0.0.1:${lines[0].trim()}${lines[1].trim()}`);
    await new Promise<void>((resolve, reject) => {
      ws!.onopen = () => resolve();
      ws!.onerror = () => reject(new Error("cannot connect to chromium's DevTools"));
    });
  } catch (e) {
    child.kill("SIGKILL");
    await child.status;
    await Deno.remove(profile, { recursive: true }).catch(() => {});
    throw e;
  }
  const conn = new Connection(ws);
  return {
    async newPage() {
      const { targetId } = await conn.send("Target.createTarget", { url: "about:blank" });
      const { sessionId } = await conn.send("Target.attachToTarget", { targetId, flatten: true });
      const page = new Page(conn, sessionId, targetId);
      await Promise.all([
        page.send("Page.enable"),
        page.send("Runtime.enable"),
        page.send("Log.enable"),
        page.send("Network.enable"),
      ]);
      return page;
    },
    async close() {
      await conn.send("Browser.close").catch(() => {});
      conn.close();
      await conn.closed;
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await child.status;
      clearTimeout(timer);
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}
