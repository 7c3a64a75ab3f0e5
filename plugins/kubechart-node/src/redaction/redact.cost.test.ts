import { InputError } from '@backstage/errors';
import {
  MAX_SECRET_VALUES,
  collectManifestSecretValues,
  collectSecretValues,
  createTextRedactor,
  redactManifest,
} from './redact';

/**
 * Scrubbing known secrets costs the text scrubbed plus what is found in it, not (secrets × strings):
 * one Secret with 8000 distinct values (191 KB) in `POST /policy/check` stalled the event loop 5.2 s,
 * as every string of every object ran one search per form of every secret. The result stays exactly
 * what hiding each secret in turn, longest first, gives.
 */

/** 12 characters, all distinct. */
const value = (i: number) => `s${String(i).padStart(6, '0')}-Qx7w`;
const values = (n: number) => Array.from({ length: n }, (_, i) => value(i));

/** One Secret holding `n` values, and a ConfigMap copying every tenth of them into a URL. */
function manifestOf(n: number): string {
  const secret = [
    'apiVersion: v1',
    'kind: Secret',
    'metadata:',
    '  name: db',
    'stringData:',
    ...values(n).map((v, i) => `  k${i}: ${v}`),
  ];
  const config = [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: app',
    'data:',
    ...Array.from(
      { length: n / 10 },
      (_, j) => `  url${j}: postgres://app:${value(j * 10)}@db/app`,
    ),
    '  note: nothing secret here',
  ];
  return `${secret.join('\n')}\n---\n${config.join('\n')}\n`;
}

/** What redacting `manifestOf(n)` with its values known shows. */
function expectedOf(n: number): string {
  const secret = [
    'apiVersion: v1',
    'kind: Secret',
    'metadata:',
    '  name: db',
    'stringData:',
    ...Array.from({ length: n }, (_, i) => `  k${i}: '***'`),
  ];
  const config = [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: app',
    'data:',
    ...Array.from(
      { length: n / 10 },
      (_, j) => `  url${j}: postgres://app:***@db/app`,
    ),
    '  note: nothing secret here',
  ];
  return `${secret.join('\n')}\n---\n${config.join('\n')}\n`;
}

/** CPU time, in ms (the machine is shared: wall time varies with its load). */
function cpuMs(work: () => void): number {
  const before = process.cpuUsage();
  work();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

/** `n` known secrets, and `n` texts of about 50 characters scrubbed, every tenth holding one. */
function scrubCost(n: number): number {
  const known = values(n);
  const texts = Array.from(
    { length: n },
    (_, i) =>
      `postgres://app:${i % 10 ? 'not-secret' : value(i)}@db/app?ssl=on`,
  );
  let out: string[] = [];
  const ms = cpuMs(() => {
    const scrub = createTextRedactor(known, { keyValuePairs: false });
    out = texts.map(scrub);
  });
  expect(out).toEqual(
    texts.map((t, i) => (i % 10 ? t : t.replace(value(i), '***'))),
  );
  return ms;
}

/** The old scrub of known values, as a reference: each form of each secret in turn, longest first. */
function hiddenInTurn(text: string, secrets: string[]): string {
  const needles = new Set<string>();
  for (const s of secrets) {
    if (s.length < 4) continue;
    needles.add(s);
    const escaped = JSON.stringify(s).slice(1, -1);
    if (escaped !== s) needles.add(escaped);
    const bytes = Buffer.from(s);
    needles.add(bytes.toString('base64'));
    for (let k = 0; k < 3; k++) {
      const encoded = Buffer.concat([Buffer.alloc(k), bytes]).toString(
        'base64',
      );
      const first = Math.ceil((8 * k) / 6);
      const end = Math.floor((8 * (k + bytes.length)) / 6);
      if (end - first >= 8) needles.add(encoded.slice(first, end));
    }
  }
  let out = text;
  for (const n of [...needles].sort((a, b) => b.length - a.length))
    out = out.split(n).join('***');
  return out;
}

/** A small deterministic generator (mulberry32). */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

jest.setTimeout(60_000);

describe('scrubbing many known secrets', () => {
  it('redacts a manifest of 8000 secret values exactly', () => {
    const n = 8000;
    const out = redactManifest(manifestOf(n), {
      scrub: createTextRedactor(values(n), { keyValuePairs: false }),
    });
    expect(out).toBe(expectedOf(n));
  });

  it('scrubs at a cost proportional to the text and the secrets, not their product', () => {
    // Warm up, then the best of three for the small input.
    scrubCost(500);
    const small = Math.min(...[0, 1, 2].map(() => scrubCost(500)));
    // Ten times the secrets and ten times the text: about ten times the work (it was a hundred).
    // The best of three too: one run can pay for a collection of what earlier suites left in this
    // worker (765 ms once, in a full run on two busy cores).
    const large = Math.min(...[0, 1, 2].map(() => scrubCost(5000)));
    expect(large).toBeLessThan(20 * small + 300);
  });

  it('hides overlapping and nested secrets exactly as hiding each in turn, longest first, does', () => {
    const next = random(7);
    const word = (min: number, max: number) =>
      Array.from({ length: min + Math.floor(next() * (max - min + 1)) }, () =>
        next() < 0.5 ? 'a' : 'b',
      ).join('');
    for (let trial = 0; trial < 300; trial++) {
      // Short ones, and long ones (past the 32 characters the automaton holds of each).
      const secrets = [
        ...new Set(
          Array.from({ length: 12 }, (_, i) =>
            i % 4 ? word(4, 10) : word(30, 45),
          ),
        ),
      ];
      const parts: string[] = [];
      for (let p = 0; p < 20; p++) {
        const r = next();
        const s = secrets[Math.floor(next() * secrets.length)];
        if (r < 0.35) parts.push(s);
        else if (r < 0.45)
          // Its first characters only.
          parts.push(s.slice(0, Math.floor(next() * s.length)));
        else if (r < 0.6)
          // A base64 form behind 0, 1 or 2 other bytes, and what follows it.
          parts.push(
            Buffer.from(`${'xy'.slice(0, Math.floor(next() * 3))}${s}`)
              .toString('base64')
              .replace(/=+$/, ''),
          );
        else parts.push(word(1, 6));
      }
      const text = parts.join(next() < 0.5 ? '' : ' ');
      const scrub = createTextRedactor(secrets, { keyValuePairs: false });
      expect({ secrets, text, out: scrub(text) }).toEqual({
        secrets,
        text,
        out: hiddenInTurn(text, secrets),
      });
    }
  });

  it('hides whole, in linear time, a stretch that secrets overlap too much to tell their places apart', () => {
    const known = Array.from({ length: 1000 }, (_, i) => 'a'.repeat(4 + i));
    const text = `x ${'a'.repeat(200_000)}${'.'.repeat(1000)} y ${'a'.repeat(
      3,
    )} z`;
    let out = '';
    const ms = cpuMs(() => {
      out = createTextRedactor(known, { keyValuePairs: false })(text);
    });
    // More than the exact answer (up to the longest secret's length past where one may start),
    // never less; the rest of the text is kept.
    expect(out).toMatch(/^x \*\*\*\.*( y aaa z)$/);
    expect(out).not.toMatch(/aaaa/);
    expect(ms).toBeLessThan(5000);
  });

  it(`refuses more than ${MAX_SECRET_VALUES} secret values from one manifest or values object, naming the limit`, () => {
    const secret = (n: number) => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db' },
      stringData: Object.fromEntries(values(n).map((v, i) => [`k${i}`, v])),
    });
    expect(collectManifestSecretValues([secret(MAX_SECRET_VALUES)])).toEqual(
      values(MAX_SECRET_VALUES),
    );
    const message = `Secret values refused: more than ${MAX_SECRET_VALUES} distinct secret values; the limit maxSecretValues is ${MAX_SECRET_VALUES}`;
    expect(() =>
      collectManifestSecretValues([secret(MAX_SECRET_VALUES + 1)]),
    ).toThrow(new InputError(message));
    expect(() =>
      collectSecretValues({ db: { password: values(MAX_SECRET_VALUES + 1) } }),
    ).toThrow(new InputError(message));
    expect(
      collectSecretValues({ db: { password: values(MAX_SECRET_VALUES) } }),
    ).toHaveLength(MAX_SECRET_VALUES);
  });
});
