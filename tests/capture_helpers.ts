/**
 * Helpers of the capture tests: the skip decision, private network namespaces with a veth pair,
 * and child processes whose stderr lines can be awaited. Never touches the root namespace's
 * interfaces and never sends traffic to a real address: replays go out of one veth end inside a
 * namespace the test made, and the namespace is deleted afterwards.
 * @module
 */
import { loadLibpcap } from "../capture/libpcap.ts";

export const REPO = new URL("../", import.meta.url).pathname;
export const CLI = `${REPO}cli.ts`;
export const CONFORMANCE = new URL("../../shared/conformance/", import.meta.url).pathname;

function hasTool(name: string): boolean {
  try {
    const out = new Deno.Command("sh", { args: ["-c", `command -v ${name}`], stdout: "null" })
      .outputSync();
    return out.success;
  } catch {
    return false;
  }
}

/** Why libpcap-only tests (`capture -r`) cannot run here, or undefined. */
export function pcapSkipReason(): string | undefined {
  try {
    loadLibpcap();
  } catch (e) {
    return `libpcap unavailable (${e instanceof Error ? e.message.split(";")[0] : e})`;
  }
  return undefined;
}

/** Why live capture tests cannot run here, or undefined. */
export function liveSkipReason(): string | undefined {
  if (Deno.build.os !== "linux") return "live capture tests need Linux network namespaces";
  if (Deno.uid() !== 0) return "live capture tests need root (network namespaces, raw capture)";
  const pcap = pcapSkipReason();
  if (pcap) return pcap;
  for (const tool of ["tcpreplay", "ip"]) {
    if (!hasTool(tool)) return `${tool} not installed (apt-get install tcpreplay iproute2)`;
  }
  const probe = `nsprobe${Deno.pid}`;
  const add = new Deno.Command("ip", { args: ["netns", "add", probe], stderr: "null" })
    .outputSync();
  if (!add.success) return "cannot create network namespaces here (ip netns add failed)";
  new Deno.Command("ip", { args: ["netns", "del", probe], stderr: "null" }).outputSync();
  return undefined;
}

/** Prints why a test group is skipped (once per reason). */
export function announceSkip(group: string, reason: string | undefined): boolean {
  if (reason) console.log(`SKIP ${group}: ${reason}`);
  return reason !== undefined;
}

/** Runs a command, throwing with its stderr when it fails. */
export async function run(cmd: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

let nsCounter = 0;

/**
 * Creates a namespace holding a veth pair `va` ↔ `vb` (both MTU 65535, up), runs `fn`, and always
 * deletes the namespace.
 */
export async function withNamespace<T>(fn: (ns: string) => Promise<T>): Promise<T> {
  const ns = `nscap${Deno.pid}x${nsCounter++}`;
  await run("ip", "netns", "add", ns);
  try {
    await run("ip", "-n", ns, "link", "set", "lo", "up");
    await run("ip", "-n", ns, "link", "add", "va", "type", "veth", "peer", "name", "vb");
    for (const dev of ["va", "vb"]) {
      await run("ip", "-n", ns, "link", "set", dev, "mtu", "65535", "up");
    }
    return await fn(ns);
  } finally {
    await new Deno.Command("ip", { args: ["netns", "del", ns], stderr: "null" }).output();
  }
}

/** Replays `file` at top speed out of `va` inside `ns`. */
export function replay(ns: string, file: string): Promise<string> {
  return run("ip", "netns", "exec", ns, "tcpreplay", "-q", "-i", "va", "--topspeed", file);
}

/** A child process whose stderr is collected line by line. */
export class Child {
  readonly process: Deno.ChildProcess;
  readonly lines: string[] = [];
  /** When each stderr line arrived (performance.now() ms), parallel to {@link lines}. */
  readonly times: number[] = [];
  readonly stdout: string[] = [];
  #waiters: { re: RegExp; resolve: (line: string) => void }[] = [];
  readonly #done: Promise<void>;

  constructor(cmd: string, args: string[], env: Record<string, string> = {}) {
    this.process = new Deno.Command(cmd, {
      args,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#done = Promise.all([
      this.#pump(this.process.stderr, this.lines),
      this.#pump(this.process.stdout, this.stdout),
    ]).then(() => {});
  }

  async #pump(stream: ReadableStream<Uint8Array>, into: string[]): Promise<void> {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      let nl;
      while ((nl = rest.indexOf("\n")) >= 0) {
        const line = rest.slice(0, nl);
        rest = rest.slice(nl + 1);
        into.push(line);
        if (into === this.lines) this.times.push(performance.now());
        for (const w of [...this.#waiters]) {
          if (w.re.test(line)) {
            this.#waiters.splice(this.#waiters.indexOf(w), 1);
            w.resolve(line);
          }
        }
      }
    }
    if (rest) into.push(rest);
  }

  /** Resolves with the first line (already seen or future, stdout or stderr) matching `re`. */
  waitFor(re: RegExp, timeoutMs = 20_000): Promise<string> {
    const seen = [...this.lines, ...this.stdout].find((l) => re.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.re !== re);
        reject(new Error(`timed out waiting for ${re}; output so far:\n${this.lines.join("\n")}`));
      }, timeoutMs);
      this.#waiters.push({
        re,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  }

  /** Waits for the exit; the status and all output. */
  async finish(): Promise<Deno.CommandStatus> {
    const status = await this.process.status;
    await this.#done;
    return status;
  }

  kill(signal: Deno.Signal = "SIGTERM"): void {
    try {
      this.process.kill(signal);
    } catch { /* already gone */ }
  }
}

/** `deno run` of the CLI inside `ns` (or in this namespace when `ns` is null). */
export function cliInNamespace(
  ns: string | null,
  args: string[],
  env: Record<string, string> = {},
): Child {
  const deno = [Deno.execPath(), "run", "-A", CLI, ...args];
  return ns === null
    ? new Child(deno[0], deno.slice(1), env)
    : new Child("ip", ["netns", "exec", ns, ...deno], env);
}

/** The compared fields of a flash. */
export function flashKey(f: Record<string, unknown>): string {
  return [f.src, f.dst, f.destinationNameSource, f.srcPkts, f.dstPkts, f.srcBytes, f.dstBytes]
    .join("|");
}

/** Sorted keys of every flash in the `.sf` files of `dir`. */
export async function flashKeysIn(dir: string): Promise<{ files: string[]; keys: string[] }> {
  const files: string[] = [];
  const keys: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.name.endsWith(".sf")) continue;
      files.push(e.name);
      const sample = JSON.parse(await Deno.readTextFile(`${dir}/${e.name}`));
      for (const f of sample.flashes) keys.push(flashKey(f));
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return { files: files.sort(), keys: keys.sort() };
}

/** Options of {@link writeWindowedCapture}. */
export interface WindowedCaptureOptions {
  /** Packet time of the first packet, in seconds (names the first sample). */
  startSeconds: number;
  /** Windows of traffic. */
  windows: number;
  /** Window length the capture is meant for, in seconds (default 10). */
  windowSeconds?: number;
  /** TCP flows per window (default 2). */
  flows?: number;
  /** Windows (by index) with this many flows instead. */
  big?: { window: number; flows: number };
}

/**
 * Writes a pcap with traffic in each of `windows` consecutive windows: every window starts with a
 * packet at its first microsecond, so its sample is `linux_<start + k * windowSeconds>.sf`.
 * Returns those names, in order.
 */
export async function writeWindowedCapture(
  path: string,
  o: WindowedCaptureOptions,
): Promise<string[]> {
  const { tcp, pcap } = await import("./_pcap.ts");
  const w = o.windowSeconds ?? 10;
  const records: { us: number; data: Uint8Array }[] = [];
  const names: string[] = [];
  const ether = (ip: Uint8Array) => {
    const f = new Uint8Array(14 + ip.length);
    f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0]);
    f.set(ip, 14);
    return f;
  };
  for (let k = 0; k < o.windows; k++) {
    const start = (o.startSeconds + k * w) * 1e6;
    names.push(`linux_${o.startSeconds + k * w}.sf`);
    const flows = o.big?.window === k ? o.big.flows : o.flows ?? 2;
    for (let f = 0; f < flows; f++) {
      const dst = `93.${(f >> 8) & 255}.${f & 255}.${1 + (k % 250)}`;
      const sp = 40000 + (f % 20000);
      const t = start + f * 10;
      records.push({
        us: t,
        data: ether(tcp({ src: "192.168.1.2", dst, sp, dp: 443, payload: 100 })),
      });
      records.push({
        us: t + 5,
        data: ether(tcp({ src: dst, dst: "192.168.1.2", sp: 443, dp: sp, payload: 1000 })),
      });
    }
  }
  await Deno.writeFile(path, pcap(records));
  return names;
}
