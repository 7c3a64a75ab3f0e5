import { REDACTED, redactText } from './redactText';

describe('redactText', () => {
  it('hides what the other families hide in free text, with the audit trail’s placeholder', () => {
    expect(
      redactText(
        'connecting to postgres://app:hunter2@db:5432/x\nDB_PASSWORD=correct horse\nmysql -phunter2 shop',
      ),
    ).toBe(
      `connecting to postgres://app:${REDACTED}@db:5432/x\nDB_PASSWORD=${REDACTED}\nmysql -p${REDACTED} shop`,
    );
  });

  it('hides, with `cut`, what runs to the end of a text cut short', () => {
    expect(redactText('dsn postgres://app:hun', { cut: true })).toBe(
      `dsn postgres://app:${REDACTED}`,
    );
    expect(redactText('header Bearer abc', { cut: true })).toBe(
      `header Bearer ${REDACTED}`,
    );
    expect(redactText('header Basic dXNl', { cut: true })).toBe(
      `header Basic ${REDACTED}`,
    );
    // Not cut: a host and port, a word of prose.
    expect(redactText('dsn postgres://db:5432')).toBe('dsn postgres://db:5432');
    expect(redactText('header Bearer abc')).toBe('header Bearer abc');
  });

  it('ends a command’s password flag at its line or a shell separator', () => {
    expect(redactText('mysql -h db\nmkdir -p /x')).toBe(
      'mysql -h db\nmkdir -p /x',
    );
    expect(redactText('mysql -h db | grep -p x')).toBe(
      'mysql -h db | grep -p x',
    );
    expect(redactText('["mysql", "-phunter2", "shop"]')).toBe(
      `["mysql", "-p${REDACTED}", "shop"]`,
    );
    expect(redactText('mysql -p -u root')).toBe('mysql -p -u root');
  });

  it('scrubs 200 KB of hostile text in linear time', () => {
    const size = 200_000;
    const fill = (unit: string) =>
      unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
    const hostile = [
      fill('a-a-'),
      fill('password'),
      fill('password:'),
      fill('password='),
      fill('password: "'),
      fill('"password": "a'),
      fill("token='x''"),
      fill('password:\n'),
      fill('password: |\n  x\n'),
      `password:${' '.repeat(size)}`,
      `x${' '.repeat(size)}password=`,
      fill('a://'),
      fill('://@:'),
      fill('a://b:c@'),
      fill('mysql -p '),
      fill('mysql '),
      fill('-p -p '),
      fill('--token '),
      fill('["--token", '),
      fill('--token,'),
      fill('Bearer '),
      fill('Basic dXNlcjpw '),
      fill('Authorization: Bearer '),
      fill('"Authorization: '),
      fill('--password="a'),
      `password="${fill('\\')}`,
    ];
    const slow: string[] = [];
    for (const text of hostile) {
      for (const cut of [false, true]) {
        const started = performance.now();
        redactText(text, { cut });
        const ms = performance.now() - started;
        // A linear scan takes a few milliseconds; a quadratic one takes seconds at this size.
        if (ms >= 500) slow.push(`${text.slice(0, 12)}…: ${Math.round(ms)} ms`);
      }
    }
    expect(slow).toEqual([]);
  });
});
