/** The typed-array pair map the session table is built on. */
import assert from "node:assert/strict";
import { PairMap } from "../../secflow/_pair_map.ts";

Deno.test("PairMap: set, get, replace and forEach agree with a Map across growth", () => {
  const map = new PairMap(4);
  const reference = new Map<string, number>();
  let seed = 12345;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) | 0);
  for (let i = 0; i < 20000; i++) {
    const a = next(); // any int32, negative ones included
    const b = next() & 0xffff;
    const value = i % 7 === 0 ? 0 : i;
    map.set(a, b, value);
    reference.set(`${a}/${b}`, value);
    if (i % 3 === 0) { // replace an existing key
      map.set(a, b, value + 1);
      reference.set(`${a}/${b}`, value + 1);
    }
  }
  assert.equal(map.size, reference.size);
  for (const [key, value] of reference) {
    const [a, b] = key.split("/").map(Number);
    assert.equal(map.get(a, b), value);
  }
  assert.equal(map.get(7, 7), -1);
  let seen = 0;
  map.forEach((a, b, value) => {
    assert.equal(reference.get(`${a}/${b}`), value);
    seen++;
  });
  assert.equal(seen, reference.size);
});
