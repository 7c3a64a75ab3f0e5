import { redactText, type TextRedactionOptions } from '.';

/** Every rule set a consumer passes: the audit trail's (whole or cut), values', tool output's. */
const every: TextRedactionOptions[] = [
  {},
  { cut: true },
  { midLineValues: 'line' },
  { keys: 'any-word', midLineValues: 'line', placeholder: '***' },
  { keys: 'any-word', midLineValues: 'line', cut: true },
];
/** The rule sets that hide a value after `key: ` to its line's end. */
const line = every.filter(options => options.midLineValues === 'line');

/** The cases whose `secret` the options shown reveal. */
function revealed(
  cases: [text: string, secret: string, options?: TextRedactionOptions[]][],
) {
  const shown: string[] = [];
  for (const [text, secret, options = every] of cases)
    for (const rules of options) {
      const out = redactText(text, rules);
      if (out.includes(secret))
        shown.push(`${JSON.stringify(rules)} ${text} → ${out}`);
    }
  return shown;
}

describe('names in sentences do not reveal the secrets next to them', () => {
  it('reads a key after a URL in a JSON string as a key, not a segment of the URL', () => {
    expect(
      revealed([
        [
          String.raw`{"data":{"app.yaml":"endpoint: https://s3.example.com/bucket\nsecretKey: abc123\n"}}`,
          'abc123',
        ],
        [
          String.raw`{"config":"url: https://h/x\npassword:hunter2\ntoken:tok9"}`,
          'hunter2',
        ],
        [
          String.raw`{"config":"url: https://h/x\npassword:hunter2\ntoken:tok9"}`,
          'tok9',
        ],
        [
          String.raw`{"config":"url: https://h/x\r\npassword:hunter2"}`,
          'hunter2',
        ],
        [
          String.raw`{"config":"url: https://h/x\tpassword:hunter2"}`,
          'hunter2',
        ],
        [String.raw`{"config":"url: https://h\npassword: hunter2"}`, 'hunter2'],
        [
          String.raw`{"cfg":"url: https://h/x?a=1\npassword: hunter2\n"}`,
          'hunter2',
        ],
        ['url: https://h/x,password:hunter2', 'hunter2'],
        ['see https://h/x;password: hunter2', 'hunter2'],
        ['curl https://h/x|token: abc', 'abc'],
      ]),
    ).toEqual([]);
  });

  it('hides the value of a quoted key after a word', () => {
    expect(
      revealed([
        ['request body "password": "hunter2"', 'hunter2'],
        ['2024-01-01T00:00:00.000Z INFO "password": "s3cr3t"', 's3cr3t'],
        [
          String.raw`time=2024-01-01T00:00:00Z msg="decoded \"password\": \"hunter2\""`,
          'hunter2',
        ],
        ['# example "password": "hunter2"', 'hunter2'],
        ['note "apiKey": AKIA123', 'AKIA123'],
        ['&x "password": |\n  hunter2-line1', 'hunter2-line1'],
        ['note "token":\n  abc-line1', 'abc-line1'],
      ]),
    ).toEqual([]);
  });

  it('hides a value that only starts with a word an error may start with', () => {
    expect(
      revealed([
        ['db rejected password: Forbidden.Fruit42', 'Fruit42'],
        ['connecting as admin password: invalid;pw99', 'pw99'],
        ['2024-01-01T00:00:00Z token: EOF.abc', 'EOF.abc'],
        ['{"Client Secret": invalid.q9}', 'q9'],
        ['audit api token: Invalid', 'Invalid', [{ cut: true }]],
        [
          'login user admin password: error prone monkey staple',
          'staple',
          line,
        ],
        ['got api key: x509: abc123', 'abc123', line],
        ['x secret: 401 bad-s3cr3t', 'bad-s3cr3t', line],
        ['db password: secret "hunter2"', 'hunter2', line],
      ]),
    ).toEqual([]);
  });

  it('still keeps the kubelet’s message naming a missing Secret (whole, not cut short)', () => {
    const text =
      'MountVolume.SetUp failed for volume "secret-vol" : secret "tls-secret" not found';
    for (const rules of every.filter(options => !options.cut))
      expect([rules, redactText(text, rules)]).toEqual([rules, text]);
  });
});

describe('an error phrase after a key keeps only itself', () => {
  it('hides what follows a phrase that does not end the value', () => {
    expect(
      revealed([
        [
          '{"level":"error","msg":"login failed for api key: rpc error: code = Unauthenticated desc = invalid api key sk_live_51HxAbC"}',
          'sk_live',
        ],
        [
          'Error: failed to validate token: rpc error: code = PermissionDenied desc = token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln is revoked',
          'eyJhbGciOiJIUzI1NiJ9',
          line,
        ],
        [
          '  retry with token: connection refused\n                      sk_live_continued',
          'sk_live_continued',
          line,
        ],
        ['db password: failed to fetch hunter2', 'hunter2', line],
        ['db password: dial tcp hunter2', 'hunter2', line],
        ['x token: x509: certificate tok9secret', 'tok9secret', line],
        ['x token: Post "https://h/a": invalid key ak_9f8e', 'ak_9f8e', line],
        ["msg='x token: EOF' ak_9f8e", 'ak_9f8e', line],
      ]),
    ).toEqual([]);
  });

  it('hides a value cut short after a phrase and blanks', () => {
    const cut = every.filter(options => options.cut);
    expect(
      revealed([
        ['login with password: EOF ', 'EOF', cut],
        ['login with password: connection refused ', 'connection', cut],
      ]),
    ).toEqual([]);
  });

  it('keeps a phrase, or phrases joined by ": ", that end the value', () => {
    for (const text of [
      'failed to fetch oauth token: connection refused',
      'get credentials: oauth2: cannot fetch token: 401 Unauthorized',
      '{"msg":"failed to fetch oauth token: connection refused"}',
      'failed to fetch oauth token: Post "https://login.example.com/oauth/token": dial tcp 10.0.0.1:443: i/o timeout',
      'failed to validate token: rpc error: code = Unavailable desc = connection refused',
    ])
      for (const rules of every.filter(options => !options.cut))
        expect([rules, redactText(text, rules)]).toEqual([rules, text]);
  });
});

describe('a backslash escape in a JSON string starts a word', () => {
  it('hides a private key, a Bearer token and flag values after an escape', () => {
    expect(
      revealed([
        [
          String.raw`{"msg":"invalid private key: x509: failed to parse private key\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7bq\n-----END RSA PRIVATE KEY-----"}`,
          'MIIEpAIBAAKCAQEA7bq',
        ],
        [
          String.raw`{"msg":"loaded\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7bq\n-----END RSA PRIVATE KEY-----"}`,
          'MIIEpAIBAAKCAQEA7bq',
        ],
        [
          String.raw`{"msg":"failed to fetch token: dial tcp 10.0.0.1:443: i/o timeout; retry: [\"--password\", \"abc123tok\"]"}`,
          'abc123tok',
        ],
        [String.raw`{"args":"[\"--token\", \"x9tok55\"]"}`, 'x9tok55'],
        [
          String.raw`{"msg":"sent headers\nBearer abc.def.ghi9"}`,
          'abc.def.ghi9',
        ],
        [String.raw`{"cmd":"set -e\n--password hunter2x"}`, 'hunter2x'],
        [String.raw`{"cmd":"set -e\tmysql -phunter2x"}`, 'hunter2x'],
        [String.raw`{"cmd":"set -e\r\nredis-cli -a hunter2x"}`, 'hunter2x'],
      ]),
    ).toEqual([]);
  });
});
