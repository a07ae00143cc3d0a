/**
 * Window output: where a closed window's sample goes, the moment it closes, whatever uploads are
 * doing. With uploads on, the spool is written first (it is what gets uploaded), then the output
 * directory; with uploads off, the output directory, else `<state>/held/`. A sample counts as
 * written once one of them holds it durably (`_durable.ts`). When none can take it, it stays in
 * memory (the last {@link SinkOptions.memoryWindows} such windows) and writing is retried on every
 * window close and every few seconds; each failure is one line naming the path and the error.
 * @module
 */
import { ensureDir, errorLine, removeStaleTemps, uniqueName, writeUnique } from "./_durable.ts";
import type { Spool } from "./spool.ts";

/** Where a window's sample ended up. */
export type SinkStatus = "saved" | "spooled" | "held" | "memory";

/** Options of {@link WindowSink}. */
export interface SinkOptions {
  /** The output directory, or null for none. */
  outputDir: string | null;
  /** The upload spool when uploading, else null. */
  spool: Spool | null;
  /** Where samples go when uploads are off and the output directory cannot take them. */
  heldDir: string;
  /** Samples kept in memory when no directory can take them (default 8). */
  memoryWindows?: number;
  /** Called once a sample is in the spool (the uploader drains it). */
  onSpooled?: (spoolName: string) => void;
  /** One line per event worth telling. */
  onEvent?: (line: string) => void;
}

/** A sample not yet where it must be. */
interface Waiting {
  name: string;
  /** The name the output directory has it under (`NAME-1.sf` when NAME held another sample). */
  outputName?: string;
  bytes: Uint8Array;
  /** Uploading: the spool has it. Not uploading: the output or held directory has it. */
  safe: boolean;
  /** The output directory has it (or there is none). */
  output: boolean;
  /** Last error line per path, so a retry that fails the same way stays quiet. */
  errors: Map<string, string>;
}

/** What the sink did in this run. */
export interface SinkCounts {
  /** Samples kept in `held/` (uploads off, the output directory could not take them). */
  held: number;
  /** Samples in the output directory but not in the spool (uploads on, the spool refused). */
  unspooled: number;
  /** Samples that no directory could take and that left the memory bound: lost. */
  lost: number;
  /** Samples still in memory (not written anywhere yet). */
  inMemory: number;
}

const RETRY_MS = 2_000;

/** Writes closed windows; see the module comment. */
export class WindowSink {
  readonly #o: SinkOptions;
  readonly #memoryWindows: number;
  readonly #onEvent: (line: string) => void;
  #waiting: Waiting[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #held = 0;
  #lost = 0;
  #unspooled = new Set<string>();

  constructor(options: SinkOptions) {
    this.#o = options;
    this.#memoryWindows = Math.max(1, options.memoryWindows ?? 8);
    this.#onEvent = options.onEvent ?? (() => {});
  }

  /**
   * Creates the output directory (0700 when new), clears temporary files of a crash, and moves
   * samples an earlier run had to hold (`held/`) into the output directory.
   */
  async open(): Promise<void> {
    const dir = this.#o.outputDir;
    if (dir === null) return;
    try {
      await ensureDir(dir);
      await removeStaleTemps(dir);
    } catch (e) {
      // A permission Deno was not given will not come later: say so now, not at every window.
      if (e instanceof Deno.errors.NotCapable) throw e;
      // Not fatal: windows still go to the spool or held/, and the output is retried.
      this.#onEvent(`output directory ${dir}: ${errorLine(e)}`);
      return;
    }
    await removeStaleTemps(this.#o.heldDir).catch(() => 0);
    for (const name of await sampleFiles(this.#o.heldDir)) {
      const from = `${this.#o.heldDir}/${name}`;
      try {
        const to = await writeUnique(dir, name, await Deno.readFile(from));
        await Deno.remove(from);
        this.#onEvent(
          `${name} moved from ${this.#o.heldDir} to ${dir}${to === name ? "" : ` as ${to}`}`,
        );
      } catch (e) {
        this.#onEvent(`${name} stays in ${this.#o.heldDir}: ${errorLine(e)}`);
        this.#held++;
      }
    }
  }

  get counts(): SinkCounts {
    return {
      held: this.#held,
      unspooled: this.#unspooled.size,
      lost: this.#lost,
      inMemory: this.#waiting.filter((w) => !w.safe).length,
    };
  }

  /**
   * Writes one closed window's sample; resolves to where it went and the output path (when the
   * output directory has it). Earlier samples waiting in memory are retried first.
   */
  write(name: string, bytes: Uint8Array): Promise<{ status: SinkStatus; path: string | null }> {
    const run = this.#chain.then(() => this.#write(name, bytes));
    this.#chain = run.catch(() => {});
    return run;
  }

  /** Retries what waits in memory (also done on a timer while anything waits). */
  retry(): Promise<void> {
    const run = this.#chain.then(() => this.#retry());
    this.#chain = run.catch(() => {});
    return run;
  }

  /** Final retry; stops the timer. What is still waiting is reported by {@link counts}. */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.retry();
    for (const w of this.#waiting) {
      if (!w.safe && !(this.#o.spool && w.output)) {
        this.#lost++;
        this.#onEvent(`${w.name} could not be written anywhere and is lost at exit`);
      }
    }
    this.#waiting = [];
  }

  async #write(
    name: string,
    bytes: Uint8Array,
  ): Promise<{ status: SinkStatus; path: string | null }> {
    await this.#retry();
    const { spool, outputDir } = this.#o;
    if (spool && outputDir !== null) {
      // One name everywhere: beside an earlier run's NAME.sf the output gets NAME-1.sf, and the
      // spool (so the upload) takes the same; under NAME the upload was told from the earlier
      // run's upload of NAME only by time, and an interrupted one could be taken for it.
      name = await uniqueName(outputDir, name, bytes).catch(() => name);
    }
    const w: Waiting = {
      name,
      bytes,
      safe: false,
      output: this.#o.outputDir === null,
      errors: new Map(),
    };
    const status = await this.#attempt(w);
    if (!w.safe) this.#keep(w);
    return {
      status,
      path: w.output && this.#o.outputDir !== null ? this.#outputPath(w.outputName ?? name) : null,
    };
  }

  #outputPath(name: string): string {
    return `${this.#o.outputDir}/${name}`;
  }

  /** One try at every place `w` still needs; returns where it is now. */
  async #attempt(w: Waiting): Promise<SinkStatus> {
    const { spool, outputDir } = this.#o;
    if (spool) {
      if (!w.safe) {
        try {
          const spoolName = await spool.add(w.name, w.bytes);
          w.safe = true;
          this.#unspooled.delete(w.name);
          this.#o.onSpooled?.(spoolName);
        } catch (e) {
          this.#failed(w, `${spool.dir}/${w.name}`, e, w.output ? "kept" : "memory");
        }
      }
      if (!w.output && outputDir !== null) {
        try {
          w.outputName = await writeUnique(outputDir, w.name, w.bytes);
          w.output = true;
        } catch (e) {
          this.#failed(w, this.#outputPath(w.name), e, w.safe ? "spool" : "memory");
        }
      }
      if (!w.safe && w.output) this.#unspooled.add(w.name);
      return w.safe ? "spooled" : w.output ? "saved" : "memory";
    }
    if (outputDir !== null) {
      try {
        w.outputName = await writeUnique(outputDir, w.name, w.bytes);
        w.output = w.safe = true;
        return "saved";
      } catch (e) {
        this.#failed(w, this.#outputPath(w.name), e, "held");
      }
    } else {
      w.safe = true; // nowhere to write: the sample only goes to the caller
      return "saved";
    }
    try {
      await ensureDir(this.#o.heldDir, true);
      await writeUnique(this.#o.heldDir, w.name, w.bytes);
      w.safe = true;
      this.#held++;
      return "held";
    } catch (e) {
      this.#failed(w, `${this.#o.heldDir}/${w.name}`, e, "memory");
    }
    return "memory";
  }

  #failed(w: Waiting, path: string, e: unknown, fallback: string): void {
    const error = errorLine(e);
    if (w.errors.get(path) === error) return;
    w.errors.set(path, error);
    const then = {
      kept: `kept in ${this.#outputPath(w.name)} and in memory; spooling is retried`,
      memory: "kept in memory; writing is retried",
      spool: "the spool keeps it",
      held: `trying ${this.#o.heldDir}`,
    }[fallback] ?? fallback;
    this.#onEvent(`cannot write ${path}: ${error}; ${then}`);
  }

  /** Keeps `w` in memory for retries, within the bound (the oldest leaves first). */
  #keep(w: Waiting): void {
    this.#waiting.push(w);
    while (this.#waiting.length > this.#memoryWindows) {
      const old = this.#waiting.shift()!;
      if (old.safe) continue;
      if (old.output) {
        this.#onEvent(
          `${old.name} stays in ${this.#outputPath(old.name)} only: not spooled, not uploaded`,
        );
      } else {
        this.#lost++;
        this.#onEvent(
          `${old.name} is lost: no directory could take it during the last ` +
            `${this.#memoryWindows} windows`,
        );
      }
    }
    this.#timer ??= setInterval(() => this.retry(), RETRY_MS);
  }

  async #retry(): Promise<void> {
    if (this.#waiting.length === 0) return;
    for (const w of this.#waiting) {
      const status = await this.#attempt(w);
      if (w.safe) {
        const where = status === "spooled"
          ? this.#o.spool!.dir
          : status === "held"
          ? this.#o.heldDir
          : this.#o.outputDir;
        this.#onEvent(`${w.name} written to ${where} on retry`);
      }
    }
    this.#waiting = this.#waiting.filter((w) => !w.safe);
    if (this.#waiting.length === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}

/** The `.sf` files of `dir` (none when it does not exist). */
async function sampleFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && e.name.endsWith(".sf") && !e.name.startsWith(".")) names.push(e.name);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return names.sort();
}
