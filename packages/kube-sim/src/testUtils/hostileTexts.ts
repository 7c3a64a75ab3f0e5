/**
 * Texts that cost a secret scan the square of their length when it starts again at each near miss:
 * the same for every redaction of free text, whichever plugin wraps it. Pass them to
 * {@link superLinearScans}.
 */

/** `unit` repeated to `size` characters. */
const filler = (size: number) => (unit: string) =>
  unit.repeat(Math.ceil(size / unit.length)).slice(0, size);

/**
 * Texts of about `size` characters of secret keys without an end: keys with no value, values with
 * no closing quote, flags whose value is the next argument, values over lines and up to a bracket
 * or quote.
 */
export function hostileSecretTexts(size: number): string[] {
  const fill = filler(size);
  return [
    fill('key'),
    fill('a-key-'),
    fill('key='),
    fill('key: |\n'),
    fill('key:\n'),
    `key: |\n${fill('  x\n')}`,
    `key:${' '.repeat(size)}`,
    fill('password: "'),
    fill('password="\n'),
    `password="${fill('\\')}`,
    fill("token: '"),
    fill("token='x''"),
    fill('token: !a '),
    fill('monkey='),
    // Flags with their value as the next argument, values over lines and up to a bracket or quote.
    fill('--token '),
    fill('--token\n'),
    fill('- --token\n'),
    fill('["--token", '),
    fill('[--token, '),
    fill('--password "'),
    fill('token=a"'),
    fill('"x": "token=\\"a'),
    fill('password: x\n    y\n'),
    fill('{password='),
    `--token,${' \n'.repeat(size / 2)}`,
  ];
}

/** A known secret over lines, whose lines {@link hostileCommandTexts} repeat. */
export const KNOWN_SECRET_LINES = [
  '-----BEGIN KEY-----',
  'ab==',
  'ab==',
  'x',
  '}',
].join('\n');

/**
 * Texts of about `size` characters of commands, short flags, continued lines and lines of
 * {@link KNOWN_SECRET_LINES}.
 */
export function hostileCommandTexts(size: number): string[] {
  const fill = filler(size);
  return [
    fill('mysql -p'),
    fill('mysql '),
    fill('mysql;'),
    fill('/mysql '),
    fill('-p -a -P '),
    fill('- mysqldump\n'),
    fill('- mysql\n- -p\n'),
    `- mysqldump\n${fill('- x\n')}- -px`,
    fill('--pass '),
    fill('-pass='),
    fill('"token=a" '),
    fill('token=a \\\n'),
    `token=\\\n${fill('\\\\\\\n')}`,
    fill('export token=a\n'),
    `export${' '.repeat(size)}x${' token=a'.repeat(size / 16)}`,
    fill('ab==\n'),
    fill('}\n'),
    fill('-----BEGIN KEY-----\nab==\n'),
  ];
}

/**
 * URL-like texts, each of `n` repetitions: schemes, authorities and credentials without an end, and
 * URLs whose authority stops before an `@` of the same word.
 */
export const HOSTILE_URLS: Array<(n: number) => string> = [
  n => `${'a-a://'.repeat(n)}${'token-'.repeat(n)}`,
  n => '://@:'.repeat(2 * n),
  n => 'a://b:c@'.repeat(n),
  // URLs whose authority stops before an `@` of the same word, and a word without one.
  n => `${'a://b:c/'.repeat(n)}@`,
  n => 'a://b:c/'.repeat(n),
  n => `a://b:c/${'a://gitlab-ci-token:/'.repeat(n / 2.5)}@`,
];
