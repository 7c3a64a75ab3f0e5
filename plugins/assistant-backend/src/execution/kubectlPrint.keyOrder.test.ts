import { sortedKeys } from './kubectlPrint';

/**
 * goyaml.v2's key order as kubectlPrint.ts first wrote it (runs of digits read with a BigInt per
 * digit): the order the faster reading must keep, key set by key set.
 */
function referenceOrder(keys: string[]): string[] {
  const isLetter = (c: number) => /\p{L}/u.test(String.fromCodePoint(c));
  const isDigit = (c: number) => /\p{Nd}/u.test(String.fromCodePoint(c));
  type Info = {
    cps: number[];
    cls: Uint8Array;
    runs: Map<number, { end: number; zero: bigint; one: bigint }>;
  };
  const info = (key: string): Info => {
    const cps = [...key].map(c => c.codePointAt(0)!);
    const cls = new Uint8Array(cps.length);
    for (let i = 0; i < cps.length; i++) {
      const c = cps[i];
      if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) cls[i] = 1;
      else if (c >= 48 && c <= 57) cls[i] = 2;
      else if (c > 127 && isLetter(c)) cls[i] = 1;
      else if (c > 127 && isDigit(c)) cls[i] = 2;
    }
    return { cps, cls, runs: new Map() };
  };
  const runAt = (k: Info, i: number) => {
    let run = k.runs.get(i);
    if (!run) {
      let end = i;
      let zero = 0n;
      let one = 1n;
      for (; end < k.cps.length && k.cls[end] === 2; end++) {
        const d = BigInt(k.cps[end] - 48);
        zero = BigInt.asIntN(64, zero * 10n + d);
        one = BigInt.asIntN(64, one * 10n + d);
      }
      run = { end, zero, one };
      k.runs.set(i, run);
    }
    return run;
  };
  const less = (a: Info, b: Info): boolean => {
    const ar = a.cps;
    const br = b.cps;
    for (let i = 0; i < ar.length && i < br.length; i++) {
      if (ar[i] === br[i]) continue;
      const al = a.cls[i] === 1;
      const bl = b.cls[i] === 1;
      if (al && bl) return ar[i] < br[i];
      if (al || bl) return bl;
      let fromOne = false;
      if (ar[i] === 48 || br[i] === 48) {
        for (let j = i - 1; j >= 0 && a.cls[j] === 2; j--) {
          if (ar[j] !== 48) {
            fromOne = true;
            break;
          }
        }
      }
      const ra = runAt(a, i);
      const rb = runAt(b, i);
      const an = fromOne ? ra.one : ra.zero;
      const bn = fromOne ? rb.one : rb.zero;
      if (an !== bn) return an < bn;
      if (ra.end !== rb.end) return ra.end < rb.end;
      return ar[i] < br[i];
    }
    return ar.length < br.length;
  };
  const infos = new Map(keys.map(k => [k, info(k)]));
  return [...keys].sort((a, b) => {
    const ia = infos.get(a)!;
    const ib = infos.get(b)!;
    if (less(ia, ib)) return -1;
    return less(ib, ia) ? 1 : 0;
  });
}

/** A small seeded generator: the same key sets on every run. */
function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

// ASCII and other decimal digits (Arabic-Indic, Devanagari, a mathematical one beyond the BMP),
// letters of both kinds (one beyond the BMP), and characters that are neither (lone surrogates).
const DIGITS = ['0', '0', '1', '5', '9', '٣', '३', '𝟗'];
const LETTERS = ['a', 'B', 'z', 'é', 'ж', '𝒜'];
const OTHERS = ['-', '.', '_', '/', ' ', '~', '\uD800', '\uDC00'];
/** Runs that pass what int64 holds, and wrap to negative values or to 0. */
const LONG_RUNS = [
  '9223372036854775807',
  '9223372036854775808',
  '18446744073709551615',
  '18446744073709551616',
  '0009223372036854775808',
];

function randomKey(rand: () => number): string {
  const pick = <T>(list: T[]) => list[Math.floor(rand() * list.length)];
  let out = '';
  const parts = 1 + Math.floor(rand() * 5);
  for (let p = 0; p < parts; p++) {
    const kind = rand();
    if (kind < 0.45) {
      // A run of digits: mostly short, some of hundreds.
      const length =
        rand() < 0.8
          ? 1 + Math.floor(rand() * 22)
          : 20 + Math.floor(rand() * 300);
      const ascii = rand() < 0.8;
      for (let i = 0; i < length; i++) {
        out += ascii ? String(Math.floor(rand() * 10)) : pick(DIGITS);
      }
    } else if (kind < 0.55) out += pick(LONG_RUNS);
    else if (kind < 0.8)
      out += pick(LETTERS).repeat(1 + Math.floor(rand() * 3));
    else out += pick(OTHERS);
  }
  return out;
}

describe('kubectl YAML key order', () => {
  it('orders keys as goyaml.v2 does, the same as reading each run of digits with BigInt', () => {
    const rand = random(2024);
    for (let round = 0; round < 3000; round++) {
      const count = 2 + Math.floor(rand() * 40);
      const keys = new Set<string>();
      // Keys that share their start, so that they differ inside runs of digits.
      const stem = rand() < 0.5 ? randomKey(rand) : '';
      while (keys.size < count) keys.add(stem + randomKey(rand));
      const object = Object.fromEntries([...keys].map(k => [k, 1]));
      const expected = referenceOrder(Object.keys(object));
      expect({ round, order: sortedKeys(object) }).toEqual({
        round,
        order: expected,
      });
    }
  });
});
