/**
 * Access to ../shared (the specs' conformance data), which a fresh clone may not have: tests that
 * need it skip with a message naming the missing path.
 * @module
 */
export const SHARED = new URL("../../shared/", import.meta.url).pathname;
export const CONFORMANCE = `${SHARED}conformance/`;

/** Whether something is at `path` (following links). */
export function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** True when the conformance suite is present; otherwise prints why dependent tests skip. */
export const haveConformance: boolean = (() => {
  const ok = existsSync(`${CONFORMANCE}cases.tsv`);
  if (!ok) {
    console.warn(
      `skipping conformance tests: ${CONFORMANCE}cases.tsv not found (../shared is absent)`,
    );
  }
  return ok;
})();

/** A conformance case: input, optional dns.log, optional expected sample (absolute paths). */
export interface ConformanceCase {
  name: string;
  input: string;
  dns?: string;
  expected?: string;
}

/** The cases of ../shared/conformance/cases.tsv. */
export function conformanceCases(): ConformanceCase[] {
  if (!haveConformance) return [];
  return Deno.readTextFileSync(`${CONFORMANCE}cases.tsv`).split("\n")
    .filter((l) => l.trim() && !l.startsWith("#"))
    .map((l) => {
      const [name, input, dns, expected] = l.split("\t");
      return {
        name,
        input: CONFORMANCE + input,
        dns: dns === "-" ? undefined : CONFORMANCE + dns,
        expected: expected === "-" ? undefined : CONFORMANCE + expected,
      };
    });
}
