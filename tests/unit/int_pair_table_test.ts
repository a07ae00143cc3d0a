/**
 * The one pair table of the core (`secflow/_int_table.ts`), as the flow engine uses it: dense ids
 * in order of first sight (the engine's endpoint and ICMP session numbers are these ids), its keys
 * given back by id, and a table started small that grows past its plan.
 */
import assert from "node:assert/strict";
import { grown, IntPairTable } from "../../secflow/_int_table.ts";

Deno.test("IntPairTable: ids in order of first sight, keys back by id, across growth from 4 slots", () => {
  const table = new IntPairTable(4, 4);
  const reference = new Map<string, number>();
  let seed = 12345;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) | 0);
  for (let i = 0; i < 20000; i++) {
    const a = next(); // any int32, negative ones included
    const b = i % 5 === 0 ? 0 : next() & 0xffff;
    const key = `${a}/${b}`;
    const expected = reference.get(key) ?? reference.size;
    reference.set(key, expected);
    assert.equal(table.findOrAdd(a, b), expected);
    if (i % 3 === 0) assert.equal(table.findOrAdd(a, b), expected, "found again, not added");
  }
  assert.equal(table.size, reference.size);
  for (const [key, id] of reference) {
    const [a, b] = key.split("/").map(Number);
    assert.equal(table.find(a, b), id);
    assert.equal(`${table.keyX(id)}/${table.keyY(id)}`, key);
  }
  assert.equal(table.find(7, 7), -1);
});

Deno.test("IntPairTable: slots must be a power of two", () => {
  assert.throws(() => new IntPairTable(16, 100), RangeError);
});

Deno.test("grown: the one way a typed column grows, at least doubled, values kept, zeros after", () => {
  const f = grown(new Float64Array([1.5, 2.5]), 3);
  assert.ok(f instanceof Float64Array);
  assert.deepEqual([...f], [1.5, 2.5, 0, 0]);
  const big = grown(new Int32Array([7]), 10);
  assert.equal(big.length, 10);
  const same = new Uint8Array(8);
  assert.equal(grown(same, 8), same, "long enough: the column itself");
});
