import {
  hiddenPlanValues,
  hideSecretPairs,
  hideUrlCredentials,
  isSecretKey,
  redactObject,
  redactPlan,
  redactValues,
  scrubText,
  withoutValues,
} from './redact';

describe('redaction of what the assistant shows', () => {
  it('takes the secret-looking keys of the KubeChart family', () => {
    for (const key of [
      'DB_PASSWORD',
      'passwd',
      'API_TOKEN',
      'clientSecret',
      'apiKey',
      'ssh-key',
      'AWS_CREDENTIALS',
    ]) {
      expect(isSecretKey(key)).toBe(true);
    }
    for (const key of ['LOG_LEVEL', 'url', 'replicas', 'name']) {
      expect(isSecretKey(key)).toBe(false);
    }
  });

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

  it('hides secret-looking key=value pairs of free text', () => {
    expect(hideSecretPairs('db.password=abc\nlog.level=debug')).toBe(
      'db.password=***\nlog.level=debug',
    );
    expect(hideSecretPairs('--api-token=xyz --port=80')).toBe(
      '--api-token=*** --port=80',
    );
    expect(hideSecretPairs('{"clientSecret": "s3"}')).toBe(
      '{"clientSecret": "***"}',
    );
    expect(scrubText('password: *** already')).toBe('password: *** already');
  });

  it('scrubs text in linear time', () => {
    const long = `${'a-a://'.repeat(50_000)}${'token-'.repeat(50_000)}`;
    const started = Date.now();
    scrubText(long);
    scrubText('://@:'.repeat(100_000));
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('stays fast on 2,000 characters made of the words and separators it looks for', () => {
    const hostile = [
      'token'.repeat(400),
      'password'.repeat(250),
      'token='.repeat(334),
      'token: "'.repeat(250),
      `token${' '.repeat(1990)}=x`,
      `token${'"'.repeat(1990)}`,
      'a://'.repeat(500),
      'a://b:'.repeat(334),
      'a://b:c@'.repeat(250),
      ':@'.repeat(1000),
      `${'a://'.repeat(250)}${'token='.repeat(167)}`,
      'token=*** '.repeat(200),
    ].map(text => text.slice(0, 2000));
    const slow: string[] = [];
    for (const text of hostile) {
      const started = performance.now();
      scrubText(text);
      const plan = {
        verb: 'exec' as const,
        resource: 'pods' as const,
        command: [text],
        labels: { token: text },
        annotations: { note: text },
        patch: text,
      };
      const shown = redactPlan(plan);
      withoutValues(text, hiddenPlanValues(plan, shown));
      redactObject({ kind: 'ConfigMap', data: { 'app.conf': text } });
      const ms = performance.now() - started;
      // Linear scans take well under a millisecond; a backtracking one takes hundreds.
      if (ms >= 50) slow.push(`${text.slice(0, 24)}…: ${Math.round(ms)} ms`);
    }
    expect(slow).toEqual([]);
  });

  it('shows a Secret as key names and sizes, as before', () => {
    const out = redactObject(
      {
        metadata: {
          name: 's',
          annotations: { note: 'rotated to hunter22' },
          managedFields: [{}],
        },
        type: 'Opaque',
        data: { password: Buffer.from('hunter22').toString('base64') },
        stringData: { token: 'abc' },
      },
      'Secret',
    );
    expect(out).toEqual({
      metadata: {
        name: 's',
        annotations: { note: '<19 bytes, hidden on a Secret>' },
      },
      type: 'Opaque',
      data: { password: '<8 bytes>' },
    });
  });

  it('hides secret-looking ConfigMap keys, the last-applied copy and URL credentials', () => {
    const cm = {
      metadata: {
        name: 'settings',
        annotations: {
          'kubectl.kubernetes.io/last-applied-configuration':
            '{"x":"hunter22"}',
          'example.com/api-token': 'hunter22',
          'example.com/owner': 'team-a',
        },
      },
      data: {
        DB_PASSWORD: 'hunter22',
        url: 'postgres://u:hunter22@db/x',
        'app.properties': 'db.password=hunter22\nlog.level=debug',
        LOG_LEVEL: 'debug',
      },
      binaryData: { 'tls.key': 'aHVudGVyMjI=', 'logo.png': 'iVBO' },
    };
    const out = redactObject(cm, 'ConfigMap');
    expect(JSON.stringify(out)).not.toContain('hunter22');
    expect(out).toEqual({
      metadata: {
        name: 'settings',
        annotations: {
          'kubectl.kubernetes.io/last-applied-configuration':
            '<16 bytes, hidden>',
          'example.com/api-token': '***',
          'example.com/owner': 'team-a',
        },
      },
      data: {
        DB_PASSWORD: '***',
        url: 'postgres://u:***@db/x',
        'app.properties': 'db.password=***\nlog.level=debug',
        LOG_LEVEL: 'debug',
      },
      binaryData: { 'tls.key': '***', 'logo.png': 'iVBO' },
    });
    expect(cm.data.DB_PASSWORD).toBe('hunter22');
  });

  it('hides secret-looking env values of pods, templates and job templates, keeping references', () => {
    const container = {
      name: 'c',
      args: ['--db-password=hunter22', '--port=80'],
      env: [
        { name: 'API_TOKEN', value: 'hunter22' },
        { name: 'LOG_LEVEL', value: 'debug' },
        {
          name: 'DB_PASSWORD',
          valueFrom: { secretKeyRef: { name: 'db', key: 'password' } },
        },
      ],
    };
    const shown = {
      name: 'c',
      args: ['--db-password=***', '--port=80'],
      env: [
        { name: 'API_TOKEN', value: '***' },
        { name: 'LOG_LEVEL', value: 'debug' },
        {
          name: 'DB_PASSWORD',
          valueFrom: { secretKeyRef: { name: 'db', key: 'password' } },
        },
      ],
    };
    const pod = {
      spec: { initContainers: [container], containers: [container] },
    };
    expect(redactObject(pod, 'Pod')).toEqual({
      spec: { initContainers: [shown], containers: [shown] },
    });
    const cron = {
      spec: {
        jobTemplate: {
          spec: { template: { spec: { containers: [container] } } },
        },
      },
    };
    expect(
      redactObject(cron, 'CronJob').spec.jobTemplate.spec.template.spec
        .containers,
    ).toEqual([shown]);
  });
});

describe('redaction of what the audit trail records', () => {
  it('hides values under secret-looking keys and of secret-looking env entries', () => {
    expect(
      redactValues({
        data: { password: 'p', mode: 'm', enabled: true },
        env: [
          { name: 'API_TOKEN', value: 'v' },
          { name: 'MODE', value: 'prod' },
        ],
        url: 'https://u:p@h/',
      }),
    ).toEqual({
      data: { password: '***', mode: 'm', enabled: true },
      env: [
        { name: 'API_TOKEN', value: '***' },
        { name: 'MODE', value: 'prod' },
      ],
      url: 'https://u:***@h/',
    });
  });

  it('redacts a plan’s patch, labels and annotations, leaving the rest alone', () => {
    const plan = {
      verb: 'patch' as const,
      resource: 'deployments' as const,
      name: 'web',
      namespace: 'shop',
      patch: '{"metadata":{"annotations":{"db-password":"hunter22"}}}',
    };
    expect(redactPlan(plan)).toEqual({
      ...plan,
      patch: '{"metadata":{"annotations":{"db-password":"***"}}}',
    });
    expect(plan.patch).toContain('hunter22');
    expect(
      redactPlan({ ...plan, patch: 'not json; password=hunter22' }).patch,
    ).toBe('not json; password=***');
    const annotate = {
      verb: 'annotate' as const,
      resource: 'deployments' as const,
      name: 'web',
      annotations: { 'example.com/token': 'hunter22', owner: 'a' },
    };
    expect(redactPlan(annotate).annotations).toEqual({
      'example.com/token': '***',
      owner: 'a',
    });
    const spaced = { ...plan, patch: '{ "spec": { "replicas": 3 } }' };
    expect(redactPlan(spaced)).toEqual(spaced);
    const get = { verb: 'get' as const, resource: 'pods' as const };
    expect(redactPlan(get)).toEqual(get);
  });
});

describe('secret pairs of free text', () => {
  it('hides the value of every key the structured rule calls secret', () => {
    const properties = [
      'stripe.api-key=sk_live_51Hxyz',
      'private_key=PRIVKEYVALUE123',
      'aws.access-key=AKIAEXAMPLE',
      'args: --api-key=APIKEYARGVALUE42 --port=80',
      'sshKey: AAAAB3Nza',
    ].join('\n');
    expect(hideSecretPairs(properties)).toBe(
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
      expect(hideSecretPairs(`${key}=v4lue`)).toBe(`${key}=***`);
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
    expect(hideSecretPairs(text)).toBe(text);
  });

  it('hides a whole quoted value, spaces and escaped quotes included', () => {
    expect(hideSecretPairs('--password="two words" --port=80')).toBe(
      '--password="***" --port=80',
    );
    expect(hideSecretPairs("token: 'a b c' # note")).toBe(
      "token: '***' # note",
    );
    expect(hideSecretPairs('{"clientSecret": "s3 cr\\"et x", "n": 1}')).toBe(
      '{"clientSecret": "***", "n": 1}',
    );
    expect(hideSecretPairs("password: 'it''s mine'")).toBe("password: '***'");
    // An unclosed quote hides the rest of its line, not the lines after it.
    expect(hideSecretPairs('password="open ended\nmode=fast')).toBe(
      'password="***\nmode=fast',
    );
    expect(hideSecretPairs('password: ""')).toBe('password: ""');
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
    expect(hideSecretPairs(yaml)).toBe(
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
    expect(hideSecretPairs('- password: |\r\n    x\r\n  mode: y\r\n')).toBe(
      '- password: |\r\n    ***\r\n  mode: y\r\n',
    );
    expect(scrubText(hideSecretPairs(yaml))).toBe(hideSecretPairs(yaml));
  });

  it('shows none of the values of a ConfigMap holding them in config files', () => {
    const values = [
      'sk_live_51Hxyz',
      'PRIVKEYVALUE123',
      'AKIAEXAMPLE',
      'APIKEYARGVALUE42',
      'hunter2BLOCKVALUE',
      'two words',
    ];
    const cm = {
      kind: 'ConfigMap',
      metadata: { name: 'x', namespace: 'shop' },
      data: {
        'app.properties': [
          `stripe.api-key=${values[0]}`,
          `private_key=${values[1]}`,
          `aws.access-key=${values[2]}`,
          'log.level=debug',
        ].join('\n'),
        'run.sh': `exec app --api-key=${values[3]} --password="${values[5]}"`,
        'config.yaml': `db:\n  password: |\n    ${values[4]}\n  host: db\n`,
      },
    };
    const shown = JSON.stringify(redactObject(cm));
    for (const v of values) expect(shown).not.toContain(v);
    expect(shown).toContain('log.level=debug');
    expect(shown).toContain('host: db');
  });

  it('scrubs 200 KB of hostile text in linear time', () => {
    const size = 200_000;
    const fill = (unit: string) =>
      unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
    const hostile = [
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
    ];
    const slow: string[] = [];
    for (const text of hostile) {
      const started = performance.now();
      scrubText(text);
      const ms = performance.now() - started;
      // A linear scan takes a few milliseconds; a quadratic one takes seconds at this size.
      if (ms >= 1000) slow.push(`${text.slice(0, 12)}…: ${Math.round(ms)} ms`);
    }
    expect(slow).toEqual([]);
  });
});
