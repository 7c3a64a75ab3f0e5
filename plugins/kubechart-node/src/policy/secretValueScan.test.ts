import { costOf } from '@internal/kube-sim/testUtils';
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
/** `unit` repeated to about `size` characters (whole units only). */
const sizedOf = (unit: string, size: number) =>
  unit.repeat(Math.floor(size / unit.length));
const secretFindings = (value: string) =>
  engine
    .check([configMap(value)])
    .results.filter(r => r.ruleId === 'no-secret-values' && !r.passed)
    .map(r => r.message);

const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';

/**
 * How much more work the policy check of a value of 1 MB costs than that of one of 100 KB, `valueOf`
 * making each: about ten times for a linear scan, a hundred for one that starts again at each near miss.
 */
const growthOf = (valueOf: (size: number) => string) => {
  const cost = (size: number) => {
    const value = valueOf(size);
    return costOf(() => secretFindings(value));
  };
  return cost(MB) / cost(MB / 10);
};

describe('the secret-value check of a 1 MB ConfigMap value', () => {
  // An ordinary configuration file: URLs, assignments, dots, dashes and the odd `eyJ`.
  const benignOf = (size: number) =>
    sizedOf(
      'service.eyJ-cache.url=https://cache.example.com:6379/0 # feature-flag_42: enabled; see docs.example.com/x.y\n',
      size,
    );

  it('finds nothing in the benign file, at a cost that grows as it does', () => {
    expect(secretFindings(benignOf(MB))).toEqual([]);
    expect(growthOf(benignOf)).toBeLessThan(15);
  });

  it.each<[string, (size: number) => string]>([
    ['-eyJ over and over', size => sizedOf('-eyJ', size)],
    [
      '-eyJ runs around a dot',
      size => `${sizedOf('-eyJ', size / 2)}.eyJ${sizedOf('-eyJ', size / 2)}.`,
    ],
    [
      'a JWT header of 8193 characters, again and again',
      size => sizedOf(` eyJ${'a'.repeat(8193)}.eyJ${'b'.repeat(20)}.`, size),
    ],
    [
      'a JWT payload of 8193 characters, again and again',
      size => sizedOf(` eyJ${'a'.repeat(20)}.eyJ${'b'.repeat(8193)}.`, size),
    ],
    ['.eyJ over and over', size => sizedOf('.eyJ', size)],
    [
      'almost-PEM headers',
      size => sizedOf(`-----BEGIN ${'A'.repeat(40)}`, size),
    ],
    [
      'almost-GitHub tokens',
      size => sizedOf(` github_pat_${'a'.repeat(260)}`, size),
    ],
    ['almost-Google keys', size => sizedOf(` AIza${'a'.repeat(34)}`, size)],
    [
      'almost-bearer tokens',
      size => sizedOf(` Bearer ${'a'.repeat(19)}`, size),
    ],
    [
      'URLs without a password',
      size =>
        sizedOf(
          `a.a.a.a.a.a.a.a.a.a.a.a.a.a.a://${'u'.repeat(256)}:${'p'.repeat(
            256,
          )} `,
          size,
        ),
    ],
  ])('is found clean in linear time when it holds %s', (_name, hostileOf) => {
    // Counted, not timed: characters read and searched, what regular expressions span included.
    expect(secretFindings(hostileOf(MB))).toEqual([]);
    expect(growthOf(hostileOf)).toBeLessThan(15);
  });

  it('still finds a JSON Web Token after a megabyte of near misses, in linear time', () => {
    const hostileOf = (size: number) => `${sizedOf('-eyJ', size)} ${JWT}`;
    expect(secretFindings(hostileOf(MB))).toEqual([
      'ConfigMap key "settings" holds a JSON Web Token',
    ]);
    expect(growthOf(hostileOf)).toBeLessThan(15);
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
