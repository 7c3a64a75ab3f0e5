import { META_LIMITS, REDACTED, redactSecrets } from './redact';
import { extractTarget } from './target';

describe('redactSecrets', () => {
  it('redacts secret-looking keys at any depth, case-insensitively', () => {
    const input = {
      user: 'jane',
      Password: 'hunter2',
      nested: {
        apiKey: 'k-123',
        list: [{ clientSecret: 's' }, { ok: 1 }],
        credentials: { user: 'x', pass: 'y' },
        AUTH_TOKEN: 'abc',
      },
    };
    const out = redactSecrets(input);
    expect(out).toEqual({
      user: 'jane',
      Password: REDACTED,
      nested: {
        apiKey: REDACTED,
        list: [{ clientSecret: REDACTED }, { ok: 1 }],
        credentials: REDACTED,
        AUTH_TOKEN: REDACTED,
      },
    });
    expect(JSON.stringify(out)).not.toMatch(/hunter2|k-123|abc/);
    // the input is left alone
    expect(input.Password).toBe('hunter2');
  });

  it('drops values that are not JSON', () => {
    expect(
      redactSecrets({
        f: (() => 1) as any,
        n: NaN as any,
        d: new Date(0) as any,
      }),
    ).toEqual({ n: null, d: '1970-01-01T00:00:00.000Z' });
  });
});

describe('extractTarget', () => {
  it('reads conventional meta keys', () => {
    expect(
      extractTarget({
        entityRef: 'component:default/a',
        cluster: 'dev',
        namespace: 'team-a',
      }),
    ).toEqual({
      entityRef: 'component:default/a',
      cluster: 'dev',
      namespace: 'team-a',
    });
    expect(
      extractTarget({ templateRef: 'template:default/t', taskId: '42' }),
    ).toEqual({ entityRef: 'template:default/t', resource: 'task:42' });
    expect(extractTarget(undefined)).toEqual({});
  });
});

describe('redactSecrets bounds', () => {
  it('cuts long strings and says how much was cut', () => {
    const out = redactSecrets({ message: 'a'.repeat(10000) });
    expect(out.message).toBe(`${'a'.repeat(8192)}…[1808 more characters]`);
  });

  it('marks objects and arrays whose members were cut', () => {
    const many = Object.fromEntries(
      Array.from({ length: 6000 }, (_, i) => [`k${i}`, i]),
    );
    const out = redactSecrets({ many });
    const kept = out.many as Record<string, unknown>;
    expect(kept['…truncated']).toMatch(/^\d+ more keys$/);
    expect(Object.keys(kept).length).toBeLessThan(5002);
    const list = redactSecrets({ list: Array.from({ length: 6000 }, () => 1) })
      .list as unknown[];
    expect(list[list.length - 1]).toMatch(/^\[…truncated: \d+ more items\]$/);
  });

  it('replaces values nested deeper than 20 levels', () => {
    let deep: any = { leaf: 'x' };
    for (let i = 0; i < 30; i++) deep = { d: deep };
    expect(JSON.stringify(redactSecrets(deep))).toContain(
      '[TRUNCATED: depth > 20]',
    );
  });
});

describe('extractTarget with a nested target', () => {
  it('reads the target object kubechart events carry', () => {
    expect(
      extractTarget({
        target: { cluster: 'dev', namespace: 'team-a', entityRef: 'x' },
        runId: 'r1',
      }),
    ).toEqual({
      entityRef: 'x',
      cluster: 'dev',
      namespace: 'team-a',
      resource: 'run:r1',
    });
  });
});

describe('redactSecrets key scan budget', () => {
  const budget = META_LIMITS.maxScannedKeyChars;

  it('matches a key that fits in the budget and redacts one that does not', () => {
    expect(Object.values(redactSecrets({ ['x'.repeat(budget)]: 'v' }))).toEqual(
      ['v'],
    );
    expect(
      Object.values(
        redactSecrets({ [`${'x'.repeat(budget - 8)}password`]: 'v' }),
      ),
    ).toEqual([REDACTED]);
    expect(
      Object.values(redactSecrets({ ['x'.repeat(budget + 1)]: 'v' })),
    ).toEqual([REDACTED]);
  });

  it('shares the budget between the keys of one event', () => {
    const out = redactSecrets({
      ['a'.repeat(budget - 10)]: 'first',
      nested: { ['b'.repeat(11)]: 'second', ['c'.repeat(4)]: 'third' },
    });
    expect(Object.values(out)).toEqual([
      'first',
      { ['b'.repeat(11)]: REDACTED, ['c'.repeat(4)]: 'third' },
    ]);
    // the next event has a budget of its own
    expect(redactSecrets({ ['b'.repeat(11)]: 'second' })).toEqual({
      ['b'.repeat(11)]: 'second',
    });
  });
});

describe('redactSecrets free text', () => {
  /** What `redactSecrets` stores of one string value. */
  const stored = (text: string) => redactSecrets({ text }).text;

  it('hides secrets written in string values, whatever their key', () => {
    const out = redactSecrets({
      note: 'password: x',
      cmd: 'mysql -phunter2',
      dsn: 'postgres://app:hunter2@db/x',
      nested: {
        list: ['login token=abc123 user=bob'],
        header: 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln',
      },
    });
    expect(out).toEqual({
      note: 'password: [REDACTED]',
      cmd: 'mysql -p[REDACTED]',
      dsn: 'postgres://app:[REDACTED]@db/x',
      nested: {
        list: ['login token=[REDACTED] user=bob'],
        header: 'Bearer [REDACTED]',
      },
    });
    expect(JSON.stringify(out)).not.toMatch(/hunter2|abc123|eyJ/);
  });

  it.each([
    // key: value and key=value pairs whose key names a secret (its last word)
    [
      'connect db.password=hunter2 user=bob',
      'connect db.password=[REDACTED] user=bob',
    ],
    ['DB_PASSWORD=correct horse', 'DB_PASSWORD=[REDACTED]'],
    ['PASSWORD:correct horse battery staple', 'PASSWORD:[REDACTED]'],
    ['[password=p4ss,w0rd]', '[password=[REDACTED]]'],
    [
      'client_secret: two words\nuser: bob',
      'client_secret: [REDACTED]\nuser: bob',
    ],
    ['{"apiKey": "k-1 \\"x\\"", "n": 1}', '{"apiKey": "[REDACTED]", "n": 1}'],
    ["token: 'a b' # note", "token: '[REDACTED]' # note"],
    ['x-auth-token: abc', 'x-auth-token: [REDACTED]'],
    ['--api-key=k1 --port=80', '--api-key=[REDACTED] --port=80'],
    ['password: "never closed', 'password: "[REDACTED]'],
    [
      'credentials:\n  user: a\n  pass: b\nmode: x',
      'credentials:\n  [REDACTED]\n  [REDACTED]\nmode: x',
    ],
    [
      'password: |\n  line1\n  line2\nuser: bob',
      'password: |\n  [REDACTED]\n  [REDACTED]\nuser: bob',
    ],
    ['Cookie: session=abc; theme=dark', 'Cookie: [REDACTED]'],
    // URL credentials
    [
      'connecting to postgres://app:hunter2@db:5432/x',
      'connecting to postgres://app:[REDACTED]@db:5432/x',
    ],
    [
      'helm repo add x https://user:s3cret@charts.example.com',
      'helm repo add x https://user:[REDACTED]@charts.example.com',
    ],
    [
      'redis://:pw@cache and amqp://u:p@ss@mq/v',
      'redis://:[REDACTED]@cache and amqp://u:[REDACTED]@mq/v',
    ],
    // Authorization headers, bearer and basic credentials
    [
      'curl -H "Authorization: Bearer abc.def" https://x',
      'curl -H "Authorization: Bearer [REDACTED]" https://x',
    ],
    [
      'Authorization: Basic dXNlcjpodW50ZXIy',
      'Authorization: Basic [REDACTED]',
    ],
    ['proxy-authorization=Token t0k', 'proxy-authorization=Token [REDACTED]'],
    [
      'called with Bearer ghp_0123456789abcdef now',
      'called with Bearer [REDACTED] now',
    ],
    [
      'sent Basic dXNlcjpodW50ZXIy to the proxy',
      'sent Basic [REDACTED] to the proxy',
    ],
    // known password flags
    ['mysql -u root -phunter2 shop', 'mysql -u root -p[REDACTED] shop'],
    [
      '/usr/bin/mysqldump -p hunter2 shop',
      '/usr/bin/mysqldump -p [REDACTED] shop',
    ],
    ['redis-cli -a s3cret ping', 'redis-cli -a [REDACTED] ping'],
    ['zip -P pw out.zip', 'zip -P [REDACTED] out.zip'],
    ['app --password hunter2 --port 80', 'app --password [REDACTED] --port 80'],
    [
      '["--token", "abc123", "--port", "80"]',
      '["--token", "[REDACTED]", "--port", "80"]',
    ],
    [
      'openssl enc -pass pass:hunter2 -in x',
      'openssl enc -pass [REDACTED] -in x',
    ],
  ])('hides %j', (text, shown) => {
    expect(stored(text)).toBe(shown);
    // what was hidden stays as it is when redacted again (the backend redacts what the auditor did)
    expect(stored(shown)).toBe(shown);
  });

  it.each([
    'tokenCount: 3',
    'maxTokens=5 secrets: 2 keys: 4',
    'password-policy updated',
    'Password reset requested for bob',
    'password_policy: strict',
    'secretName: my-tls',
    'auth.token.ttl=3600 --authentication-token-webhook=true',
    'monkey: 3, keyboard: us; see the key points below',
    'password:',
    'ssh -p 2222 host; docker run -p8080:80 x; mysql -P 3306 -h db; mkdir -p /x',
    'docker login --password-stdin registry.example.com',
    'bearer tokens are accepted; Bearer authentication-required',
    'Basic setup done, basic auth enabled',
    'https://example.com:8443/path https://user@example.com/x postgres://u:@db/x mailto:a@b.c',
    'at 12:30 the store (keyspace=7) restarted',
  ])('keeps ordinary text readable: %j', text => {
    expect(stored(text)).toBe(text);
  });

  it('hides what may be a secret cut short at the string limit', () => {
    const limit = META_LIMITS.maxStringLength;
    // cut 24 characters into the password: the placeholder is shorter than what it hides
    const url = 'postgres://app:hunter2secret-hunter2secret-hunter2@db/x';
    const cutInUrl = `${'a'.repeat(limit - 40)} ${url}`;
    const shown = stored(cutInUrl);
    expect(shown).toMatch(/…\[\d+ more characters\]$/);
    expect(shown).toContain('postgres://app:[REDACTED]');
    expect(shown).not.toMatch(/hunter|secret/);
    const bearer = `${'a'.repeat(limit - 12)} Bearer eyJhbGciOiJIUzI1NiJ9`;
    expect(stored(bearer)).not.toContain('eyJ');
  });
});

describe('redactSecrets: env lists and keys', () => {
  it('hides the value of an entry whose name names a secret', () => {
    const out = redactSecrets({
      env: [
        { name: 'DB_PASSWORD', value: 's3cr3t-value' },
        { name: 'PORT', value: '80' },
        { name: 'API_TOKEN', value: 12345 },
        { name: 'FEATURE_TOKEN_AUTH', value: true },
      ],
    });
    expect(out).toEqual({
      env: [
        { name: 'DB_PASSWORD', value: REDACTED },
        { name: 'PORT', value: '80' },
        { name: 'API_TOKEN', value: REDACTED },
        { name: 'FEATURE_TOKEN_AUTH', value: true },
      ],
    });
  });

  it('hides a value whose key or entry name ends in pass or pwd after another word', () => {
    expect(
      redactSecrets({
        DB_PASS: 'ENVPASSVAL',
        env: [
          { name: 'MYSQL_PWD', value: 'ENVPWDVAL' },
          { name: 'PWD', value: '/srv/app' },
        ],
        proxy_bypass: 'localhost',
        passthrough: 'on',
      }),
    ).toEqual({
      DB_PASS: REDACTED,
      env: [
        { name: 'MYSQL_PWD', value: REDACTED },
        { name: 'PWD', value: '/srv/app' },
      ],
      proxy_bypass: 'localhost',
      passthrough: 'on',
    });
  });

  it('hides the secrets written in keys', () => {
    const out = redactSecrets({
      repositories: {
        'https://app:s3cr3t-value@charts.example.com': 'ok',
        'https://app:other-s3cr3t@charts.example.com': 'also ok',
        'https://charts.example.com': 'public',
      },
    });
    expect(out).toEqual({
      repositories: {
        [`https://app:${REDACTED}@charts.example.com`]: 'ok',
        [`https://app:${REDACTED}@charts.example.com (2)`]: 'also ok',
        'https://charts.example.com': 'public',
      },
    });
    const long = redactSecrets({
      [`${'x'.repeat(240)} https://app:s3cr3t-value@charts.example.com`]: 1,
    });
    expect(JSON.stringify(long)).not.toContain('s3cr3t');
  });
});

describe('redactSecrets twice', () => {
  const twice = (meta: Parameters<typeof redactSecrets>[0]) => {
    const once = redactSecrets(meta);
    expect(redactSecrets(once)).toEqual(once);
    return once;
  };

  it('leaves a string it already cut as it is', () => {
    const once = twice({ log: 'x'.repeat(10000) });
    expect(once.log).toBe(`${'x'.repeat(8192)}…[1808 more characters]`);
    twice({ log: `${'x'.repeat(9000)} Bearer abc postgres://a:b@c` });
    twice({ log: `${'x'.repeat(8180)} postgres://app:hunter2@db/x` });
  });

  it('leaves a string that grew by its placeholders as it is, within the limit', () => {
    const grown = 'postgres://a:b@c '.repeat(
      Math.ceil(META_LIMITS.maxStringLength / 17),
    );
    const once = twice({ log: grown.slice(0, META_LIMITS.maxStringLength) });
    const log = String(once.log);
    expect(log).not.toMatch(/a:b@/);
    expect(
      log.replace(/…\[\d+ more characters\]$/, '').length,
    ).toBeLessThanOrEqual(META_LIMITS.maxStringLength);
    twice({ a: 'password: x', b: `${'p: '.repeat(3000)}token=x` });
  });

  it('keeps within the budget of all strings on the second pass too', () => {
    const many = Object.fromEntries(
      Array.from({ length: 12 }, (_, i) => [
        `s${i}`,
        `${'token=x '.repeat(1000)}`,
      ]),
    );
    const once = twice(many);
    expect(
      Object.values(once).reduce((sum: number, v) => sum + String(v).length, 0),
    ).toBeLessThanOrEqual(META_LIMITS.maxTotalStringLength + 12 * 40);
  });
});

describe('redactSecrets of meta keys that name object internals', () => {
  it('keeps a `__proto__` key as data and leaves prototypes alone', () => {
    const meta = JSON.parse(
      '{"__proto__":{"polluted":"yes","token":"t0k"},"constructor":{"prototype":{"x":1}},"note":"a"}',
    );
    const out = redactSecrets(meta);
    expect(JSON.parse(JSON.stringify(out))).toEqual(
      JSON.parse(
        `{"__proto__":{"polluted":"yes","token":"${REDACTED}"},"constructor":{"prototype":{"x":1}},"note":"a"}`,
      ),
    );
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect((out as any).polluted).toBeUndefined();
    expect(({} as any).polluted).toBeUndefined();
    expect(redactSecrets(JSON.parse('{"__proto__":"hunter2"}'))).toEqual(
      JSON.parse('{"__proto__":"hunter2"}'),
    );
  });
});
