import {
  hiddenPlanValues,
  hideUrlCredentials,
  isSecretKey,
  redactObject,
  redactPlan,
  redactValues,
  scrubText,
  withoutValues,
} from './redact';
import {
  HOSTILE_URLS,
  KNOWN_SECRET_LINES,
  hostileCommandTexts,
  hostileSecretTexts,
  superLinearScans,
} from '@internal/kube-sim/testUtils';

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

  it('hides a URL password holding `/`, `#` or `?`, up to the last `@` of its word', () => {
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
      scrubText('pulling https://app:s3cr3t?x/y@charts.example.com/a.tgz now'),
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
    const line =
      'https://gitlab-ci-token:s3cr3t@gitlab.example.com/group/repo.git failed';
    const shown =
      'https://gitlab-ci-token:***@gitlab.example.com/group/repo.git failed';
    expect(hideUrlCredentials(line)).toBe(shown);
    expect(scrubText(line)).toBe(shown);
    expect(scrubText(shown)).toBe(shown);
    expect(redactValues({ repo: line })).toEqual({ repo: shown });
    expect(
      scrubText(
        'git clone https://ci.token:s3cr3t/x@gitlab.example.com/g/r.git',
      ),
    ).toBe('git clone https://ci.token:***@gitlab.example.com/g/r.git');
    // Not a URL's user: the value is hidden as before.
    expect(scrubText('gitlab-ci-token:s3cr3t@gitlab.example.com done')).toBe(
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

  it('hides a bare JWT, also one cut short, keeping the words around it', () => {
    const jwt =
      'eyJhbGciOiJSUzI1NiIsImtpZCI6Ik1ZIn0.eyJpc3MiOiJrdWJlcm5ldGVzIiwic3ViIjoic3lzdGVtOnNlcnZpY2VhY2NvdW50In0.c2lnbmF0dXJlLXBhcnQ_-x';
    expect(scrubText(`upstream rejected ${jwt} (expired)`)).toBe(
      'upstream rejected *** (expired)',
    );
    expect(scrubText(`upstream rejected ${jwt.slice(0, 60)}`)).toBe(
      'upstream rejected ***',
    );
    expect(scrubText('eyJ is how base64 of JSON starts')).toBe(
      'eyJ is how base64 of JSON starts',
    );
  });

  it('hides secret-looking key=value pairs of free text', () => {
    expect(scrubText('db.password=abc\nlog.level=debug')).toBe(
      'db.password=***\nlog.level=debug',
    );
    expect(scrubText('--api-token=xyz --port=80')).toBe(
      '--api-token=*** --port=80',
    );
    expect(scrubText('{"clientSecret": "s3"}')).toBe('{"clientSecret": "***"}');
    // What was hidden stays hidden; the words after it on its line are part of the value.
    expect(scrubText('password: ***')).toBe('password: ***');
    expect(scrubText('password: *** already')).toBe('password: ***');
  });

  it('scrubs text in linear time', () => {
    // Counted, not timed: ten times the text costs about ten times the work (characters read,
    // searched and spanned by regular expressions), where a quadratic scan costs a hundred times.
    expect(superLinearScans(HOSTILE_URLS, scrubText, { size: 2_000 })).toEqual(
      [],
    );
  });

  it('scrubs 2,000 characters made of the words and separators it looks for in linear time', () => {
    // Each text of `n` characters.
    const hostile = [
      (n: number) => 'token'.repeat(n / 5),
      (n: number) => 'password'.repeat(n / 8),
      (n: number) => 'token='.repeat(n / 6 + 1),
      (n: number) => 'token: "'.repeat(n / 8),
      (n: number) => `token${' '.repeat(n - 10)}=x`,
      (n: number) => `token${'"'.repeat(n - 10)}`,
      (n: number) => 'a://'.repeat(n / 4),
      (n: number) => 'a://b:'.repeat(n / 6 + 1),
      (n: number) => 'a://b:c@'.repeat(n / 8),
      (n: number) => ':@'.repeat(n / 2),
      (n: number) => `${'a://'.repeat(n / 8)}${'token='.repeat(n / 12 + 1)}`,
      (n: number) => 'token=*** '.repeat(n / 10),
      (n: number) => 'password=hunter22 and '.repeat(n / 22 + 1),
    ].map(textOf => (n: number) => textOf(n).slice(0, n));
    /** Shows `text` everywhere a plan or an object may hold it. */
    const show = (text: string) => {
      const plan = {
        verb: 'exec' as const,
        resource: 'pods' as const,
        command: [text],
        labels: { token: text },
        annotations: { note: text },
        patch: text,
      };
      scrubText(text);
      withoutValues(text, hiddenPlanValues(plan, redactPlan(plan)));
      redactObject({ kind: 'ConfigMap', data: { 'app.conf': text } });
    };
    // Counted, not timed: ten times the text costs about ten times the work (characters read,
    // searched and spanned by regular expressions), where a scan restarted at each near miss costs
    // a hundred times.
    expect(superLinearScans(hostile, show, { size: 200, shown: 24 })).toEqual(
      [],
    );
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
      // Opaque bytes (often a packed copy of a config holding credentials): hidden whatever their key.
      binaryData: { 'tls.key': '***', 'logo.png': '***' },
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
    // Shown as it is sent.
    const spaced = { ...plan, patch: '{ "spec": { "replicas": 3 } }' };
    expect(redactPlan(spaced)).toEqual({
      ...spaced,
      patch: '{"spec":{"replicas":3}}',
    });
    const compact = { ...plan, patch: '{"spec":{"replicas":3}}' };
    expect(redactPlan(compact)).toEqual(compact);
    const get = { verb: 'get' as const, resource: 'pods' as const };
    expect(redactPlan(get)).toEqual(get);
  });

  it('takes a hidden word out of the explanation even where a shown word contains it', () => {
    // `ab` is hidden; `cab`, shown, contains it: the explanation must still lose `ab`.
    const plan = {
      verb: 'exec' as const,
      resource: 'pods' as const,
      name: 'web',
      namespace: 'shop',
      command: ['sh', '-c', 'env PASSWORD=ab cab'],
    };
    const shown = redactPlan(plan);
    expect(shown.command).toEqual(['sh', '-c', 'env PASSWORD=*** cab']);
    expect(hiddenPlanValues(plan, shown)).toEqual(['ab']);
  });

  it('shows the names a patch refers to Secrets by, and hides the values beside them', () => {
    const body = (apiToken: string, secret: string) => ({
      spec: {
        template: {
          spec: {
            imagePullSecrets: [{ name: 'regcred' }],
            volumes: [
              {
                name: 't',
                secret: {
                  secretName: 'shop-deployer-token',
                  items: [{ key: 'token', path: 'token' }],
                  defaultMode: 420,
                  optional: false,
                },
              },
              {
                name: 'p',
                projected: {
                  sources: [
                    {
                      secret: {
                        name: 'creds',
                        items: [{ key: 'password', path: 'db/password' }],
                      },
                    },
                  ],
                },
              },
            ],
            containers: [
              {
                name: 'app',
                env: [
                  {
                    name: 'DB_PASSWORD',
                    valueFrom: {
                      secretKeyRef: { name: 'db', key: 'password' },
                    },
                  },
                  { name: 'API_TOKEN', value: apiToken },
                ],
                envFrom: [{ secretRef: { name: 'app-secrets' } }],
              },
            ],
            initContainers: [
              {
                name: 'migrate',
                env: [
                  {
                    name: 'SIGNING_KEY',
                    valueFrom: {
                      configMapKeyRef: {
                        name: 'settings',
                        key: 'signing-key-id',
                        optional: true,
                      },
                    },
                  },
                ],
                envFrom: [{ configMapRef: { name: 'settings' } }],
              },
            ],
          },
        },
        clientSecret: secret,
      },
    });
    const plan = {
      verb: 'patch' as const,
      resource: 'deployments' as const,
      name: 'web',
      namespace: 'shop',
      patch: JSON.stringify(body('hunter22', 's3cr3t')),
    };
    const shown = redactPlan(plan);
    expect(JSON.parse(shown.patch!)).toEqual(body('***', '***'));
    // Only the values are taken out of the explanation, not the names.
    expect(hiddenPlanValues(plan, shown).sort()).toEqual([
      'hunter22',
      's3cr3t',
    ]);
    // The same pod spec where a Pod and a CronJob hold it, and an Ingress's TLS Secret.
    const podSpec = body('hunter22', 's3cr3t').spec.template.spec;
    const shownSpec = body('***', '***').spec.template.spec;
    const pod = {
      ...plan,
      resource: 'pods' as const,
      patch: JSON.stringify({ spec: podSpec }),
    };
    expect(JSON.parse(redactPlan(pod).patch!)).toEqual({ spec: shownSpec });
    const cron = {
      ...plan,
      resource: 'cronjobs' as const,
      patch: JSON.stringify({
        spec: { jobTemplate: { spec: { template: { spec: podSpec } } } },
      }),
    };
    expect(JSON.parse(redactPlan(cron).patch!)).toEqual({
      spec: { jobTemplate: { spec: { template: { spec: shownSpec } } } },
    });
    const ingress = {
      ...plan,
      resource: 'ingresses' as const,
      patch: JSON.stringify({
        spec: {
          tls: [{ hosts: ['shop.example.test'], secretName: 'shop-tls' }],
        },
      }),
    };
    expect(redactPlan(ingress).patch).toBe(ingress.patch);
  });

  it('hides what a name field holds when it is not a name, and fields a reference does not have', () => {
    const plan = {
      verb: 'patch' as const,
      resource: 'deployments' as const,
      name: 'web',
      namespace: 'shop',
      patch: JSON.stringify({
        spec: {
          secret: 'hunter22',
          template: {
            spec: {
              volumes: [
                {
                  name: 't',
                  secret: { secretName: 'p@ss word', token: 'abc' },
                },
              ],
              containers: [
                {
                  name: 'app',
                  env: [
                    {
                      name: 'A',
                      valueFrom: {
                        secretKeyRef: {
                          name: 'db',
                          key: 'password',
                          value: 'hunter2',
                        },
                      },
                    },
                  ],
                },
              ],
            },
          },
        },
      }),
    };
    expect(JSON.parse(redactPlan(plan).patch!)).toEqual({
      spec: {
        secret: '***',
        template: {
          spec: {
            volumes: [
              { name: 't', secret: { secretName: '***', token: '***' } },
            ],
            containers: [
              {
                name: 'app',
                env: [
                  {
                    name: 'A',
                    valueFrom: {
                      secretKeyRef: {
                        name: 'db',
                        key: 'password',
                        value: '***',
                      },
                    },
                  },
                ],
              },
            ],
          },
        },
      },
    });
    // A Secret's own data stays hidden whatever its keys are called.
    const secret = {
      verb: 'patch' as const,
      resource: 'secrets' as const,
      name: 'tls',
      namespace: 'shop',
      patch: '{"stringData":{"secretName":"shop-tls"}}',
    };
    expect(redactPlan(secret).patch).toBe(
      '{"stringData":{"secretName":"***"}}',
    );
  });

  it('shows a name as planned only where Kubernetes reads it as a reference, never in a map of values', () => {
    const patchOf = (resource: string, body: object) => ({
      verb: 'patch' as const,
      resource: resource as 'deployments',
      name: 'web',
      namespace: 'shop',
      patch: JSON.stringify(body),
    });
    const ref = { name: 'Tr0ub4dor3xK9v', key: 'Tr0ub4dor3xK9v' };
    const cases: Array<[string, object, object]> = [
      [
        'configmaps',
        { data: { secretName: 'Tr0ub4dor3xK9v', password: 'hunter22' } },
        { data: { secretName: '***', password: '***' } },
      ],
      [
        'configmaps',
        { binaryData: { secretName: 'VHIwdWI0ZG9yM3hLOXY' } },
        { binaryData: { secretName: '***' } },
      ],
      [
        'secrets',
        { metadata: { annotations: { secretName: 'Tr0ub4dor3xK9v' } } },
        { metadata: { annotations: { secretName: '***' } } },
      ],
      [
        'deployments',
        {
          metadata: {
            annotations: { secretName: 'Tr0ub4dor3xK9v' },
            labels: { secretName: 'Tr0ub4dor3xK9v' },
          },
          spec: {
            template: {
              metadata: { annotations: { secretName: 'Tr0ub4dor3xK9v' } },
              spec: {
                nodeSelector: { secretName: 'Tr0ub4dor3xK9v' },
                containers: [
                  {
                    name: 'app',
                    // Not where Kubernetes reads a reference in a container.
                    secretKeyRef: ref,
                    env: [{ name: 'A', secretKeyRef: ref }],
                  },
                ],
                // A pod spec's place for volumes, but not a secret volume's for its name.
                volumes: [{ name: 'v', secretName: 'Tr0ub4dor3xK9v' }],
              },
            },
            // A Deployment's spec is no pod spec.
            volumes: [{ name: 'v', secret: { secretName: 'Tr0ub4dor3xK9v' } }],
            imagePullSecrets: [{ name: 'Tr0ub4dor3xK9v' }],
          },
        },
        {
          metadata: {
            annotations: { secretName: '***' },
            labels: { secretName: '***' },
          },
          spec: {
            template: {
              metadata: { annotations: { secretName: '***' } },
              spec: {
                nodeSelector: { secretName: '***' },
                containers: [
                  {
                    name: 'app',
                    secretKeyRef: { name: '***', key: '***' },
                    env: [
                      { name: 'A', secretKeyRef: { name: '***', key: '***' } },
                    ],
                  },
                ],
                volumes: [{ name: 'v', secretName: '***' }],
              },
            },
            volumes: [{ name: 'v', secret: { secretName: '***' } }],
            imagePullSecrets: [{ name: '***' }],
          },
        },
      ],
      [
        // A CronJob's pod spec is under its job template, not under spec.template.
        'cronjobs',
        {
          spec: {
            template: {
              spec: { imagePullSecrets: [{ name: 'Tr0ub4dor3xK9v' }] },
            },
          },
        },
        {
          spec: { template: { spec: { imagePullSecrets: [{ name: '***' }] } } },
        },
      ],
      [
        // TLS Secrets are an Ingress's: elsewhere, a field of that name is a value.
        'services',
        { spec: { tls: [{ secretName: 'Tr0ub4dor3xK9v' }] } },
        { spec: { tls: [{ secretName: '***' }] } },
      ],
      [
        'ingresses',
        {
          metadata: { annotations: { secretName: 'Tr0ub4dor3xK9v' } },
          spec: { tls: [{ secretName: 'shop-tls' }] },
        },
        {
          metadata: { annotations: { secretName: '***' } },
          spec: { tls: [{ secretName: 'shop-tls' }] },
        },
      ],
    ];
    for (const [resource, body, expected] of cases) {
      const plan = patchOf(resource, body);
      const shown = redactPlan(plan);
      expect([resource, JSON.parse(shown.patch!)]).toEqual([
        resource,
        expected,
      ]);
      // The model's explanation loses what the plan hides.
      const value = plan.patch.includes('Tr0ub4dor3xK9v')
        ? 'Tr0ub4dor3xK9v'
        : 'VHIwdWI0ZG9yM3hLOXY';
      const explanation = withoutValues(
        `Sets secretName to ${value}.`,
        hiddenPlanValues(plan, shown),
      );
      expect(explanation).toBe('Sets secretName to ***.');
    }
  });

  it('shows a patch as it is sent when its text says more, and hides what its text alone holds from the explanation', () => {
    // JSON keeps the last of two equal keys: the first `spec` is never sent.
    const text =
      '{"spec":{"template":{"spec":{"containers":[{"name":"app","env":[{"name":"DB_PASSWORD","value":"hunter22"}]}]}}},' +
      '"spec":{"template":{"spec":{"volumes":[{"name":"t","secret":{"secretName":"db"}}]}}}}';
    const plan = {
      verb: 'patch' as const,
      resource: 'deployments' as const,
      name: 'web',
      namespace: 'shop',
      patch: text,
    };
    const shown = redactPlan(plan);
    expect(shown.patch).toBe(JSON.stringify(JSON.parse(text)));
    expect(shown.patch).not.toContain('hunter22');
    expect(
      withoutValues(
        'Sets DB_PASSWORD to hunter22 and mounts db.',
        hiddenPlanValues(plan, shown),
      ),
    ).not.toContain('hunter22');
    // Nothing hidden, but the text is not what is sent: shown as sent.
    const twice = {
      ...plan,
      patch: '{"spec":{"replicas":3},"spec":{"replicas":5}}',
    };
    expect(redactPlan(twice).patch).toBe('{"spec":{"replicas":5}}');
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
    expect(scrubText(properties)).toBe(
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
      expect(scrubText(`${key}=v4lue`)).toBe(`${key}=***`);
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
    expect(scrubText(text)).toBe(text);
  });

  it('hides a whole quoted value, spaces and escaped quotes included', () => {
    expect(scrubText('--password="two words" --port=80')).toBe(
      '--password="***" --port=80',
    );
    expect(scrubText("token: 'a b c' # note")).toBe("token: '***' # note");
    expect(scrubText('{"clientSecret": "s3 cr\\"et x", "n": 1}')).toBe(
      '{"clientSecret": "***", "n": 1}',
    );
    expect(scrubText("password: 'it''s mine'")).toBe("password: '***'");
    // An unclosed quote: where the value ends cannot be known, so the rest of the text is hidden.
    expect(scrubText('password="open ended\nmode=fast')).toBe('password="***');
    expect(scrubText('password: ""')).toBe('password: ""');
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
    expect(scrubText(yaml)).toBe(
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
    expect(scrubText('- password: |\r\n    x\r\n  mode: y\r\n')).toBe(
      '- password: |\r\n    ***\r\n  mode: y\r\n',
    );
    expect(scrubText(scrubText(yaml))).toBe(scrubText(yaml));
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

  it('scrubs hostile text in linear time', () => {
    // Counted, not timed: ten times the text costs about ten times the work (characters read,
    // searched and spanned by regular expressions), where a quadratic scan costs a hundred times.
    expect(
      superLinearScans(hostileSecretTexts, scrubText, { size: 2_000 }),
    ).toEqual([]);
  });
});

describe('secret values of free text that run past a word or a line', () => {
  /** Each text, what is shown of it, and that scrubbed again (it stays as it is). */
  const scrubbed = (rows: Array<[string, string]>) =>
    rows.map(([text, shown]) => [text, scrubText(text), scrubText(shown)]);
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
    expect(scrubText(text)).toBe(text);
  });
});

describe('secret values of properties files, short flags, flags without a value, values text and known lines', () => {
  /** Each text, what is shown of it, and that scrubbed again (it stays as it is). */
  const scrubbed = (rows: Array<[string, string]>) =>
    rows.map(([text, shown]) => [text, scrubText(text), scrubText(shown)]);
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
    expect(scrubText(text)).toBe(text);
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

  it('hides secret pairs written in the text of an ordinary key, and flag values of argument lists', () => {
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
    // An exec's arguments as the audit trail records them.
    const exec = {
      verb: 'exec' as const,
      resource: 'pods' as const,
      name: 'db-0',
      command: ['mysql', '-u', 'root', '-p', 'hunter22', 'shop'],
    };
    expect(redactPlan(exec).command).toEqual([
      'mysql',
      '-u',
      'root',
      '-p',
      '***',
      'shop',
    ]);
  });

  it('hides every line of a known value over lines where its lines appear, short ones included', () => {
    const cert = [
      '-----BEGIN KEY-----',
      'MIIBVwIBADANBgkq',
      'ab==',
      '-----END KEY-----',
    ].join('\n');
    // Re-indented in a YAML block: no exact match of the value, its lines are hidden as a block.
    const yaml = `data:\n  tls.key: |\n    ${cert
      .split('\n')
      .join('\n    ')}\n  mode: x\n`;
    expect(withoutValues(yaml, [cert])).toBe(
      'data:\n  tls.key: |\n    ***\n    ***\n    ***\n    ***\n  mode: x\n',
    );
    // Written with its line breaks escaped (JSON, a YAML double-quoted string).
    expect(withoutValues(`{"k": ${JSON.stringify(cert)}}`, [cert])).toBe(
      '{"k": "***"}',
    );
    // The last lines alone, as an error prints the end of a value: still a block of it.
    expect(
      withoutValues(
        'Error: bad value:\n  MIIBVwIBADANBgkq\n  ab==\n  -----END KEY-----\ndone',
        [cert],
      ),
    ).toBe('Error: bad value:\n  ***\n  ***\n  ***\ndone');
    // Without a line of its content (only `ab==` and the armour), they are any key's lines.
    expect(
      withoutValues('Error: bad value:\n  ab==\n  -----END KEY-----\ndone', [
        cert,
      ]),
    ).toBe('Error: bad value:\n  ab==\n  -----END KEY-----\ndone');
    // One line of it alone, or lines holding under 8 characters together, are ordinary text.
    const short = ['x=1\ny=2\nid=Zm9vYmFyYmF6MTIz'];
    expect(withoutValues('x=1\nz=3\ny=2', short)).toBe('x=1\nz=3\ny=2');
    expect(withoutValues('x=1\ny=2\nq=0', short)).toBe('x=1\ny=2\nq=0');
    expect(withoutValues('a\nid=Zm9vYmFyYmF6MTIz\nb', short)).toBe(
      'a\nid=Zm9vYmFyYmF6MTIz\nb',
    );
    expect(withoutValues('x=1\n\ny=2\nid=Zm9vYmFyYmF6MTIz', short)).toBe(
      '***\n\n***\n***',
    );
    // Its lines in another order are not its text: nested closing braces stay as they are.
    const json = [
      '{\n  "type": "service_account",\n  "private_key_id": "4f1c9a7e0b2d3c5e8a"\n}',
    ];
    const braces = '{\n  {\n    "a": 1\n  }\n}\n}\n}\n}\n}\n}\n}\n}\n}';
    expect(withoutValues(braces, json)).toBe(braces);
    expect(
      withoutValues(
        'x:\n  {\n    "type": "service_account",\n    "private_key_id": "4f1c9a7e0b2d3c5e8a"\n  }',
        json,
      ),
    ).toBe('x:\n  ***\n    ***\n    ***\n  ***');
    // Its common lines alone are any service account's.
    const common = 'x:\n  {\n    "type": "service_account",\n  }';
    expect(withoutValues(common, json)).toBe(common);
  });

  it('scrubs commands, short flags, continued lines and secret lines in linear time', () => {
    const known = [
      KNOWN_SECRET_LINES,
      `${KNOWN_SECRET_LINES}\n${KNOWN_SECRET_LINES}`,
    ];
    // Counted, not timed: ten times the text costs about ten times the work (characters read,
    // searched and spanned by regular expressions), where a quadratic scan costs a hundred times.
    expect(
      superLinearScans(
        hostileCommandTexts,
        text => withoutValues(text, known),
        {
          size: 2_000,
        },
      ),
    ).toEqual([]);
  });
});

describe('values text shown as given, known lines with secret content, short flags across args', () => {
  it('shows settings of a plan’s text whose key only mentions a secret word, and booleans', () => {
    const values = {
      extraArgs: ['--authentication-token-webhook=true', '--v=2'],
      config: 'auth.token.ttl=3600\nlog.level=debug\n',
      tlsArgs: ['--secret-name', 'my-tls'],
      authArgs: ['--token-auth-file', '/etc/tokens.csv'],
      manifest:
        'spec:\n  automountServiceAccountToken: false\n  serviceAccountName: web\n',
    };
    expect(redactValues(values)).toEqual(values);
    const patch = {
      verb: 'patch' as const,
      resource: 'deployments' as const,
      name: 'web',
      patch: JSON.stringify({ spec: { args: values.extraArgs } }),
    };
    expect(redactPlan(patch)).toEqual(patch);
    // A whole secret key of the text is still hidden, a number too; a boolean is a setting.
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
    expect(withoutValues(bundle, [chain])).toBe(bundle);
    // The chain itself, re-indented, is hidden line by line.
    expect(
      withoutValues(`tls.crt: |\n  ${chain.split('\n').join('\n  ')}`, [chain]),
    ).toBe(`tls.crt: |${'\n  ***'.repeat(6)}`);
    const alertmanager = [
      'global:',
      '  slack_api_url: https://hooks.slack.com/services/T0AB12CD/B0EF34GH/abcDEF123ghiJKL456',
      'route:',
      '  receiver: slack',
      '  group_wait: 30s',
    ].join('\n');
    const routes =
      'route:\n  receiver: slack\n  group_wait: 30s\n  group_by: [x]';
    expect(withoutValues(routes, [alertmanager])).toBe(routes);
    expect(
      withoutValues(
        'error in:\n  slack_api_url: https://hooks.slack.com/services/T0AB12CD/B0EF34GH/abcDEF123ghiJKL456\nroute:\nend',
        [alertmanager],
      ),
    ).toBe('error in:\n  ***\n***\nend');
  });

  it('hides a password short flag given under args after its command, and a command in capitals', () => {
    expect(
      scrubText(
        '    Command:\n      mysql\n    Args:\n      -h\n      db\n      -phunter2\n    State: Running',
      ),
    ).toBe(
      '    Command:\n      mysql\n    Args:\n      -h\n      db\n      -p***\n    State: Running',
    );
    expect(scrubText('command:\n- mysql\nargs:\n- -phunter2\nimage: x')).toBe(
      'command:\n- mysql\nargs:\n- -p***\nimage: x',
    );
    expect(
      scrubText(
        '  command:\n    - mysqldump\n  args:\n    - -p\n    - hunter2\n',
      ),
    ).toBe('  command:\n    - mysqldump\n  args:\n    - -p\n    - ***\n');
    expect(scrubText('MYSQL -phunter2 shop')).toBe('MYSQL -p*** shop');
    // Args of another container, or not the command's sibling, are not the command's.
    const other = 'command:\n- mysql\nports:\n- -p8080\nargs:\n- -p9090';
    expect(scrubText(other)).toBe(other);
  });
});

describe('secrets the free-text rules of every family find', () => {
  it('hides a token given as a URL’s user, and OAuth and signature parameters', () => {
    expect(
      scrubText(
        'Back-off pulling from https://ghp_abc123def456ghi789@github.com/org/repo',
      ),
    ).toBe('Back-off pulling from https://***@github.com/org/repo');
    expect(
      scrubText(
        'callback https://app.example.com/cb?code=abc123&state=xyz&client_secret=s1 and https://h/x?sv=1&sig=abc',
      ),
    ).toBe(
      'callback https://app.example.com/cb?code=***&state=xyz&client_secret=*** and https://h/x?sv=1&sig=***',
    );
  });

  it('hides the value of an env entry whose name comes after it, and keeps a secretKeyRef', () => {
    expect(
      scrubText(
        '[{"value":"hunter2","name":"DB_PASSWORD"},{"value":"80","name":"PORT"}]',
      ),
    ).toBe(
      '[{"value":"***","name":"DB_PASSWORD"},{"value":"80","name":"PORT"}]',
    );
    const ref = '    secretKeyRef: {name: db, key: password}';
    expect(scrubText(ref)).toBe(ref);
  });
});
