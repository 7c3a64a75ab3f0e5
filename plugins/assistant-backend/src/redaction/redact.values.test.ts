import { withoutValues } from './redact';

/**
 * The values a plan hid are removed from the model's explanation in one pass over it, whatever
 * their number: each was searched for in turn (values × text), exactly as that did.
 */

/** CPU time, in ms (the machine is shared: wall time varies with its load). */
function cpuMs(work: () => void): number {
  const before = process.cpuUsage();
  work();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

const value = (i: number) => `v${String(i).padStart(6, '0')}-Qx7w`;

/** `n` values, and an explanation of `n` sentences naming every tenth of them. */
function explanationCost(n: number): number {
  const values = Array.from({ length: n }, (_, i) => value(i));
  const text = Array.from(
    { length: n },
    (_, i) => `Step ${i} sets it to ${i % 10 ? 'the same' : value(i)} again.`,
  ).join(' ');
  let out = '';
  const ms = cpuMs(() => {
    out = withoutValues(text, values);
  });
  expect(out).toBe(
    Array.from(
      { length: n },
      (_, i) => `Step ${i} sets it to ${i % 10 ? 'the same' : '***'} again.`,
    ).join(' '),
  );
  return ms;
}

/** The old removal, as a reference: each value (and its escaped form) in turn, longest first. */
function removedInTurn(text: string, values: string[]): string {
  const needles = new Set<string>();
  for (const v of values) {
    needles.add(v);
    const escaped = JSON.stringify(v).slice(1, -1);
    if (escaped !== v) needles.add(escaped);
  }
  let out = text;
  for (const v of [...needles].sort((x, y) => y.length - x.length))
    out = out.split(v).join('***');
  return out;
}

describe('removing the values a plan hid from its explanation', () => {
  it('costs in proportion to the text and the values, not their product', () => {
    explanationCost(1000);
    const small = Math.min(...[0, 1, 2].map(() => explanationCost(1000)));
    // Ten times the values and ten times the text: about ten times the work (it was a hundred).
    expect(explanationCost(10000)).toBeLessThan(20 * small + 300);
  });

  it('removes overlapping and nested values exactly as removing each in turn, longest first, does', () => {
    let seed = 11;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const word = (min: number, max: number) =>
      Array.from(
        { length: min + Math.floor(next() * (max - min + 1)) },
        () => 'abc'[Math.floor(next() * 3)],
      ).join('');
    for (let trial = 0; trial < 300; trial++) {
      const values = [
        ...new Set(
          Array.from({ length: 14 }, (_, i) =>
            i % 4 ? word(3, 8) : `${word(30, 40)}"\n`,
          ),
        ),
      ];
      const text = Array.from({ length: 16 }, () => {
        const v = values[Math.floor(next() * values.length)];
        const r = next();
        if (r < 0.4) return v;
        if (r < 0.55) return JSON.stringify(v).slice(1, -1);
        if (r < 0.7) return v.slice(0, Math.floor(next() * v.length));
        return word(1, 5);
      }).join(next() < 0.5 ? '' : ' ');
      // Without key=value pairs or URLs, which scrubText hides afterwards.
      expect({ values, text, out: withoutValues(text, values) }).toEqual({
        values,
        text,
        out: removedInTurn(text, values),
      });
    }
  });
});
