import { performance } from 'node:perf_hooks';
import { PolicyEngine } from './PolicyEngine';
import { KubeObject } from './types';

jest.setTimeout(120_000);

const engine = new PolicyEngine();
const MB = 1_000_000;
const configMap = (value: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'cfg' },
  data: { settings: value },
});
/** `unit` repeated to about 1 MB (whole units only). */
const megabyteOf = (unit: string) => unit.repeat(Math.floor(MB / unit.length));
const secretFindings = (value: string) =>
  engine
    .check([configMap(value)])
    .results.filter(r => r.ruleId === 'no-secret-values' && !r.passed)
    .map(r => r.message);

const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';

/** Milliseconds the policy check of a ConfigMap holding `value` takes: the best of `runs`, stopping once under `enough`. */
function checkMs(value: string, runs: number, enough = 0): number {
  let best = Infinity;
  for (let i = 0; i < runs && best > enough; i++) {
    const started = performance.now();
    secretFindings(value);
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

describe('the secret-value check of a 1 MB ConfigMap value', () => {
  // An ordinary 1 MB configuration file: URLs, assignments, dots, dashes and the odd `eyJ`.
  const benign = megabyteOf(
    'service.eyJ-cache.url=https://cache.example.com:6379/0 # feature-flag_42: enabled; see docs.example.com/x.y\n',
  );
  let benignMs: number;

  beforeAll(() => {
    benignMs = checkMs(benign, 5);
  });

  it('finds nothing in the benign file', () => {
    expect(secretFindings(benign)).toEqual([]);
  });

  it.each([
    ['-eyJ over and over', megabyteOf('-eyJ')],
    [
      '-eyJ runs around a dot',
      `${megabyteOf('-eyJ').slice(0, MB / 2)}.eyJ${megabyteOf('-eyJ').slice(
        0,
        MB / 2,
      )}.`,
    ],
    [
      'a JWT header of 8193 characters, again and again',
      megabyteOf(` eyJ${'a'.repeat(8193)}.eyJ${'b'.repeat(20)}.`),
    ],
    [
      'a JWT payload of 8193 characters, again and again',
      megabyteOf(` eyJ${'a'.repeat(20)}.eyJ${'b'.repeat(8193)}.`),
    ],
    ['.eyJ over and over', megabyteOf('.eyJ')],
    ['almost-PEM headers', megabyteOf(`-----BEGIN ${'A'.repeat(40)}`)],
    ['almost-GitHub tokens', megabyteOf(` github_pat_${'a'.repeat(260)}`)],
    ['almost-Google keys', megabyteOf(` AIza${'a'.repeat(34)}`)],
    ['almost-bearer tokens', megabyteOf(` Bearer ${'a'.repeat(19)}`)],
    [
      'URLs without a password',
      megabyteOf(
        `a.a.a.a.a.a.a.a.a.a.a.a.a.a.a://${'u'.repeat(256)}:${'p'.repeat(
          256,
        )} `,
      ),
    ],
  ])('is found clean in linear time when it holds %s', (_name, hostile) => {
    // Generous: a few times the benign file, where the old JWT pattern took hundreds of times.
    const bound = 10 * benignMs + 5;
    const hostileMs = checkMs(hostile, 3, bound);
    expect(hostileMs).toBeLessThanOrEqual(bound);
    expect(secretFindings(hostile)).toEqual([]);
  });

  it('still finds a JSON Web Token after a megabyte of near misses, quickly', () => {
    const hostile = `${megabyteOf('-eyJ')} ${JWT}`;
    const started = performance.now();
    expect(secretFindings(hostile)).toEqual([
      'ConfigMap key "settings" holds a JSON Web Token',
    ]);
    expect(performance.now() - started).toBeLessThanOrEqual(10 * benignMs + 5);
  });

  it.each([
    ['a JSON Web Token', JWT, 'a JSON Web Token'],
    ['one after a dash', `Bearer-${JWT}`, 'a JSON Web Token'],
    ['one broken by a newline', `token=${JWT.replace('.', '.\n')}`, undefined],
    ['one inside a word', `x${JWT}`, undefined],
    ['one after an underscore', `_${JWT}`, undefined],
    [
      'parts of 8192',
      `eyJ${'a'.repeat(8192)}.eyJ${'b'.repeat(8192)}.`,
      'a JSON Web Token',
    ],
    [
      'a header of 8193',
      `eyJ${'a'.repeat(8193)}.eyJ${'b'.repeat(8)}.`,
      undefined,
    ],
    [
      'a payload of 8193',
      `eyJ${'a'.repeat(8)}.eyJ${'b'.repeat(8193)}.`,
      undefined,
    ],
    ['a header of 7', `eyJ${'a'.repeat(7)}.eyJ${'b'.repeat(8)}.`, undefined],
    ['a payload of 7', `eyJ${'a'.repeat(8)}.eyJ${'b'.repeat(7)}.`, undefined],
    [
      'no dot after the payload',
      `eyJ${'a'.repeat(8)}.eyJ${'b'.repeat(8)}`,
      undefined,
    ],
    [
      'one at the end of a long word',
      `${'a'.repeat(9000)}-eyJ${'a'.repeat(8)}.eyJ${'b'.repeat(8)}.`,
      'a JSON Web Token',
    ],
    [
      'one whose first eyJ is too far from the dot, but a later one is not',
      `eyJ${'-eyJ'.repeat(3000)}.eyJ${'b'.repeat(8)}.`,
      'a JSON Web Token',
    ],
    ['a URL password', 'a.b+c-d://user:pw@host', 'a password in a URL'],
    [
      'a URL password after a dotted scheme word',
      'x_1.ab://u:p@h',
      'a password in a URL',
    ],
    ['a URL scheme starting with a digit', '1http://u:p@h', undefined],
    ['a URL scheme of 32', `${'x'.repeat(32)}://u:p@h`, undefined],
    ['a URL scheme of 31', `${'x'.repeat(31)}://u:p@h`, 'a password in a URL'],
    ['a URL password reference', 'http://u:$(PW)@h', undefined],
    [
      'a URL password after a URL with a reference',
      'http://u:$(PW)@h http://u:pw@h',
      'a password in a URL',
    ],
    ['a URL password of 257', `http://u:${'p'.repeat(257)}@h`, undefined],
    [
      'a URL user of 256',
      `http://${'u'.repeat(256)}:p@h`,
      'a password in a URL',
    ],
  ])('tells %s as before', (_name, value, what) => {
    expect(secretFindings(value)).toEqual(
      what ? [`ConfigMap key "settings" holds ${what}`] : [],
    );
  });
});
