import { REDACTED, redactText } from '.';

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

  describe('secrets written in forms the first rules let through', () => {
    it.each([
      // a quoted key holding blanks
      ['{"Client Secret": "s3cr3t-value"}', `{"Client Secret": "${REDACTED}"}`],
      [
        '{"aws secret access key":"s3cr3t-value"}',
        `{"aws secret access key":"${REDACTED}"}`,
      ],
      ["'Client Secret' = 's3cr3t-value'", `'Client Secret' = '${REDACTED}'`],
      // a Kubernetes env list, in YAML and in JSON
      [
        'env:\n- name: DB_PASSWORD\n  value: s3cr3t-value\n- name: PORT\n  value: "80"',
        `env:\n- name: DB_PASSWORD\n  value: ${REDACTED}\n- name: PORT\n  value: "80"`,
      ],
      [
        '[{"name":"DB_PASSWORD","value":"s3cr3t-value"},{"name":"PORT","value":"80"}]',
        `[{"name":"DB_PASSWORD","value":"${REDACTED}"},{"name":"PORT","value":"80"}]`,
      ],
      [
        '- name: API_TOKEN\n  value: |\n    s3cr3t-value\n- name: PORT',
        `- name: API_TOKEN\n  value: |\n    ${REDACTED}\n- name: PORT`,
      ],
      // escaped JSON inside JSON: a Secret's last-applied-configuration
      [
        '{"kubectl.kubernetes.io/last-applied-configuration":"{\\"apiVersion\\":\\"v1\\",\\"kind\\":\\"Secret\\",\\"stringData\\":{\\"password\\":\\"s3cr3t-value\\"}}\\n"}',
        `{"kubectl.kubernetes.io/last-applied-configuration":"{\\"apiVersion\\":\\"v1\\",\\"kind\\":\\"Secret\\",\\"stringData\\":{\\"password\\":\\"${REDACTED}\\"}}\\n"}`,
      ],
      // a quote inside the escaped value (`\\\"`) does not end it
      [
        '"{\\"token\\":\\"s3cr3t\\\\\\"value\\",\\"n\\":1}"',
        `"{\\"token\\":\\"${REDACTED}\\",\\"n\\":1}"`,
      ],
      // a URL's password holding `/` or `#`
      [
        'helm repo add x https://app:s3cr3t/value@charts.example.com',
        `helm repo add x https://app:${REDACTED}@charts.example.com`,
      ],
      [
        'redis://:s3cr3t#value@redis:6379/0',
        `redis://:${REDACTED}@redis:6379/0`,
      ],
      // a private key without a key in front
      [
        'tls.pem:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAs3cr3t\nQWERTYs3cr3t\n-----END RSA PRIVATE KEY-----\ndone',
        `tls.pem:\n-----BEGIN RSA PRIVATE KEY-----\n${REDACTED}\n-----END RSA PRIVATE KEY-----\ndone`,
      ],
      [
        '{"pem":"-----BEGIN PRIVATE KEY-----\\nMIIEvQs3cr3t\\n-----END PRIVATE KEY-----\\n"}',
        `{"pem":"-----BEGIN PRIVATE KEY-----${REDACTED}-----END PRIVATE KEY-----\\n"}`,
      ],
      [
        'key file: -----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXkt',
        `key file: -----BEGIN OPENSSH PRIVATE KEY----- ${REDACTED}`,
      ],
      // a private key as a secret key's value: its lines below too, not only the key's line
      [
        'key: -----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAs3cr3t\nQWERTYs3cr3t\n-----END RSA PRIVATE KEY-----\ndone',
        `key: ${REDACTED}\n-----END RSA PRIVATE KEY-----\ndone`,
      ],
      [
        'loaded private_key=-----BEGIN PRIVATE KEY-----\nMIIEvQs3cr3t\n-----END PRIVATE KEY-----',
        `loaded private_key=${REDACTED}\n-----END PRIVATE KEY-----`,
      ],
    ])('hides %j', (text, shown) => {
      expect(redactText(text)).toBe(shown);
      expect(redactText(shown)).toBe(shown);
    });

    it.each([
      'env:\n- name: DB_PASSWORD\n  valueFrom:\n    secretKeyRef:\n      name: db\n- name: PORT\n  value: "80"',
      '- name: DB_PASSWORD_FILE\n  value: /run/secrets/db',
      '- name: DB_PASSWORD\n  image: x\n  args: []\n  value: 80',
      'http://registry.example.com:4873/@kubechart%2fplugin-x and https://example.com:8443/users/@me',
      'git+ssh://git@github.com:org/repo.git@v1.2 http://[::1]:8080/a@b',
      '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----',
    ])('keeps %j', text => {
      expect(redactText(text)).toBe(text);
    });
  });

  describe('real events stay readable', () => {
    it.each([
      // the assistant's refusal of a kubectl flag
      [
        '--context picks another cluster or identity, and the assistant runs on the cluster the question is asked about, with its own credentials: choose the cluster in the assistant and ask without --context',
        `--context picks another cluster or identity, and the assistant runs on the cluster the question is asked about, with its own credentials: ${REDACTED} the cluster in the assistant and ask without --context`,
      ],
      // a helm error
      [
        'UPGRADE FAILED: cannot patch "db-creds" with kind Secret: Secret "db-creds" is invalid: data[password]: Invalid value: "x": a valid config key must consist of alphanumeric characters',
        // what follows the Secret it names (`Invalid value: "x"`) may hold a value
        `UPGRADE FAILED: cannot patch "db-creds" with kind Secret: ${REDACTED} "db-creds" is invalid: data[password]: Invalid value: "x": a valid config key must consist of alphanumeric characters`,
      ],
      // policy failures (formatPolicyFailures, the run log)
      [
        '[no-secret-values] ConfigMap/app-credentials: ConfigMap key "DB_URL" holds a password in a URL — fix: Move the credential into a Secret (or an external secret store) and reference it; rotate it, since it has been in a manifest.',
        `[no-secret-values] ConfigMap/app-credentials: ${REDACTED} key "DB_URL" holds a password in a URL — fix: Move the credential into a Secret (or an external secret store) and reference it; rotate it, since it has been in a manifest.`,
      ],
      [
        'policy warning [automount-service-account-token] Deployment/web: automountServiceAccountToken is true — fix: Set automountServiceAccountToken: false on the pod spec (or on its ServiceAccount); mount a projected token only where the app calls the Kubernetes API.',
        'policy warning [automount-service-account-token] Deployment/web: automountServiceAccountToken is true — fix: Set automountServiceAccountToken: false on the pod spec (or on its ServiceAccount); mount a projected token only where the app calls the Kubernetes API.',
      ],
      // git's error, its URL's password hidden, its host and path kept
      [
        "fatal: unable to access 'https://gitlab-ci-token:s3cr3t@gitlab.example.com/group/repo.git/': The requested URL returned error: 403 failed",
        `fatal: unable to access 'https://gitlab-ci-token:${REDACTED}@gitlab.example.com/group/repo.git/': The requested URL returned error: 403 failed`,
      ],
      [
        'clone of https://gitlab-ci-token:s3cr3t@gitlab.example.com/group/repo.git failed',
        `clone of https://gitlab-ci-token:${REDACTED}@gitlab.example.com/group/repo.git failed`,
      ],
      // a key that starts its line still hides the whole line
      [
        'retrying\n  client_secret: two words\ndone',
        `retrying\n  client_secret: ${REDACTED}\ndone`,
      ],
      [
        '- "password": two words\n- token: true',
        `- "password": ${REDACTED}\n- token: true`,
      ],
      // `key:value` starting its line hides to its end too
      ['PASSWORD:correct horse battery staple', `PASSWORD:${REDACTED}`],
      [
        'db:\n  password:hunter2 rest-of-passphrase\n  host: db',
        `db:\n  password:${REDACTED}\n  host: db`,
      ],
      // inside brackets, a value holding a comma to the next pair or the bracket's end
      ['[password=p4ss,w0rd]', `[password=${REDACTED}]`],
      ['[token: a,b]', `[token: ${REDACTED}]`],
      [
        '{password: p4ss,w0rd, mode: fast}',
        `{password: ${REDACTED}, mode: fast}`,
      ],
      // a Go `%v` map: the next `key:` ends the value
      ['map[Password:hunter2 User:bob]', `map[Password:${REDACTED} User:bob]`],
      // a blank inside brackets ends a value only before a Go dump's next field: a secret
      // holding `word:` or `word=` after a blank is hidden whole
      ['{password: correct horse:battery}', `{password: ${REDACTED}}`],
      ['[token=abc def=ghi]', `[token=${REDACTED}]`],
      ['{Password:hunter2 User:bob}', `{Password:${REDACTED}}`],
      [
        'map[Password:correct horse:battery User:bob]',
        `map[Password:${REDACTED} User:bob]`,
      ],
      ['&{Password:hunter2 User:bob}', `&{Password:${REDACTED} User:bob}`],
    ])('%j', (text, shown) => {
      expect(redactText(text)).toBe(shown);
      expect(redactText(shown)).toBe(shown);
    });
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
      fill('"a b": "'),
      fill('\\"password\\":\\"'),
      `password:\\"${fill('\\\\')}`,
      fill('- name: DB_PASSWORD\n'),
      fill('name: "DB_PASSWORD'),
      fill('a://b:c/'),
      fill('a://b:c/d '),
      fill('-----BEGIN PRIVATE KEY-----'),
      fill('-----END PRIVATE KEY-----'),
      fill('x credentials: '),
      fill('{"value":"a",'),
      fill('value: a '),
      fill('- value: a\n'),
      fill('{"name":"DB_PASSWORD","value":'),
      `secretKeyRef:\n${fill('    key: x\n')}`,
      fill('  secretKeyRef:\n    key: x\n'),
      fill('secretKeyRef: {key: a, '),
      fill('https://h/x?code=a&'),
      fill('/a?b=c '),
      fill('/?'),
      fill('a://b@'),
      `https://h/x?q=${fill('%2Fcb%3Fcode%3D')}`,
      `[password=${fill('a,')}`,
      `map[Password:${fill('a b ')}`,
      `{token: a${fill(' ,\t')}`,
      `[token=${fill('"a, ')}`,
      `&{Token:${fill('a Bc')}`,
      `{"spec":{"volumes":[${fill('{"secret":{"secretName":"a"}},')}`,
      `{"spec":{"volumes":[{"secret":{"items":[${fill('{"key":"a"},')}`,
      `{"spec":{"volumes":[${fill(
        '{"secret":{"secretName":"a","optional":true,"items":[],"x":1}},',
      )}`,
      `{"spec":{"x":'${fill('a')}',"volumes":[${fill('{"secret":{}},')}`,
      fill('{"name":"DB_PASSWORD","valueFrom":{"a":[{"b":"c"}]},"value":'),
      fill('{"value":"a","valueFrom":{"a":[{"b":"c"'),
      fill('a\\u0041'),
      fill('"a\\u0041b":"c",'),
      fill('\n{"spec":{"tls":[{"secretName":"a"}]}}'),
    ];
    const slow: string[] = [];
    for (const text of hostile) {
      for (const options of [
        {},
        { cut: true },
        { keys: 'any-word', midLineValues: 'line' } as const,
      ]) {
        const started = performance.now();
        redactText(text, options);
        const ms = performance.now() - started;
        // A linear scan takes a few milliseconds; a quadratic one takes seconds at this size.
        if (ms >= 500) slow.push(`${text.slice(0, 12)}…: ${Math.round(ms)} ms`);
      }
    }
    expect(slow).toEqual([]);
  });

  it('scrubs a 1 MB URL nested by percent-encoding in linear time', () => {
    // Each level the parameter of the one around it, escaped once more.
    let nested = 'token=x';
    while (nested.length < 1_000_000)
      nested = `/p?a=${encodeURIComponent(nested)}`;
    const text = `GET https://h${nested}`;
    const plain = `GET ${'a'.repeat(text.length - 4)}`;
    for (const options of [
      {},
      { cut: true },
      { keys: 'any-word', midLineValues: 'line' } as const,
    ]) {
      const time = (t: string) => {
        const started = performance.now();
        const shown = redactText(t, options);
        return { shown, ms: performance.now() - started };
      };
      const { ms: plainMs } = time(plain);
      const { shown, ms } = time(text);
      // Escaped past what is decoded: the value is hidden (fail closed).
      expect(shown).toBe(`GET https://h/p?a=${REDACTED}`);
      // A linear scan takes a few hundred milliseconds at most; one that rescans every level
      // takes tens of seconds.
      expect(Math.round(ms)).toBeLessThan(Math.max(2500, 50 * plainMs));
    }
  }, 120_000);

  it('hides a parameter that decoding would still change once its decodings are spent', () => {
    // `/x?q=Bearer+eyJ…` escaped three times: its `+` is a blank only after a fourth decoding.
    const shown = ['Bearer+eyJhbGciOiJIUzI1NiJ9', 'Basic+dXNlcjpodW50ZXIy'].map(
      credential => {
        let value = `/x?q=${credential}`;
        for (let i = 0; i < 3; i++) value = encodeURIComponent(value);
        return redactText(`GET https://h/cb?r=${value} HTTP/1.1`);
      },
    );
    expect(shown).toEqual([
      `GET https://h/cb?r=${REDACTED} HTTP/1.1`,
      `GET https://h/cb?r=${REDACTED} HTTP/1.1`,
    ]);
    // Decoded in full within the decodings: kept.
    expect(
      redactText('GET https://h/cb?r=%252Fx%253Fq%253Da%252Bb HTTP/1.1'),
    ).toBe('GET https://h/cb?r=%252Fx%253Fq%253Da%252Bb HTTP/1.1');
  });
});

describe('gaps of the free-text rules', () => {
  it('hides a token given as a URL’s user without a password', () => {
    expect(
      redactText('clone https://ghp_abc123def456ghi789@github.com/org/repo'),
    ).toBe(`clone https://${REDACTED}@github.com/org/repo`);
  });

  it('hides OAuth and signature parameters of URLs written in text', () => {
    expect(
      redactText(
        'redirect to https://app.example.com/cb?code=abc123&state=xyz done',
      ),
    ).toBe(
      `redirect to https://app.example.com/cb?code=${REDACTED}&state=xyz done`,
    );
    expect(
      redactText(
        'GET https://b.s3.amazonaws.com/o?X-Amz-Date=1&X-Amz-Signature=deadbeef&x=1 and https://h/x?sv=1&sig=abc%2Bdef',
      ),
    ).toBe(
      `GET https://b.s3.amazonaws.com/o?X-Amz-Date=1&X-Amz-Signature=${REDACTED}&x=1 and https://h/x?sv=1&sig=${REDACTED}`,
    );
    expect(
      redactText(
        'https://h/cb?state=1&access_token=t1&client_secret=s1&page=2',
      ),
    ).toBe(
      `https://h/cb?state=1&access_token=${REDACTED}&client_secret=${REDACTED}&page=2`,
    );
  });

  it('hides the value of an env entry whose name comes after it', () => {
    expect(redactText('{"value":"hunter2","name":"DB_PASSWORD"}')).toBe(
      `{"value":"${REDACTED}","name":"DB_PASSWORD"}`,
    );
    expect(
      redactText(
        '[{"name":"DB_PASSWORD","value":"s3cr3t"},{"value":"80","name":"PORT"}]',
      ),
    ).toBe(
      `[{"name":"DB_PASSWORD","value":"${REDACTED}"},{"value":"80","name":"PORT"}]`,
    );
    expect(
      redactText(
        'env:\n- value: hunter2\n  name: API_TOKEN\n- value: "80"\n  name: PORT',
      ),
    ).toBe(
      `env:\n- value: ${REDACTED}\n  name: API_TOKEN\n- value: "80"\n  name: PORT`,
    );
  });

  it('hides the value of an env entry whose name names a secret, a reference between them', () => {
    for (const rules of [
      {},
      { keys: 'any-word', midLineValues: 'line', placeholder: '***' },
    ] as const) {
      const placeholder = rules.placeholder ?? REDACTED;
      // The names of the reference are its own, not the variable's.
      expect(
        redactText(
          '{"name":"DB_PASSWORD","valueFrom":{"secretKeyRef":{"name":"db","key":"pw"}},"value":"hunter2"}',
          rules,
        ),
      ).toBe(
        `{"name":"DB_PASSWORD","valueFrom":{"secretKeyRef":{"name":"db","key":"pw"}},"value":"${placeholder}"}`,
      );
      expect(
        redactText(
          '[{"value":"hunter2","valueFrom":{"secretKeyRef":{"name":"db","key":"pw"}},"name":"DB_PASSWORD"}]',
          rules,
        ),
      ).toBe(
        `[{"value":"${placeholder}","valueFrom":{"secretKeyRef":{"name":"db","key":"pw"}},"name":"DB_PASSWORD"}]`,
      );
    }
    // Another entry's value is not the variable's.
    const other =
      '[{"name":"DB_PASSWORD","valueFrom":{"secretKeyRef":{"name":"db","key":"pw"}}},{"name":"PORT","value":"80"}]';
    expect(redactText(other)).toBe(other);
  });

  it('reads a key written with JSON escapes as the key it stands for', () => {
    for (const [text, shown] of [
      ['{"pass\\u0077ord":"hunter2"}', `{"pass\\u0077ord":"${REDACTED}"}`],
      ['{"\\u0070assword":"hunter2"}', `{"\\u0070assword":"${REDACTED}"}`],
      [
        '{"api\\u005FTOKEN": "hunter2", "port": 80}',
        `{"api\\u005FTOKEN": "${REDACTED}", "port": 80}`,
      ],
      [
        '{"name":"DB_P\\u0041SSWORD","value":"hunter2"}',
        `{"name":"DB_P\\u0041SSWORD","value":"${REDACTED}"}`,
      ],
    ]) {
      expect(redactText(text)).toBe(shown);
    }
    // What does not stand for a secret key stays.
    const plain = '{"n\\u0061me":"web","p\\u006Frt":80}';
    expect(redactText(plain)).toBe(plain);
  });

  it('keeps a secretKeyRef’s key name, in flow and block style', () => {
    for (const text of [
      'secretKeyRef: {name: db, key: password}',
      '{"secretKeyRef":{"name":"db","key":"password"}}',
      'valueFrom:\n  secretKeyRef:\n    name: db\n    key: password\n',
    ]) {
      expect(redactText(text)).toBe(text);
    }
    // A secret value in a flow mapping ends at its comma or brace, not past it.
    expect(redactText('{password: a b, mode: fast}')).toBe(
      `{password: ${REDACTED}, mode: fast}`,
    );
  });
});

describe('the wider rules of tool output', () => {
  const wide = { keys: 'any-word', midLineValues: 'line' } as const;

  it('hides a value after `key: ` to the line end with `midLineValues: line`, one word by default', () => {
    const text = 'login refused, token: abc def ghi\nnext line';
    expect(redactText(text)).toBe(
      `login refused, token: ${REDACTED} def ghi\nnext line`,
    );
    expect(redactText(text, { midLineValues: 'line' })).toBe(
      `login refused, token: ${REDACTED}\nnext line`,
    );
    // a key that starts its line hides to its end either way
    expect(redactText('token: abc def')).toBe(`token: ${REDACTED}`);
  });

  it('judges keys by a secret word anywhere with `keys: any-word`, booleans included', () => {
    const text = 'tokenCount: 3\ndb.password_hash=abc\nuse_token: true';
    expect(redactText(text)).toBe(text);
    expect(redactText(text, wide)).toBe(
      `tokenCount: ${REDACTED}\ndb.password_hash=${REDACTED}\nuse_token: ${REDACTED}`,
    );
  });

  it('uses the caller’s placeholder, and keeps what it already hid', () => {
    const shown = redactText(
      'clone https://ghp_abc123def456ghi789@github.com/org/repo?access_token=t1&page=2 with password: x',
      { ...wide, placeholder: '***' },
    );
    expect(shown).toBe(
      'clone https://***@github.com/org/repo?access_token=***&page=2 with password: ***',
    );
    expect(redactText(shown, { ...wide, placeholder: '***' })).toBe(shown);
  });

  it('finds the gaps’ secrets with the wider rules too', () => {
    const opts = { ...wide, placeholder: '***' };
    expect(redactText('{"value":"hunter2","name":"DB_PASSWORD"}', opts)).toBe(
      '{"value":"***","name":"DB_PASSWORD"}',
    );
    expect(redactText('secretKeyRef: {name: db, key: password}', opts)).toBe(
      'secretKeyRef: {name: db, key: password}',
    );
    expect(redactText('see https://h/cb?code=abc123&state=1', opts)).toBe(
      'see https://h/cb?code=***&state=1',
    );
  });

  it('leaves a URL’s path segments alone: a token there cannot be told from a name', () => {
    const text =
      'GET /reset/4f1c9a7e0b2d3c5e8a1b HTTP/1.1 and https://h/invite/4f1c9a7e0b2d3c5e8a1b';
    expect(redactText(text)).toBe(text);
    expect(redactText('GET /cb?code=abc123&state=1 HTTP/1.1')).toBe(
      `GET /cb?code=${REDACTED}&state=1 HTTP/1.1`,
    );
  });

  it('shows a URL’s user when it is a plain login name', () => {
    const text =
      'git@github.com:org/x https://jane.doe@example.com/x ssh://git@github.com/org/x postgres://postgres@db/x';
    expect(redactText(text)).toBe(text);
    expect(redactText('https://x1b2c3@h/x https://a@b@h/x')).toBe(
      `https://${REDACTED}@h/x https://${REDACTED}@h/x`,
    );
  });
});
