import {
  SECRET_KEY_PATTERN,
  forEachSecretValue,
  isSecretEnvEntry,
  isSecretKey,
  isSecretName,
  redactKubeObject,
  redactValues,
} from '.';

describe('the object rules every family shares', () => {
  it('names a key secret when it holds a secret word of the shared list anywhere', () => {
    for (const key of [
      'DB_PASSWORD',
      'passwd',
      'apiKey',
      'x-auth-token',
      'clientSecret',
      'credentials',
      'authorization',
      'Proxy-Authorization',
      'cookie',
      'Set-Cookie',
      'keyboard',
    ])
      expect([key, isSecretKey(key)]).toEqual([key, true]);
    for (const key of ['user', 'host', 'LOG_LEVEL', 'replicas'])
      expect([key, isSecretKey(key)]).toEqual([key, false]);
    expect(SECRET_KEY_PATTERN.source).toBe(
      'password|passwd|token|secret|key|credential|authorization|cookie|[a-z0-9][-_.](?:pass|pwd)$|[a-z0-9](?<!by|com|sur|tres|over|under|multi)pass$|[a-z0-9](?<!old)pwd$',
    );
  });

  it('hides the value of an env entry naming a secret, in either order, keeping booleans and null', () => {
    const values = {
      extraEnvVars: [
        { name: 'DB_PASSWORD', value: 'hunter2hunter2' },
        { value: 'sid=8fj3kq0z', name: 'SESSION_COOKIE' },
        { name: 'LOG_LEVEL', value: 'debug' },
        { name: 'TOKEN_CHECK', value: false },
        { name: 'API_TOKEN', value: null },
        { name: 'NESTED_SECRET', value: { inner: 'x9q' } },
      ],
    };
    expect(redactValues(values)).toEqual({
      extraEnvVars: [
        { name: 'DB_PASSWORD', value: '[REDACTED]' },
        { value: '[REDACTED]', name: 'SESSION_COOKIE' },
        { name: 'LOG_LEVEL', value: 'debug' },
        { name: 'TOKEN_CHECK', value: false },
        { name: 'API_TOKEN', value: null },
        { name: 'NESTED_SECRET', value: { inner: '[REDACTED]' } },
      ],
    });
    const found: string[] = [];
    forEachSecretValue(values, s => found.push(s));
    expect(found).toEqual(['hunter2hunter2', 'sid=8fj3kq0z', 'x9q']);
    expect(isSecretEnvEntry({ name: 'DB_PASSWORD' })).toBe(false);
    expect(isSecretEnvEntry({ name: 'DB_PASSWORD', value: 'x' })).toBe(true);
  });

  it('hides values under secret keys with the caller’s placeholder and text rules', () => {
    expect(
      redactValues(
        {
          proxy: { authorization: 'zq81kfa9wq', cookie: 'sid=8fj3kq0z' },
          config: 'db:\n  password: hunter22',
          args: ['--token', 'abc123xyz'],
          enabled: { secret: true, token: '' },
        },
        { placeholder: '***' },
      ),
    ).toEqual({
      proxy: { authorization: '***', cookie: '***' },
      config: 'db:\n  password: ***',
      args: ['--token', '***'],
      enabled: { secret: true, token: '' },
    });
  });

  it('redacts a Kubernetes object by the key rules, with either way of showing hidden Secret values', () => {
    const secret = {
      kind: 'Secret',
      type: 'Opaque',
      metadata: { name: 's', annotations: { note: 'hunter22' } },
      data: { password: 'aHVudGVyMjI=' },
      stringData: { token: 'abc' },
    };
    expect(redactKubeObject(secret, { placeholder: '***' })).toEqual({
      ...secret,
      data: { password: '***' },
      stringData: { token: '***' },
    });
    expect(
      redactKubeObject(secret, {
        hidden: 'sizes',
        hideSecretAnnotations: true,
      }),
    ).toEqual({
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name: 's',
        annotations: { note: '<8 bytes, hidden on a Secret>' },
      },
      data: { password: '<8 bytes>' },
    });
    const list = {
      kind: 'List',
      items: [
        {
          kind: 'ConfigMap',
          metadata: {
            annotations: {
              'kubectl.kubernetes.io/last-applied-configuration': '{"a":1}',
              'example.com/authorization': 'Basic zq81',
            },
          },
          data: { authorization: 'Bearer zq', mode: 'on' },
          binaryData: { 'logo.png': 'iVBO' },
        },
        {
          kind: 'Deployment',
          spec: {
            template: {
              spec: {
                containers: [
                  {
                    env: [
                      { name: 'DB_PASSWORD', value: 'hunter22' },
                      { name: 'MODE', value: 'on' },
                    ],
                  },
                ],
                ephemeralContainers: [
                  { env: [{ name: 'SESSION_COOKIE', value: 'c9' }] },
                ],
              },
            },
          },
        },
      ],
    };
    expect(redactKubeObject(list)).toEqual({
      kind: 'List',
      items: [
        {
          kind: 'ConfigMap',
          metadata: {
            annotations: {
              'kubectl.kubernetes.io/last-applied-configuration': '[REDACTED]',
              'example.com/authorization': '[REDACTED]',
            },
          },
          data: { authorization: '[REDACTED]', mode: 'on' },
          binaryData: { 'logo.png': '[REDACTED]' },
        },
        {
          kind: 'Deployment',
          spec: {
            template: {
              spec: {
                containers: [
                  {
                    env: [
                      { name: 'DB_PASSWORD', value: '[REDACTED]' },
                      { name: 'MODE', value: 'on' },
                    ],
                  },
                ],
                ephemeralContainers: [
                  { env: [{ name: 'SESSION_COOKIE', value: '[REDACTED]' }] },
                ],
              },
            },
          },
        },
      ],
    });
  });

  it('names a key secret whose last word is pass or pwd, not a word that only holds them', () => {
    for (const key of [
      'DB_PASS',
      'MYSQL_PWD',
      'redis-pass',
      'smtp.pwd',
      'db_user_pass',
    ]) {
      expect([key, isSecretKey(key)]).toEqual([key, true]);
      expect([key, isSecretName(key)]).toEqual([key, true]);
    }
    for (const key of [
      'bypass',
      'proxy_bypass',
      'CACHE_BYPASS',
      'passthrough',
      'ssl-passthrough',
      'pass_through',
      'compass',
      'PASS',
      'PWD',
      'OLDPWD',
      'passes',
      'DB_PASS_FILE',
    ]) {
      expect([key, isSecretKey(key)]).toEqual([key, false]);
      expect([key, isSecretName(key)]).toEqual([key, false]);
    }
    expect(
      redactValues({
        env: [
          { name: 'DB_PASS', value: 'ENVPASSVAL' },
          { name: 'PWD', value: '/srv/app' },
        ],
        proxy_bypass: 'localhost',
        mysql: 'MYSQL_PWD=hunter2pwd',
      }),
    ).toEqual({
      env: [
        { name: 'DB_PASS', value: '[REDACTED]' },
        { name: 'PWD', value: '/srv/app' },
      ],
      proxy_bypass: 'localhost',
      mysql: 'MYSQL_PWD=[REDACTED]',
    });
  });

  /** A container holding secrets in its arguments, its probes' and hooks' headers and its env. */
  const leakyContainer = (name: string) => ({
    name,
    image: 'registry.example.com/shop:1.0',
    command: ['/app/server', '--api-token', 'CMDTOKENVAL'],
    args: ['--db-password', 'HUNTER2ARGS', '--port', '8080', '-v'],
    env: [
      { name: 'DB_PASS', value: 'ENVPASSVAL' },
      { name: 'MYSQL_PWD', value: 'ENVPWDVAL' },
      { name: 'LOG_LEVEL', value: 'debug' },
      { name: 'PROXY_BYPASS', value: 'localhost' },
      {
        name: 'API_TOKEN',
        valueFrom: { secretKeyRef: { name: 'shop', key: 'token' } },
      },
    ],
    livenessProbe: {
      httpGet: {
        path: '/healthz',
        port: 8080,
        httpHeaders: [
          { name: 'Authorization', value: 'Basic QkFTSUNWQUw=' },
          { name: 'X-Api-Key', value: 'LIVEAPIKEYVAL' },
          { name: 'Accept', value: 'application/json' },
        ],
      },
    },
    readinessProbe: {
      httpGet: {
        path: '/ready',
        port: 8080,
        httpHeaders: [{ name: 'X-Api-Key', value: 'READYAPIKEYVAL' }],
      },
    },
    startupProbe: {
      httpGet: {
        port: 8080,
        httpHeaders: [{ name: 'Authorization', value: 'Bearer STARTUPVAL' }],
      },
    },
    lifecycle: {
      postStart: {
        httpGet: {
          port: 8080,
          httpHeaders: [{ name: 'X-Auth-Token', value: 'POSTSTARTVAL' }],
        },
      },
      preStop: {
        httpGet: {
          port: 8080,
          httpHeaders: [{ name: 'Authorization', value: 'Basic PRESTOPVAL' }],
        },
      },
    },
  });
  const redactedContainer = (name: string, placeholder = '[REDACTED]') => ({
    name,
    image: 'registry.example.com/shop:1.0',
    command: ['/app/server', '--api-token', placeholder],
    args: ['--db-password', placeholder, '--port', '8080', '-v'],
    env: [
      { name: 'DB_PASS', value: placeholder },
      { name: 'MYSQL_PWD', value: placeholder },
      { name: 'LOG_LEVEL', value: 'debug' },
      { name: 'PROXY_BYPASS', value: 'localhost' },
      {
        name: 'API_TOKEN',
        valueFrom: { secretKeyRef: { name: 'shop', key: 'token' } },
      },
    ],
    livenessProbe: {
      httpGet: {
        path: '/healthz',
        port: 8080,
        httpHeaders: [
          { name: 'Authorization', value: placeholder },
          { name: 'X-Api-Key', value: placeholder },
          { name: 'Accept', value: 'application/json' },
        ],
      },
    },
    readinessProbe: {
      httpGet: {
        path: '/ready',
        port: 8080,
        httpHeaders: [{ name: 'X-Api-Key', value: placeholder }],
      },
    },
    startupProbe: {
      httpGet: {
        port: 8080,
        httpHeaders: [{ name: 'Authorization', value: placeholder }],
      },
    },
    lifecycle: {
      postStart: {
        httpGet: {
          port: 8080,
          httpHeaders: [{ name: 'X-Auth-Token', value: placeholder }],
        },
      },
      preStop: {
        httpGet: {
          port: 8080,
          httpHeaders: [{ name: 'Authorization', value: placeholder }],
        },
      },
    },
  });
  const CLEAR = [
    'CMDTOKENVAL',
    'HUNTER2ARGS',
    'ENVPASSVAL',
    'ENVPWDVAL',
    'QkFTSUNWQUw',
    'LIVEAPIKEYVAL',
    'READYAPIKEYVAL',
    'STARTUPVAL',
    'POSTSTARTVAL',
    'PRESTOPVAL',
  ];
  const cleared = (obj: unknown) =>
    CLEAR.filter(v => JSON.stringify(obj).includes(v));

  it("hides a Pod's secret arguments, probe and hook headers and env values, keeping the rest", () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'leaky', namespace: 'shop' },
      spec: {
        initContainers: [leakyContainer('init')],
        containers: [leakyContainer('app')],
        ephemeralContainers: [leakyContainer('debugger')],
      },
    };
    expect(cleared(pod)).toEqual(CLEAR);
    const redacted = redactKubeObject(pod);
    expect(cleared(redacted)).toEqual([]);
    expect(redacted).toEqual({
      ...pod,
      spec: {
        initContainers: [redactedContainer('init')],
        containers: [redactedContainer('app')],
        ephemeralContainers: [redactedContainer('debugger')],
      },
    });
    // The caller's placeholder and scrub: the assistant's way.
    expect(
      redactKubeObject(pod, { placeholder: '***', scrub: t => t }).spec
        .containers,
    ).toEqual([redactedContainer('app', '***')]);
  });

  it('hides the same in the pod templates of a Deployment, a CronJob, a PodTemplate and a List', () => {
    const template = {
      metadata: { labels: { app: 'shop' } },
      spec: {
        initContainers: [leakyContainer('init')],
        containers: [leakyContainer('app')],
      },
    };
    const shown = {
      metadata: { labels: { app: 'shop' } },
      spec: {
        initContainers: [redactedContainer('init')],
        containers: [redactedContainer('app')],
      },
    };
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'shop' },
      spec: { replicas: 2, template },
    };
    const cronJob = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'nightly' },
      spec: {
        schedule: '0 3 * * *',
        jobTemplate: { spec: { template } },
      },
    };
    const podTemplate = {
      apiVersion: 'v1',
      kind: 'PodTemplate',
      metadata: { name: 'shop' },
      template,
    };
    expect(redactKubeObject(deployment)).toEqual({
      ...deployment,
      spec: { replicas: 2, template: shown },
    });
    expect(redactKubeObject(cronJob)).toEqual({
      ...cronJob,
      spec: {
        schedule: '0 3 * * *',
        jobTemplate: { spec: { template: shown } },
      },
    });
    expect(redactKubeObject(podTemplate)).toEqual({
      ...podTemplate,
      template: shown,
    });
    const list = redactKubeObject(
      { kind: 'List', items: [deployment, cronJob, podTemplate] },
      { hidden: 'sizes', placeholder: '***' },
    );
    expect(cleared(list)).toEqual([]);
  });

  it('hides the value of a {name, value} entry naming a secret anywhere in an object, keeping others', () => {
    const workflow = {
      apiVersion: 'example.com/v1',
      kind: 'Workflow',
      metadata: { name: 'w' },
      spec: {
        arguments: {
          parameters: [
            { name: 'registry-password', value: 'GENERICVAL' },
            { name: 'replicas', value: '3' },
            { name: 'dry-run-token', value: false },
          ],
        },
      },
    };
    expect(redactKubeObject(workflow)).toEqual({
      ...workflow,
      spec: {
        arguments: {
          parameters: [
            { name: 'registry-password', value: '[REDACTED]' },
            { name: 'replicas', value: '3' },
            { name: 'dry-run-token', value: false },
          ],
        },
      },
    });
  });

  it('outside env and httpHeaders lists, hides a {name, value} entry only when its name ends in a secret word', () => {
    // A parameter or sysctl that only mentions a secret word holds no secret: hiding it would leave
    // the stored manifest unusable for a re-apply.
    const workflow = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Workflow',
      metadata: { name: 'backup' },
      spec: {
        arguments: {
          parameters: [
            { name: 'secret-name', value: 'db-credentials' },
            { name: 'token-ttl', value: '3600' },
            { name: 's3-key-prefix', value: 'backups/' },
            { name: 'api-token', value: 'PARAMTOKENVAL' },
            { name: 'DB_PASSWORD', value: 'PARAMPASSVAL' },
          ],
        },
        securityContext: {
          sysctls: [{ name: 'kernel.keys.maxkeys', value: '2000' }],
        },
      },
    };
    const shown = redactKubeObject(workflow, { placeholder: '***' });
    expect(shown.spec.arguments.parameters).toEqual([
      { name: 'secret-name', value: 'db-credentials' },
      { name: 'token-ttl', value: '3600' },
      { name: 's3-key-prefix', value: 'backups/' },
      { name: 'api-token', value: '***' },
      { name: 'DB_PASSWORD', value: '***' },
    ]);
    expect(shown.spec.securityContext.sysctls).toEqual([
      { name: 'kernel.keys.maxkeys', value: '2000' },
    ]);
    // A container's env and a probe's headers keep the wide rule: a secret word anywhere.
    const pod = {
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: {
        containers: [
          {
            name: 'app',
            env: [
              { name: 'API_TOKEN_FILE', value: 'ENVTOKENFILEVAL' },
              { name: 'secret-name', value: 'ENVSECRETNAMEVAL' },
            ],
            readinessProbe: {
              httpGet: {
                httpHeaders: [{ name: 'X-Token-Id', value: 'HEADERVAL' }],
              },
            },
          },
        ],
      },
    };
    const container = redactKubeObject(pod, { placeholder: '***' }).spec
      .containers[0];
    expect(container.env).toEqual([
      { name: 'API_TOKEN_FILE', value: '***' },
      { name: 'secret-name', value: '***' },
    ]);
    expect(container.readinessProbe.httpGet.httpHeaders).toEqual([
      { name: 'X-Token-Id', value: '***' },
    ]);
  });
});
