import { REDACTED, redactText } from '.';

const wide = { keys: 'any-word', midLineValues: 'line' } as const;
const rules = [{}, { midLineValues: 'line' }, wide] as const;

describe('messages of the cluster (events, conditions, waiting reasons)', () => {
  it('keeps the name of a Secret or volume an error names: a name is not a value', () => {
    for (const text of [
      'MountVolume.SetUp failed for volume "secret-vol" : secret "tls-secret" not found',
      'MountVolume.SetUp failed for volume "db-token" : timed out waiting for the condition',
      'Error: secret "api-token" not found',
      'failed to read api key: secrets "api-key" is forbidden',
    ])
      for (const options of rules)
        expect([options, redactText(text, options)]).toEqual([options, text]);
  });

  it('keeps the error a message wraps after a key ending its phrase', () => {
    for (const text of [
      'failed to fetch oauth token: connection refused',
      'failed to fetch oauth token: Post "https://login.example.com/oauth/token": dial tcp 10.0.0.1:443: i/o timeout',
      'cannot refresh token: context deadline exceeded',
      'get credentials: oauth2: cannot fetch token: 401 Unauthorized',
    ])
      for (const options of rules)
        expect([options, redactText(text, options)]).toEqual([options, text]);
  });

  it('still hides the values such messages hold', () => {
    expect(
      redactText(
        'failed to fetch oauth token: Post "https://app:hunter2@login.example.com/token?client_secret=s3": EOF',
        wide,
      ),
    ).toBe(
      `failed to fetch oauth token: Post "https://app:${REDACTED}@login.example.com/token?client_secret=${REDACTED}": EOF`,
    );
    for (const [text, shown] of [
      ['login refused, token: abc123 def', `login refused, token: ${REDACTED}`],
      ['db rejected password: hunter2', `db rejected password: ${REDACTED}`],
      [
        'db rejected password: correct horse battery',
        `db rejected password: ${REDACTED}`,
      ],
      [
        'probe said token=abc rejected',
        `probe said token=${REDACTED} rejected`,
      ],
      ['volume "x" : password: hunter2', `volume "x" : password: ${REDACTED}`],
      ['{"password" : "hunter2"}', `{"password" : "${REDACTED}"}`],
      ['password: secret "x"', `password: ${REDACTED}`],
      // a phrase followed by more than another phrase (`secret cache`) does not end its value
      [
        'MountVolume.SetUp failed for volume "db-token" : failed to sync secret cache: timed out waiting for the condition',
        `MountVolume.SetUp failed for volume "db-token" : ${REDACTED}`,
      ],
      [
        'failed to read api key: secrets "api-key" is forbidden: User "system:serviceaccount:shop:app" cannot get resource "secrets"',
        `failed to read api key: ${REDACTED}`,
      ],
    ])
      expect([text, redactText(text, wide)]).toEqual([text, shown]);
  });
});

describe('names in sentences on hostile input', () => {
  it('scrubs 1 MB of hostile sentences in linear time', () => {
    const size = 1_000_000;
    const fill = (unit: string) =>
      unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
    const hostile = [
      fill('volume "token" : '),
      fill('a \\"token\\" : '),
      fill('oauth token: '),
      fill('x token: failed '),
      fill('x token: secret "a'),
      `a${' '.repeat(size)}token: x`,
      `https://h/${fill('token": ')}`,
      `https://h/${fill('a/token')}: x`,
      fill('x token: Post "https://h/token": '),
      fill('x token: dial tcp 10.0.0.1:443: connect: '),
      fill('x token: EOF\n\n'),
      `x token: EOF\n${' '.repeat(size)}`,
      `"x token: secret "a" not found${' '.repeat(size)}`,
      fill('\\n-----BEGIN \\nBearer \\tmysql -p\\n'),
      fill('[\\"--token\\", '),
    ];
    const plain = 'a'.repeat(size);
    const time = (text: string) => {
      const started = performance.now();
      for (const options of rules) redactText(text, options);
      return performance.now() - started;
    };
    const plainMs = time(plain);
    const slow: string[] = [];
    for (const text of hostile) {
      const ms = time(text);
      // A linear scan takes a few hundred milliseconds at most; a quadratic one, minutes.
      if (ms >= Math.max(2500, 50 * plainMs))
        slow.push(`${text.slice(0, 24)}…: ${Math.round(ms)} ms`);
    }
    expect(slow).toEqual([]);
  }, 120_000);
});
