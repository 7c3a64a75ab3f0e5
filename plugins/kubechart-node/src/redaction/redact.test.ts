import {
  collectSecretValues,
  createTextRedactor,
  collectManifestSecretValues,
  hideUrlCredentials,
  isSecretKey,
  redactManifest,
  redactManifestInTurns,
  redactValues,
} from './redact';
import jsYaml from 'js-yaml';
import {
  HOSTILE_URLS,
  KNOWN_SECRET_LINES,
  costOf,
  countingReads,
  hostileCommandTexts,
  hostileSecretTexts,
  superLinearScans,
} from '@internal/kube-sim/testUtils';

describe('redaction', () => {
  it('redacts values under secret-looking keys, deeply', () => {
    const values = {
      image: { tag: '1.0' },
      database: { password: 'hunter22', host: 'db' },
      apiKey: 'k-123',
      auth: { token: 'abc', credentials: { user: 'u', pass: 'p' } },
      secretEnabled: true,
      list: [{ clientSecret: 's3cr3t' }],
    };
    expect(redactValues(values)).toEqual({
      image: { tag: '1.0' },
      database: { password: '***', host: 'db' },
      apiKey: '***',
      auth: { token: '***', credentials: { user: '***', pass: '***' } },
      secretEnabled: true,
      list: [{ clientSecret: '***' }],
    });
    expect(values.database.password).toBe('hunter22');
  });

  it('redacts Secret data and plain secret env values in manifests', () => {
    const manifest = [
      '# Source: x/secret.yaml',
      'apiVersion: v1',
      'kind: Secret',
      'metadata: { name: db }',
      'data: { password: aHVudGVyMjI= }',
      'stringData: { token: abc }',
      '---',
      'kind: Deployment',
      'metadata: { name: web }',
      'spec: { template: { spec: { containers: [{ name: c, env: [{ name: DB_PASSWORD, value: hunter22 }, { name: MODE, value: prod }] }] } } }',
      '---',
      'kind: Service',
      'metadata: { name: keep }',
    ].join('\n');
    const out = redactManifest(manifest);
    expect(out).not.toContain('aHVudGVyMjI=');
    expect(out).not.toContain('hunter22');
    expect(out).not.toContain(': abc');
    expect(out).toContain("password: '***'");
    expect(out).toContain('prod');
    expect(out).toContain('metadata: { name: keep }');
    expect(out).toContain('# Source: x/secret.yaml');
  });

  it('scrubs known secret values and key=value pairs from text', () => {
    const secrets = collectSecretValues({
      db: { password: 'hunter22' },
      name: 'web',
    });
    expect(secrets).toEqual(['hunter22']);
    const scrub = createTextRedactor(secrets);
    expect(scrub('connecting with hunter22 now')).toBe(
      'connecting with *** now',
    );
    expect(scrub(`b64 ${Buffer.from('hunter22').toString('base64')}`)).toBe(
      'b64 ***',
    );
    expect(scrub('error: password=abc and token: "xyz" ok')).toBe(
      'error: password=*** and token: "***" ok',
    );
    const valuesOnly = createTextRedactor(secrets, { keyValuePairs: false });
    expect(valuesOnly('credentials: started with hunter22')).toBe(
      'credentials: started with ***',
    );
  });
});

describe('redaction by value and in linear time', () => {
  const secret = 'gen3r4ted-Pa55word';
  const scrub = createTextRedactor([secret], { keyValuePairs: false });

  it('removes a known secret from every kind, including ConfigMaps, List items and comments', () => {
    const manifest = [
      `# Source: db/configmap.yaml (built with ${secret})`,
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: { name: db }',
      `data: { DATABASE_URL: "postgres://app:${secret}@db:5432/app" }`,
      '---',
      'apiVersion: v1',
      'kind: List',
      'items:',
      `- { apiVersion: v1, kind: Secret, metadata: { name: s }, stringData: { url: "x${secret}" } }`,
      `- { apiVersion: v1, kind: ConfigMap, metadata: { name: c, annotations: { note: "${secret}" } }, data: { mode: prod } }`,
      '---',
      'kind: Service',
      'metadata: { name: keep }',
    ].join('\n');
    const out = redactManifest(manifest, { scrub });
    expect(out).not.toContain(secret);
    expect(out).toContain('DATABASE_URL: postgres://app:***@db:5432/app');
    expect(out).toContain('# Source: db/configmap.yaml (built with ***)');
    expect(out).toContain('mode: prod');
    expect(out).toContain('metadata: { name: keep }');
    // A Secret inside a List is redacted even without knowing its value.
    expect(
      redactManifest(
        'kind: List\nitems:\n- { kind: Secret, stringData: { token: plain-value } }\n',
      ),
    ).not.toContain('plain-value');
  });

  it('redacts each document of a manifest split as the parser splits it, one per turn, keeping the comments of its --- lines', async () => {
    const configMap = (i: number) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c${i}}\ndata:\n  password: hunter${i}\n  blob: ${'x'.repeat(
        1_100_000,
      )}\n`;
    const manifest = [1, 2, 3, 4]
      .map(i => configMap(i))
      .join(`--- # next, not ${secret}\n`);
    let turns = 0;
    let ticking: NodeJS.Immediate | undefined;
    const tick = () => {
      turns++;
      ticking = setImmediate(tick);
    };
    ticking = setImmediate(tick);
    const out = await redactManifestInTurns(manifest, { scrub });
    if (ticking) clearImmediate(ticking);
    expect(turns).toBeGreaterThanOrEqual(3);
    const docs = out.split(/^---.*\n/m);
    expect(docs).toHaveLength(4);
    docs.forEach((doc, i) => {
      expect(doc).toContain(`name: c${i + 1}`);
      expect(doc).toContain(`blob: ${'x'.repeat(1_100_000)}`);
      expect(doc).not.toContain('hunter');
    });
    expect(out.match(/^--- # next, not \*\*\*$/gm)).toHaveLength(3);
    expect(out).toBe(redactManifest(manifest, { scrub }));
    // A document on its `---` line is one too.
    expect(redactManifest('a: 1\n--- {kind: Secret, data: {k: dg==}}\n')).toBe(
      "a: 1\n---\nkind: Secret\ndata:\n  k: '***'\n",
    );
  });

  it('drops a document it cannot parse within the limits instead of showing it', () => {
    const bomb = `a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [${Array(9).fill(
      '*a',
    )}]\nc: &c [${Array(9).fill('*b')}]\nd: &d [${Array(9).fill(
      '*c',
    )}]\ne: &e [${Array(9).fill('*d')}]\nf: &f [${Array(9).fill(
      '*e',
    )}]\ng: &g [${Array(9).fill('*f')}]\n`;
    // The nodes js-yaml reads of its text, and the reads of the fields of what it makes of it (behind
    // a proxy that counts them).
    const loadAll = jsYaml.loadAll;
    let nodes = 0;
    let reads = () => 0;
    const load = jest
      .spyOn(jsYaml, 'loadAll')
      .mockImplementation((text: string, iterator?: any, options?: any) => {
        const docs = countingReads(
          loadAll(text, iterator, {
            ...options,
            listener(event: 'open' | 'close', state: unknown) {
              if (event === 'open') nodes++;
              options?.listener?.(event, state);
            },
          }) as unknown[],
        );
        reads = docs.reads;
        return docs.value;
      });
    try {
      expect(redactManifest(bomb)).toBe(
        '# (document not shown: not valid YAML or over the input limits)\n',
      );
    } finally {
      load.mockRestore();
    }
    // 5.4 million strings once its aliases are expanded: refused having read the 78 nodes of its
    // text once each, its expansion neither built nor walked.
    expect(nodes).toBeLessThanOrEqual(78);
    expect(reads()).toBeLessThan(500);
  });

  it('scrubs key=value pairs in linear time', () => {
    const scrubPairs = createTextRedactor();
    for (const textOf of [
      (n: number) => 'a-'.repeat(n),
      (n: number) => 'password-token.secret-'.repeat(n / 20),
    ]) {
      const hostile = textOf(2_000_000);
      expect(scrubPairs(hostile)).toBe(hostile);
      // Ten times the text, about ten times the work (counted: characters read, searched and
      // spanned by regular expressions); a scan restarted at each near miss, a hundred times.
      const small = textOf(200_000);
      expect(
        costOf(() => scrubPairs(hostile)) / costOf(() => scrubPairs(small)),
      ).toBeLessThan(15);
    }
    expect(
      createTextRedactor()('db.password_hash = "abc" tokenX:1 secret'),
    ).toBe('db.password_hash = "***" tokenX:*** secret');
  });

  it('removes a known secret from indented and inline comments, keeping the text of a document otherwise unchanged', () => {
    const manifest = [
      '# Source: c/notes.yaml',
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: notes',
      'data:',
      `  # generated for svc-reader with ${secret}`,
      `  mode: prod # rotated from ${secret}`,
      '',
    ].join('\n');
    const out = redactManifest(manifest, { scrub });
    expect(out).not.toContain(secret);
    // Only the secret differs from what the cluster received: the rest of the text is kept as it was.
    expect(out).toBe(manifest.split(secret).join('***'));
  });

  it('removes encoded forms of a known secret: a basic-auth header, base64 at any offset, ConfigMap binaryData', () => {
    const b64 = (t: string) => Buffer.from(t).toString('base64');
    const basic = b64(`svc-reader:${secret}`);
    const json = b64(JSON.stringify({ password: secret, user: 'svc-reader' }));
    const manifest = [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: { name: client }',
      `data: { header: "Basic ${basic}", url: "https://x/?auth=${b64(
        `ab${secret}`,
      )}", plain: "${b64('nothing secret here')}" }`,
      `binaryData: { settings.json: ${json}, other.bin: ${b64(
        'opaque bytes',
      )} }`,
    ].join('\n');
    const out = redactManifest(manifest, { scrub });
    for (const needle of [secret, basic, json, b64(secret)])
      expect(out).not.toContain(needle);
    expect(out).toContain('header: Basic ***');
    expect(out).toContain(`plain: ${b64('nothing secret here')}`);
    expect(out).toContain("settings.json: '***'");
    // Opaque bytes are never shown, whether or not a known secret is in them.
    expect(redactManifest(manifest)).not.toContain(b64('opaque bytes'));
    // Free text: base64 of the secret behind 0, 1 or 2 other bytes.
    for (const prefix of ['', 'a', 'ab', 'abc:'])
      expect(scrub(`x ${b64(prefix + secret)} y`)).not.toContain(
        b64(prefix + secret).slice(4, -4),
      );
  });

  it('collects the values of the Secrets of a manifest, not short ones under plain keys', () => {
    expect(
      collectManifestSecretValues([
        {
          kind: 'Secret',
          stringData: {
            token: 'tok1',
            username: 'admin',
            url: 'https://u:p@h/x',
          },
        },
        {
          kind: 'List',
          items: [
            {
              kind: 'Secret',
              data: { k: Buffer.from('from-a-list-1').toString('base64') },
            },
          ],
        },
        { kind: 'ConfigMap', data: { token: 'not-a-secret-value' } },
      ]).sort(),
    ).toEqual(['from-a-list-1', 'https://u:p@h/x', 'tok1']);
  });
});

describe('secret pairs of free text', () => {
  const scrub = createTextRedactor();

  it('hides the value of every key isSecretKey calls secret', () => {
    const properties = [
      'stripe.api-key=sk_live_51Hxyz',
      'private_key=PRIVKEYVALUE123',
      'aws.access-key=AKIAEXAMPLE',
      'args: --api-key=APIKEYARGVALUE42 --port=80',
      'sshKey: AAAAB3Nza',
    ].join('\n');
    expect(scrub(properties)).toBe(
      [
        'stripe.api-key=***',
        'private_key=***',
        'aws.access-key=***',
        'args: --api-key=*** --port=80',
        'sshKey: ***',
      ].join('\n'),
    );
    for (const key of ['api-key', 'private_key', 'access-key', 'API_KEY']) {
      expect(isSecretKey(key)).toBe(true);
      expect(scrub(`${key}=v4lue`)).toBe(`${key}=***`);
    }
  });

  it('leaves ordinary words and keys alone', () => {
    const text = [
      'The monkey sat on the keyboard; see the key points below.',
      'kind: ConfigMap',
      'keyboard: us',
      'keyword=fast',
      'monkey: 3',
      'log.level=debug',
    ].join('\n');
    expect(scrub(text)).toBe(text);
  });

  it('hides a whole quoted value, spaces and escaped quotes included', () => {
    expect(scrub('--password="two words" --port=80')).toBe(
      '--password="***" --port=80',
    );
    expect(scrub("token: 'a b c' # note")).toBe("token: '***' # note");
    expect(scrub('{"clientSecret": "s3 cr\\"et x", "n": 1}')).toBe(
      '{"clientSecret": "***", "n": 1}',
    );
    expect(scrub("password: 'it''s mine'")).toBe("password: '***'");
    // An unclosed quote: where the value ends cannot be known, so the rest of the text is hidden.
    expect(scrub('password="open ended\nmode=fast')).toBe('password="***');
    expect(scrub('password: ""')).toBe('password: ""');
  });

  it('hides the indented lines of a YAML block value under a secret key', () => {
    const yaml = [
      'config:',
      '  password: |',
      '    hunter2BLOCKVALUE',
      '',
      '    second line',
      '  api-key: >-  # folded',
      '    folded value',
      '  mode: visible',
      'certificate.key: |+',
      '  -----BEGIN PRIVATE KEY-----',
      'credentials:',
      '  user: admin',
      '  pass: pw',
      'tokens:',
      '- abc',
      '- def',
      'level: info',
    ].join('\n');
    expect(scrub(yaml)).toBe(
      [
        'config:',
        '  password: |',
        '    ***',
        '',
        '    ***',
        '  api-key: >-  # folded',
        '    ***',
        '  mode: visible',
        'certificate.key: |+',
        '  ***',
        'credentials:',
        '  ***',
        '  ***',
        'tokens:',
        '***',
        '***',
        'level: info',
      ].join('\n'),
    );
    expect(scrub('- password: |\r\n    x\r\n  mode: y\r\n')).toBe(
      '- password: |\r\n    ***\r\n  mode: y\r\n',
    );
    expect(scrub(scrub(yaml))).toBe(scrub(yaml));
  });

  it('keeps none of the values of a ConfigMap holding them in config files out of a run log', () => {
    const values = [
      'sk_live_51Hxyz',
      'PRIVKEYVALUE123',
      'AKIAEXAMPLE',
      'APIKEYARGVALUE42',
      'hunter2BLOCKVALUE',
      'two words',
    ];
    const log = [
      'data:',
      '  app.properties: |',
      `    stripe.api-key=${values[0]}`,
      `    private_key=${values[1]}`,
      `    aws.access-key=${values[2]}`,
      '    log.level=debug',
      `  run.sh: exec app --api-key=${values[3]} --password="${values[5]}"`,
      '  config.yaml: |',
      '    db:',
      '      password: |',
      `        ${values[4]}`,
      '      host: db',
    ].join('\n');
    const shown = scrub(log);
    for (const v of values) expect(shown).not.toContain(v);
    expect(shown).toContain('log.level=debug');
    expect(shown).toContain('host: db');
  });

  it('scrubs hostile text in linear time', () => {
    // Counted, not timed: ten times the text costs about ten times the work (characters read,
    // searched and spanned by regular expressions), where a quadratic scan costs a hundred times.
    expect(
      superLinearScans(hostileSecretTexts, scrub, { size: 5_000 }),
    ).toEqual([]);
  });
});

describe('secret values of free text that run past a word or a line', () => {
  const scrub = createTextRedactor();
  /** Each text, what is shown of it, and that scrubbed again (it stays as it is). */
  const scrubbed = (rows: Array<[string, string]>) =>
    rows.map(([text, shown]) => [text, scrub(text), scrub(shown)]);
  const expected = (rows: Array<[string, string]>) =>
    rows.map(([text, shown]) => [text, shown, shown]);

  it('hides an unquoted value to its line end after `key: `, to the next whitespace after `key=` in a command line', () => {
    const rows: Array<[string, string]> = [
      [
        'password: correct horse battery staple\nlevel: info',
        'password: ***\nlevel: info',
      ],
      [
        '2024-05-01T10:00:00Z ERROR login refused, token: abc def ghi  \r\nnext line',
        '2024-05-01T10:00:00Z ERROR login refused, token: ***  \r\nnext line',
      ],
      // A YAML plain value goes on over the lines indented deeper than its key.
      [
        'db:\n  password: correct horse\n    battery staple\n\n    more words\n  host: db',
        'db:\n  password: ***\n    ***\n\n    ***\n  host: db',
      ],
      ['password: a b\r\n  c\r\nx: 1', 'password: ***\r\n  ***\r\nx: 1'],
      // `key = value` (an ini file) too.
      ['  API_TOKEN = abc def # set by ops', '  API_TOKEN = ***'],
      // A command line: the value ends at whitespace; a quoted part is part of it.
      [
        'exec app --db-token=abc def --port=80',
        'exec app --db-token=*** def --port=80',
      ],
      [
        `app --password=abc"def ghi"jkl --port=80`,
        'app --password=*** --port=80',
      ],
      ['error: password=abc and more', 'error: password=*** and more'],
      ['cache.token:abc def', 'cache.token:*** def'],
      // Inside braces the value ends at `,` or the closing brace; inside a string at its quote.
      ['{ password: abc def, mode: fast }', '{ password: ***, mode: fast }'],
      ['{"token": 12 34, "n": 1}', '{"token": ***, "n": 1}'],
      [
        'level=info msg="login with password: abc def" user=bob',
        'level=info msg="login with password: ***" user=bob',
      ],
      // A key further right on its line: the lines below at its own column are other keys.
      [
        'Annotations:  api-token: abc def\n              owner: team-a',
        'Annotations:  api-token: ***\n              owner: team-a',
      ],
      // What an earlier pass hid is shown as it is; words after it are part of the value.
      ['password: ***', 'password: ***'],
      ['password: *** already', 'password: ***'],
    ];
    expect(scrubbed(rows)).toEqual(expected(rows));
  });

  it('hides the value of a command-line flag given as the next argument', () => {
    const rows: Array<[string, string]> = [
      ['mysql --password "x y" --port 80', 'mysql --password "***" --port 80'],
      ['app --password hunter22 --port=80', 'app --password *** --port=80'],
      ["app --api-token 'abc def' -v", "app --api-token '***' -v"],
      ['app --token \\\n  hunter22 --v=2', 'app --token \\\n  *** --v=2'],
      // As a container's args: a JSON or YAML list, `kubectl describe`.
      [
        '["--password", "hunter22", "--port", "80"]',
        '["--password", "***", "--port", "80"]',
      ],
      [
        'args: [--db-password, hunter22, --port, 80]',
        'args: [--db-password, ***, --port, 80]',
      ],
      [
        'args:\n  - --password\n  - hunter22\n  - --port\n  - "80"',
        'args:\n  - --password\n  - ***\n  - --port\n  - "80"',
      ],
      [
        '"args": [\n  "--password",\n  "hunter22",\n  "--port"\n]',
        '"args": [\n  "--password",\n  "***",\n  "--port"\n]',
      ],
      [
        '    Args:\n      --password\n      hunter22\n      --port=80',
        '    Args:\n      --password\n      ***\n      --port=80',
      ],
      // The next argument is another flag or a shell's operator: the flag had no value.
      [
        'docker login --password-stdin --username bob',
        'docker login --password-stdin --username bob',
      ],
      ['login --password-stdin < pw.txt', 'login --password-stdin < pw.txt'],
    ];
    expect(scrubbed(rows)).toEqual(expected(rows));
  });

  it('hides a quoted value spanning lines whole, and to the end of the text when its quote never closes', () => {
    const rows: Array<[string, string]> = [
      ['password: "line1\nline2"\nmode: fast', 'password: "***"\nmode: fast'],
      [
        'db:\n  password: "correct horse\n    battery staple"\n  host: db',
        'db:\n  password: "***"\n  host: db',
      ],
      ["token: 'a\r\n b'\r\nx: 1", "token: '***'\r\nx: 1"],
      ['password: "a \\" b\nc" end', 'password: "***" end'],
      ['app --password "x\ny" --port 80', 'app --password "***" --port 80'],
      // YAML doubles a quote inside single quotes, also as the value's first character.
      ["password: '''quoted'' secret'\nx: 1", "password: '***'\nx: 1"],
      // Where the value ends cannot be known: the rest of the text is hidden.
      ['password="open ended\nmode=fast', 'password="***'],
    ];
    expect(scrubbed(rows)).toEqual(expected(rows));
  });

  it('leaves text that holds no secret value as it is', () => {
    const text = [
      'The token was rotated yesterday; see the key points below.',
      'keyboard: us layout',
      'log.level=debug verbose',
      'args: --port 80 --name web',
      'kind: Secret',
      'tokens are refreshed hourly',
    ].join('\n');
    expect(scrub(text)).toBe(text);
  });
});

describe('secret values of properties files, short flags, flags without a value, values text and known lines', () => {
  const scrub = createTextRedactor();
  /** Each text, what is shown of it, and that scrubbed again (it stays as it is). */
  const scrubbed = (rows: Array<[string, string]>) =>
    rows.map(([text, shown]) => [text, scrub(text), scrub(shown)]);
  const expected = (rows: Array<[string, string]>) =>
    rows.map(([text, shown]) => [text, shown, shown]);

  it('hides the whole value of a properties or env file line, to the line end', () => {
    const rows: Array<[string, string]> = [
      ['db.password=correct horse battery', 'db.password=***'],
      [
        'DB_PASSWORD=correct horse battery\nMODE=prod\n',
        'DB_PASSWORD=***\nMODE=prod\n',
      ],
      ['  api.token=abc def # ops\r\nx=1', '  api.token=***\r\nx=1'],
      [
        'export API_TOKEN=abc def\nMODE=prod',
        'export API_TOKEN=***\nMODE=prod',
      ],
      [
        'env:\n- DB_PASSWORD=abc def\n- MODE=prod',
        'env:\n- DB_PASSWORD=***\n- MODE=prod',
      ],
      // A properties value continued over lines by a trailing backslash.
      [
        'db.password=abc \\\n    def \\\n    ghi\nmode=fast',
        'db.password=***\n    ***\n    ***\nmode=fast',
      ],
      // One argument of an argv or env list: the value runs to the string's closing quote.
      [
        'args: ["--password=correct horse", "--port=80"]',
        'args: ["--password=***", "--port=80"]',
      ],
      [
        "environment: ['DB_PASSWORD=correct horse', 'MODE=prod']",
        "environment: ['DB_PASSWORD=***', 'MODE=prod']",
      ],
      // Further right on a command line a `key=value` pair stays one word.
      [
        'exec app --db-token=abc def --port=80',
        'exec app --db-token=*** def --port=80',
      ],
      ['error: password=abc and more', 'error: password=*** and more'],
    ];
    expect(scrubbed(rows)).toEqual(expected(rows));
  });

  it('hides the value of the secret short flags of known commands, attached or as the next argument', () => {
    const rows: Array<[string, string]> = [
      ['mysql -u root -phunter2 shop', 'mysql -u root -p*** shop'],
      ['mysqldump -u root -p hunter2 shop', 'mysqldump -u root -p *** shop'],
      [
        'kubectl exec db-0 -- /usr/bin/mysql -h db -P 3306 -p"two words" x',
        'kubectl exec db-0 -- /usr/bin/mysql -h db -P 3306 -p*** x',
      ],
      [
        'command: ["mysql", "-uroot", "-phunter2"]',
        'command: ["mysql", "-uroot", "-p***"]',
      ],
      [
        'args: ["sh", "-c", "mysqladmin -phunter2 ping"]',
        // Inside brackets and a string, a value ends at the string's closing quote.
        'args: ["sh", "-c", "mysqladmin -p***"]',
      ],
      [
        'command:\n- mysqldump\n- -u\n- root\n- -phunter2\n- shop',
        'command:\n- mysqldump\n- -u\n- root\n- -p***\n- shop',
      ],
      [
        '    Command:\n      mariadb-dump\n      -p\n      hunter2\n    State: Running',
        '    Command:\n      mariadb-dump\n      -p\n      ***\n    State: Running',
      ],
      [
        'sshpass -p hunter2 ssh -p 2222 host',
        'sshpass -p *** ssh -p 2222 host',
      ],
      ['redis-cli -h cache -a hunter2 ping', 'redis-cli -h cache -a *** ping'],
      [
        'mongodump -u admin -p hunter2 --db x',
        'mongodump -u admin -p *** --db x',
      ],
      // `--pass` and openssl's `-pass`, `-passin`, `-passout` anywhere.
      ['redis-cli --pass hunter2 ping', 'redis-cli --pass *** ping'],
      ['app --pass=hunter2 -v', 'app --pass=*** -v'],
      [
        'openssl enc -aes256 -pass pass:hunter2 -in x',
        'openssl enc -aes256 -pass *** -in x',
      ],
    ];
    expect(scrubbed(rows)).toEqual(expected(rows));
  });

  it('leaves ordinary short flags alone', () => {
    const text = [
      'ssh -p 2222 host',
      'docker run -p8080:80 -a stdout web',
      'mkdir -p /data && cp -p a b && ls -a',
      'mysql -h db -P3306 -u root shop < dump.sql',
      'ssh -p2222 host',
      'mysql -p -u root shop',
      'image: mysql',
      'redis-cli --pass-through -p 6379',
      'app --passive --port 80',
    ].join('\n');
    expect(scrub(text)).toBe(text);
  });

  it('does not hide the argument after a flag that takes no value', () => {
    const rows: Array<[string, string]> = [
      [
        'docker login --password-stdin registry.example.com',
        'docker login --password-stdin registry.example.com',
      ],
      [
        'echo "$PW" | helm registry login --password-stdin ghcr.io -u bob',
        'echo "$PW" | helm registry login --password-stdin ghcr.io -u bob',
      ],
      ['psql --no-password -h db shop', 'psql --no-password -h db shop'],
      // A flag with a value keeps it hidden.
      ['app --password hunter22 --port=80', 'app --password *** --port=80'],
      ['login --password-stdin=x', 'login --password-stdin=***'],
    ];
    expect(scrubbed(rows)).toEqual(expected(rows));
  });

  it('hides secret pairs written in the text of an ordinary values key', () => {
    const values = {
      config: 'db:\n  password: "correct horse"\n  host: db\n',
      props: 'db.password=correct horse\nlog.level=debug',
      args: ['--token', 'abc123', '--port', '80'],
      database: { password: 'p4ss' },
      replicas: 2,
    };
    const shown = redactValues(values);
    expect(shown).toEqual({
      config: 'db:\n  password: "***"\n  host: db\n',
      props: 'db.password=***\nlog.level=debug',
      args: ['--token', '***', '--port', '80'],
      database: { password: '***' },
      replicas: 2,
    });
    expect(JSON.stringify(shown)).not.toMatch(/correct|horse|p4ss|abc123/);
  });

  it('scrubs commands, short flags, continued lines and secret lines in linear time', () => {
    const known = createTextRedactor([
      KNOWN_SECRET_LINES,
      `${KNOWN_SECRET_LINES}\n${KNOWN_SECRET_LINES}`,
    ]);
    // Counted, not timed: ten times the text costs about ten times the work (characters read,
    // searched and spanned by regular expressions), where a quadratic scan costs a hundred times.
    expect(
      superLinearScans(hostileCommandTexts, known, { size: 5_000 }),
    ).toEqual([]);
  });

  it('hides every line of a known secret over lines where its lines appear, short ones included', () => {
    const cert = [
      '-----BEGIN KEY-----',
      'MIIBVwIBADANBgkq',
      'ab==',
      '-----END KEY-----',
    ].join('\n');
    const known = createTextRedactor([cert]);
    // Re-indented in a YAML block: no exact match of the value, its lines are hidden as a block.
    const yaml = `data:\n  tls.key: |\n    ${cert
      .split('\n')
      .join('\n    ')}\n  mode: x\n`;
    expect(createTextRedactor([cert], { keyValuePairs: false })(yaml)).toBe(
      'data:\n  tls.key: |\n    ***\n    ***\n    ***\n    ***\n  mode: x\n',
    );
    // Written with its line breaks escaped (JSON, a YAML double-quoted string).
    expect(known(`{"k": ${JSON.stringify(cert)}}`)).toBe('{"k": "***"}');
    // The last lines alone, as helm prints the end of an error: still a block of the secret.
    expect(
      known(
        'Error: bad value:\n  MIIBVwIBADANBgkq\n  ab==\n  -----END KEY-----\ndone',
      ),
    ).toBe('Error: bad value:\n  ***\n  ***\n  ***\ndone');
    // Without a line of its content (only `ab==` and the armour), they are any key's lines.
    expect(known('Error: bad value:\n  ab==\n  -----END KEY-----\ndone')).toBe(
      'Error: bad value:\n  ab==\n  -----END KEY-----\ndone',
    );
    // One line of it alone, or lines holding under 8 characters together, are ordinary text.
    const short = createTextRedactor(['x=1\ny=2\nid=Zm9vYmFyYmF6MTIz']);
    expect(short('x=1\nz=3\ny=2')).toBe('x=1\nz=3\ny=2');
    expect(short('x=1\ny=2\nq=0')).toBe('x=1\ny=2\nq=0');
    expect(short('a\nid=Zm9vYmFyYmF6MTIz\nb')).toBe(
      'a\nid=Zm9vYmFyYmF6MTIz\nb',
    );
    expect(short('x=1\n\ny=2\nid=Zm9vYmFyYmF6MTIz')).toBe('***\n\n***\n***');
    // Its lines in another order are not its text: nested closing braces stay as they are.
    const json = createTextRedactor(
      [
        '{\n  "type": "service_account",\n  "private_key_id": "4f1c9a7e0b2d3c5e8a"\n}',
      ],
      { keyValuePairs: false },
    );
    const braces = '{\n  {\n    "a": 1\n  }\n}\n}\n}\n}\n}\n}\n}\n}\n}';
    expect(json(braces)).toBe(braces);
    expect(
      json(
        'x:\n  {\n    "type": "service_account",\n    "private_key_id": "4f1c9a7e0b2d3c5e8a"\n  }',
      ),
    ).toBe('x:\n  ***\n    ***\n    ***\n  ***');
    // Its common lines alone are any service account's.
    const common = 'x:\n  {\n    "type": "service_account",\n  }';
    expect(json(common)).toBe(common);
  });
});

describe('values text shown as given, known lines with secret content, short flags across args', () => {
  it('shows settings of values text whose key only mentions a secret word, and booleans', () => {
    const values = {
      extraArgs: ['--authentication-token-webhook=true', '--v=2'],
      config: 'auth.token.ttl=3600\nlog.level=debug\n',
      tlsArgs: ['--secret-name', 'my-tls'],
      authArgs: ['--token-auth-file', '/etc/tokens.csv'],
      manifest:
        'spec:\n  automountServiceAccountToken: false\n  serviceAccountName: web\n',
    };
    expect(redactValues(values)).toEqual(values);
    // A whole secret key of values text is still hidden, a number too; a boolean is a setting.
    expect(
      redactValues({
        config:
          'db.password=12345678\nAPI_TOKEN=abc def\napiKey: "k1"\nuse_token: true\n',
        args: ['--db-password', 'hunter22', '--port', '80'],
        cmd: 'app --token abc --token-ttl 60',
      }),
    ).toEqual({
      config:
        'db.password=***\nAPI_TOKEN=***\napiKey: "***"\nuse_token: true\n',
      args: ['--db-password', '***', '--port', '80'],
      cmd: 'app --token *** --token-ttl 60',
    });
  });

  it('hides known lines only where they carry the secret’s content, not its armour or common lines', () => {
    const chain = [
      '-----BEGIN CERTIFICATE-----',
      'MIIBszCCAVmgAwIBAgIUSecretChainOne1',
      '-----END CERTIFICATE-----',
      '-----BEGIN CERTIFICATE-----',
      'MIIBtDCCAVqgAwIBAgIUSecretChainTwo2',
      '-----END CERTIFICATE-----',
    ].join('\n');
    const known = createTextRedactor([chain], { keyValuePairs: false });
    // A public CA bundle elsewhere shares only the armour lines: kept, valid PEM.
    const bundle = [
      'ca.crt: |',
      '  -----BEGIN CERTIFICATE-----',
      '  MIIC0zCCAbugAwIBAgIJAPublicCaOne',
      '  -----END CERTIFICATE-----',
      '  -----BEGIN CERTIFICATE-----',
      '  MIIC1zCCAbugAwIBAgIJAPublicCaTwo',
      '  -----END CERTIFICATE-----',
    ].join('\n');
    expect(known(bundle)).toBe(bundle);
    // The chain itself, re-indented, is hidden line by line.
    expect(known(`tls.crt: |\n  ${chain.split('\n').join('\n  ')}`)).toBe(
      `tls.crt: |${'\n  ***'.repeat(6)}`,
    );
    const alertmanager = [
      'global:',
      '  slack_api_url: https://hooks.slack.com/services/T0AB12CD/B0EF34GH/abcDEF123ghiJKL456',
      'route:',
      '  receiver: slack',
      '  group_wait: 30s',
    ].join('\n');
    const am = createTextRedactor([alertmanager], { keyValuePairs: false });
    const routes =
      'route:\n  receiver: slack\n  group_wait: 30s\n  group_by: [x]';
    expect(am(routes)).toBe(routes);
    expect(
      am(
        'error in:\n  slack_api_url: https://hooks.slack.com/services/T0AB12CD/B0EF34GH/abcDEF123ghiJKL456\nroute:\nend',
      ),
    ).toBe('error in:\n  ***\n***\nend');
  });

  it('hides a password short flag given under args after its command, and a command in capitals', () => {
    const scrub = createTextRedactor();
    expect(
      scrub(
        '    Command:\n      mysql\n    Args:\n      -h\n      db\n      -phunter2\n    State: Running',
      ),
    ).toBe(
      '    Command:\n      mysql\n    Args:\n      -h\n      db\n      -p***\n    State: Running',
    );
    expect(scrub('command:\n- mysql\nargs:\n- -phunter2\nimage: x')).toBe(
      'command:\n- mysql\nargs:\n- -p***\nimage: x',
    );
    expect(
      scrub('  command:\n    - mysqldump\n  args:\n    - -p\n    - hunter2\n'),
    ).toBe('  command:\n    - mysqldump\n  args:\n    - -p\n    - ***\n');
    expect(scrub('MYSQL -phunter2 shop')).toBe('MYSQL -p*** shop');
    // Args of another container, or not the command's sibling, are not the command's.
    const other = 'command:\n- mysql\nports:\n- -p8080\nargs:\n- -p9090';
    expect(scrub(other)).toBe(other);
  });
});

describe('credentials in the URLs of free text', () => {
  it('hides the password of a URL, not its user, host or path', () => {
    expect(hideUrlCredentials('postgres://u:hunter22@db:5432/x?ssl=1')).toBe(
      'postgres://u:***@db:5432/x?ssl=1',
    );
    expect(
      hideUrlCredentials('a https://x:y@h/p and redis://:pw@cache b'),
    ).toBe('a https://x:***@h/p and redis://:***@cache b');
    expect(hideUrlCredentials('amqp://u:p@ss@mq/vhost')).toBe(
      'amqp://u:***@mq/vhost',
    );
    for (const plain of [
      'https://example.com:8443/path',
      'https://user@example.com/x',
      'mailto:a@b.c',
      'postgres://u:@db/x',
      'no url here',
    ]) {
      expect(hideUrlCredentials(plain)).toBe(plain);
    }
  });

  it('hides URL passwords in helm commands, log lines and values text', () => {
    const scrub = createTextRedactor();
    expect(
      scrub('helm repo add x https://user:s3cret@charts.example.com'),
    ).toBe('helm repo add x https://user:***@charts.example.com');
    expect(scrub('connecting to postgres://app:hunter2@db:5432/x')).toBe(
      'connecting to postgres://app:***@db:5432/x',
    );
    // With known secrets too, and what was hidden stays hidden when scrubbed again.
    const withKnown = createTextRedactor(['known-secret-1']);
    const line =
      'Error: looks like "https://bot:ghp_Abc123@charts.example.com" is not a valid chart repository (known-secret-1)';
    const shown = withKnown(line);
    expect(shown).toBe(
      'Error: looks like "https://bot:***@charts.example.com" is not a valid chart repository (***)',
    );
    expect(withKnown(shown)).toBe(shown);
    // The value of an ordinary values key (a repository or database URL).
    expect(
      redactValues({
        repository: 'https://user:s3cret@charts.example.com/stable',
        db: { url: 'postgres://app:hunter2@db:5432/x', host: 'db' },
        args: ['--url', 'mysql://root:r00t@mysql/shop'],
      }),
    ).toEqual({
      repository: 'https://user:***@charts.example.com/stable',
      db: { url: 'postgres://app:***@db:5432/x', host: 'db' },
      args: ['--url', 'mysql://root:***@mysql/shop'],
    });
    // A URL without a password is shown as it is.
    const plain = 'helm repo add x https://charts.example.com:8443/stable';
    expect(scrub(plain)).toBe(plain);
  });

  it('hides a URL password holding `/`, `#` or `?`, up to the last `@` of its word', () => {
    const scrub = createTextRedactor();
    expect(
      hideUrlCredentials(
        'helm repo add x https://app:s3cr3t/value@charts.example.com',
      ),
    ).toBe('helm repo add x https://app:***@charts.example.com');
    expect(hideUrlCredentials('redis://:s3cr3t#value@redis:6379/0')).toBe(
      'redis://:***@redis:6379/0',
    );
    expect(hideUrlCredentials(`x https://u:it's"so@h/p y`)).toBe(
      'x https://u:***@h/p y',
    );
    expect(
      scrub('pulling https://app:s3cr3t?x/y@charts.example.com/a.tgz now'),
    ).toBe('pulling https://app:***@charts.example.com/a.tgz now');
    expect(
      redactValues({
        repository: 'https://app:s3cr3t/value@charts.example.com/stable',
        args: ['--url', 'redis://:s3cr3t#value@redis:6379/0'],
      }),
    ).toEqual({
      repository: 'https://app:***@charts.example.com/stable',
      args: ['--url', 'redis://:***@redis:6379/0'],
    });
    // An `@` of another word is not the URL's: a port and path are shown.
    for (const plain of [
      'https://charts.example.com:8443/stable by ops@example.com',
      'see https://h:8443/x\nmail a@b',
    ]) {
      expect(hideUrlCredentials(plain)).toBe(plain);
    }
  });

  it('keeps the host and path of a URL whose user names a secret', () => {
    const scrub = createTextRedactor();
    const line =
      'https://gitlab-ci-token:s3cr3t@gitlab.example.com/group/repo.git failed';
    const shown =
      'https://gitlab-ci-token:***@gitlab.example.com/group/repo.git failed';
    expect(hideUrlCredentials(line)).toBe(shown);
    expect(scrub(line)).toBe(shown);
    expect(scrub(shown)).toBe(shown);
    expect(redactValues({ repo: line })).toEqual({ repo: shown });
    expect(
      scrub('git clone https://ci.token:s3cr3t/x@gitlab.example.com/g/r.git'),
    ).toBe('git clone https://ci.token:***@gitlab.example.com/g/r.git');
    // Not a URL's user: the value is hidden as before.
    expect(scrub('gitlab-ci-token:s3cr3t@gitlab.example.com done')).toBe(
      'gitlab-ci-token:*** done',
    );
    // `true`/`false` of a setting stay shown in values.
    expect(
      redactValues({
        gitlab: 'gitlab-ci-token: false',
        args: ['--use-token=true', '--token', 'false'],
        token: true,
      }),
    ).toEqual({
      gitlab: 'gitlab-ci-token: false',
      args: ['--use-token=true', '--token', 'false'],
      token: true,
    });
  });

  it('scrubs URL-like hostile text in linear time', () => {
    const scrub = createTextRedactor();
    // Counted, not timed: ten times the text, about ten times the work; a quadratic scan, a hundred.
    expect(superLinearScans(HOSTILE_URLS, scrub, { size: 5_000 })).toEqual([]);
  });
});

describe('secrets the free-text rules of every family find', () => {
  const scrub = createTextRedactor();

  it('hides a token given as a URL’s user, and OAuth and signature parameters', () => {
    expect(
      scrub(
        'fatal: clone of https://ghp_abc123def456ghi789@github.com/org/repo failed',
      ),
    ).toBe('fatal: clone of https://***@github.com/org/repo failed');
    expect(
      hideUrlCredentials('https://ghp_abc123def456ghi789@github.com/org/repo'),
    ).toBe('https://***@github.com/org/repo');
    expect(
      scrub(
        'GET https://b.s3.amazonaws.com/chart.tgz?X-Amz-Date=1&X-Amz-Signature=deadbeef&x=1 and https://h/cb?code=abc123&state=xyz',
      ),
    ).toBe(
      'GET https://b.s3.amazonaws.com/chart.tgz?X-Amz-Date=1&X-Amz-Signature=***&x=1 and https://h/cb?code=***&state=xyz',
    );
  });

  it('hides the value of an env entry whose name comes after it, and keeps a secretKeyRef', () => {
    expect(scrub('env: [{"value":"hunter2","name":"DB_PASSWORD"}]')).toBe(
      'env: [{"value":"***","name":"DB_PASSWORD"}]',
    );
    const ref =
      'env:\n- name: DB_PASSWORD\n  valueFrom:\n    secretKeyRef: {name: db, key: password}\n';
    expect(scrub(ref)).toBe(ref);
  });
});
