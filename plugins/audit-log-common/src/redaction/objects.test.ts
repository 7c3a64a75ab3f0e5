import {
  SECRET_KEY_PATTERN,
  forEachSecretValue,
  isSecretEnvEntry,
  isSecretKey,
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
      'password|passwd|token|secret|key|credential|authorization|cookie',
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
});
