/**
 * The core had two hash tables for one key shape, a pair of int32s: `PairMap` (the engine's:
 * key and value side by side in 4-int slots; now `_pair_map_removed.ts`) and `IntPairTable`
 * (`secflow/_int_table.ts`, the Zeek path's: a dense id per key, the keys in a column of their
 * own, one int slot holding the id and a fingerprint). Issue 23 kept one, the faster on the
 * engine's own use (an endpoint looked up at each new flow and added at its first, ids in
 * insertion order) and at the Zeek path's scale: `deno bench bench/pair_table_bench.ts`
 * (numbers in docs/BENCHMARKS.md).
 *
 * The key stream is shaped like the benchmark capture's (bench/synthetic_bench.ts): a few
 * thousand endpoints live at a time, most lookups hitting one seen before, a new one every
 * fiftieth lookup.
 * @module
 */
import { IntPairTable } from "../secflow/_int_table.ts";
import { PairMap } from "./_pair_map_removed.ts";

/** Lookups per run. */
const LOOKUPS = 1_000_000;

function keyStream(n: number, seed = 7): Int32Array {
  let s = seed;
  const rnd = () => {
    s = (Math.imul(s, 1103515245) + 12345) | 0;
    return (s >>> 8) / 16777216;
  };
  const out = new Int32Array(2 * n);
  const live: [number, number][] = [];
  let next = 0;
  for (let i = 0; i < n; i++) {
    let key: [number, number];
    if (live.length < 2000 || rnd() < 0.02) {
      const ip = (0x0d000000 + Math.floor(rnd() * 0x00ffffff)) | 0;
      key = [ip, 443 + (next++ % 3)];
      if (live.length < 4000) live.push(key);
      else live[Math.floor(rnd() * live.length)] = key;
    } else {
      key = live[Math.floor(rnd() * live.length)];
    }
    out[2 * i] = key[0];
    out[2 * i + 1] = key[1];
  }
  return out;
}

const KEYS = keyStream(LOOKUPS);

Deno.bench("PairMap: get, set on a miss (ids in insertion order)", { group: "pair table" }, () => {
  const t = new PairMap();
  let sum = 0;
  for (let i = 0; i < LOOKUPS; i++) {
    const a = KEYS[2 * i], b = KEYS[2 * i + 1];
    let id = t.get(a, b);
    if (id < 0) {
      id = t.size;
      t.set(a, b, id);
    }
    sum += id;
  }
  if (sum < 0) throw new Error("unreachable");
});

Deno.bench("IntPairTable: findOrAdd", { group: "pair table", baseline: true }, () => {
  const t = new IntPairTable();
  let sum = 0;
  for (let i = 0; i < LOOKUPS; i++) sum += t.findOrAdd(KEYS[2 * i], KEYS[2 * i + 1]);
  if (sum < 0) throw new Error("unreachable");
});

// Lookups only, every key present (the engine's steady state: a packet of a known endpoint).
const filledMap = new PairMap();
const filledTable = new IntPairTable();
for (let i = 0; i < LOOKUPS; i++) {
  const a = KEYS[2 * i], b = KEYS[2 * i + 1];
  if (filledMap.get(a, b) < 0) filledMap.set(a, b, filledMap.size);
  filledTable.findOrAdd(a, b);
}

Deno.bench("PairMap: get, all present", { group: "pair table, hits" }, () => {
  let sum = 0;
  for (let i = 0; i < LOOKUPS; i++) sum += filledMap.get(KEYS[2 * i], KEYS[2 * i + 1]);
  if (sum < 0) throw new Error("unreachable");
});

Deno.bench("IntPairTable: find, all present", { group: "pair table, hits", baseline: true }, () => {
  let sum = 0;
  for (let i = 0; i < LOOKUPS; i++) sum += filledTable.find(KEYS[2 * i], KEYS[2 * i + 1]);
  if (sum < 0) throw new Error("unreachable");
});

// A large table (the Zeek path's scale: a log of a million rows with half a million endpoints),
// where slots no longer fit in cache: PairMap's are 16 bytes, IntPairTable's 4.
const BIG = 500_000;
const BIG_KEYS = (() => {
  const out = new Int32Array(2 * BIG);
  let s = 11;
  for (let i = 0; i < BIG; i++) {
    s = (Math.imul(s, 1103515245) + 12345) | 0;
    out[2 * i] = (0x0d000000 + (s >>> 8)) | 0;
    out[2 * i + 1] = 1024 + (i & 0x7fff);
  }
  return out;
})();

Deno.bench(
  "PairMap: 500k distinct keys added, then each found",
  { group: "pair table, large" },
  () => {
    const t = new PairMap();
    for (let i = 0; i < BIG; i++) t.set(BIG_KEYS[2 * i], BIG_KEYS[2 * i + 1], i);
    let sum = 0;
    for (let i = 0; i < BIG; i++) sum += t.get(BIG_KEYS[2 * i], BIG_KEYS[2 * i + 1]);
    if (sum < 0) throw new Error("unreachable");
  },
);

Deno.bench(
  "IntPairTable: 500k distinct keys added, then each found",
  { group: "pair table, large", baseline: true },
  () => {
    const t = new IntPairTable();
    for (let i = 0; i < BIG; i++) t.findOrAdd(BIG_KEYS[2 * i], BIG_KEYS[2 * i + 1]);
    let sum = 0;
    for (let i = 0; i < BIG; i++) sum += t.find(BIG_KEYS[2 * i], BIG_KEYS[2 * i + 1]);
    if (sum < 0) throw new Error("unreachable");
  },
);
