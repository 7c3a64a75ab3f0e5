import { bareJwtScanSteps, redactObject, scrubText } from './redact';

/**
 * Bare JSON Web Tokens as `scrubText` hides them: `eyJ` where a word starts (after a blank,
 * punctuation, a `-` or a `.`), at least one more base64url character, `.`, at least one, and the
 * signature after a further `.` when there is one (possibly empty).
 */
const header = 'eyJhbGciOiJSUzI1NiIsImtpZCI6Ik1ZIn0';
const payload =
  'eyJpc3MiOiJrdWJlcm5ldGVzIiwic3ViIjoic3lzdGVtOnNlcnZpY2VhY2NvdW50In0';
const signature = 'c2lnbmF0dXJlLXBhcnQ_-x';
const jwt = `${header}.${payload}.${signature}`;

/** The work of the bare JWT scan while `fn` runs, as the scan counts it. */
const stepsOf = (fn: () => unknown) => {
  const before = bareJwtScanSteps();
  fn();
  return bareJwtScanSteps() - before;
};

describe('bare JSON Web Tokens in free text', () => {
  it('hides a whole token, one cut short and one with an empty signature', () => {
    expect(scrubText(`upstream rejected ${jwt} (expired)`)).toBe(
      'upstream rejected *** (expired)',
    );
    expect(scrubText(`token ${header}.${payload} was cut`)).toBe(
      'token *** was cut',
    );
    expect(scrubText(`${header}.${payload}. next`)).toBe('*** next');
    expect(scrubText(`${header}.e`)).toBe('***');
  });

  it('hides a token with the punctuation around it kept', () => {
    expect(scrubText(`"${jwt}",`)).toBe('"***",');
    expect(scrubText(`(${jwt})`)).toBe('(***)');
    expect(scrubText(`[${jwt}]; done.`)).toBe('[***]; done.');
    expect(scrubText(`<${jwt}>`)).toBe('<***>');
    expect(scrubText(`${jwt}.`)).toBe('***.');
    expect(scrubText(`${jwt}.more`)).toBe('***.more');
    expect(scrubText(`a/${jwt}/b`)).toBe('a/***/b');
    expect(scrubText(`é${jwt}`)).toBe('é***');
  });

  it('hides a token inside a longer word where a part of it starts', () => {
    expect(scrubText(`sa-${jwt}`)).toBe('sa-***');
    expect(scrubText(`v1.${jwt}`)).toBe('v1.***');
    expect(scrubText(`${jwt}.${jwt}`)).toBe('***.***');
    expect(scrubText(`eyJ-${jwt}`)).toBe('***');
    expect(scrubText(`${'eyJ-'.repeat(3)}${jwt}`)).toBe('***');
    // After a letter, a digit or `_`, `eyJ` does not start a word: here the payload starts one.
    expect(scrubText(`x${jwt}`)).toBe(`x${header}.***`);
    expect(scrubText(`_${header}.${payload}`)).toBe(`_${header}.${payload}`);
    expect(scrubText(`xeyJa-eyJb.c`)).toBe('xeyJa-***');
  });

  it('leaves text without a token as it is', () => {
    for (const text of [
      'eyJ is how base64 of JSON starts',
      'eyJ.x eyJa. eyJa..b eyJa .b',
      `${header} alone`,
      'pod web-0.shop.svc.cluster.local is ready',
      'image registry.example.com/shop/web:1.2.3-rc.1',
      'eyJ-'.repeat(1000),
      `${'eyJ-'.repeat(1000)}.`,
      `${'-eyJ'.repeat(1000)}..x`,
    ])
      expect(scrubText(text)).toBe(text);
  });

  it('hides what the regular expression it replaces hid, on every text of a sample', () => {
    // The rule as a regular expression: right, but it retried its run from every `eyJ` of `eyJ-eyJ-…`.
    const rule = /\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?/g;
    const pieces = ['eyJ', 'eyJ', 'eyJa', '-', '.', '.', 'a', 'Z', '0', '_'];
    const around = [' ', '(', ')', '"', '/', 'é'];
    // xorshift32, so that the sample is the same on every run.
    let state = 7;
    const random = (n: number) => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) % n;
    };
    const differences: string[] = [];
    let hidden = 0;
    for (let i = 0; i < 20_000; i++) {
      let text = '';
      const length = 1 + random(14);
      for (let j = 0; j < length; j++)
        text +=
          random(8) === 0
            ? around[random(around.length)]
            : pieces[random(pieces.length)];
      if (text.replace(rule, '***') !== text) hidden++;
      if (scrubText(text) !== text.replace(rule, '***'))
        differences.push(
          `${text} → ${scrubText(text)}, not ${text.replace(rule, '***')}`,
        );
    }
    expect(differences).toEqual([]);
    // The sample holds tokens of many shapes, not only text without one.
    expect(hidden).toBeGreaterThan(1000);
  });

  it('scans a long run of `eyJ-` in linear time', () => {
    // Counted, not timed: ten times the text costs about ten times the work, where a scan retried
    // from every `eyJ` of the run costs a hundred times.
    const hostile = [
      (k: number) => ['eyJ-'.repeat(k), 'eyJ-'.repeat(k)],
      (k: number) => [`${'eyJ-'.repeat(k)}.`, `${'eyJ-'.repeat(k)}.`],
      (k: number) => [`${'-eyJ'.repeat(k)}.x`, '-***'],
      (k: number) => ['eyJa.'.repeat(k), '***.'.repeat(k / 3)],
      (k: number) => [`${'eyJ.'.repeat(k)}`, `${'eyJ.'.repeat(k)}`],
      (k: number) => [`x${'eyJ'.repeat(k)}.a`, `x${'eyJ'.repeat(k)}.a`],
    ];
    const superLinear = hostile.flatMap(textOf => {
      const [small, smallShown] = textOf(3_000);
      const [large, largeShown] = textOf(30_000);
      expect(scrubText(small)).toBe(smallShown);
      expect(scrubText(large)).toBe(largeShown);
      const times =
        stepsOf(() => scrubText(large)) / stepsOf(() => scrubText(small));
      return times < 20
        ? []
        : [`${large.slice(0, 12)}…: ${Math.round(times)} times the work`];
    });
    expect(superLinear).toEqual([]);
  });

  it('scans a ConfigMap value of 1 MiB of `eyJ-` in linear time', () => {
    const configMap = (value: string) => ({
      kind: 'ConfigMap',
      metadata: { name: 'app', namespace: 'shop' },
      data: { 'app.conf': value },
    });
    const small = 'eyJ-'.repeat(2 ** 16);
    const large = 'eyJ-'.repeat(2 ** 18);
    let shown: any;
    const times =
      stepsOf(() => {
        shown = redactObject(configMap(large));
      }) / stepsOf(() => redactObject(configMap(small)));
    expect(shown.data['app.conf']).toBe(large);
    expect(times).toBeLessThan(8);
  });
});
