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
