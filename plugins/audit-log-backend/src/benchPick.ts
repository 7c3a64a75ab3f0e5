/** Deterministic pseudo-random integer in [0, n) for event i and dimension d (benchmark data only). */
export function pick(i: number, d: number, n: number): number {
  let x = Math.imul(i ^ (d * 0x9e3779b9), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  return ((x ^ (x >>> 16)) >>> 0) % n;
}
