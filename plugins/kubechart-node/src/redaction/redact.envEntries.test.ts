import {
  collectManifestSecretValues,
  collectSecretValues,
  isSecretKey,
  redactObject,
  redactValues,
} from './redact';

/**
 * Values a chart turns into env variables (`extraEnvVars: [{ name, value }]`) and keys that name
 * credentials sent with a request (`authorization`, `cookie`) are secret, whatever part of the
 * platform stores or shows them: run input, stored values, known-value scrubbing.
 */
describe('env entries and request credentials in values', () => {
  it('hides the value of an env entry whose name names a secret, whichever comes first', () => {
    const values = {
      extraEnvVars: [
        { name: 'DB_PASSWORD', value: 'hunter2hunter2' },
        { value: 'tokenValue-91ab', name: 'API_TOKEN' },
        { name: 'LOG_LEVEL', value: 'debug' },
        { name: 'FEATURE_SECRET_SCAN', value: true },
      ],
    };
    expect(redactValues(values)).toEqual({
      extraEnvVars: [
        { name: 'DB_PASSWORD', value: '***' },
        { value: '***', name: 'API_TOKEN' },
        { name: 'LOG_LEVEL', value: 'debug' },
        { name: 'FEATURE_SECRET_SCAN', value: true },
      ],
    });
    expect(collectSecretValues(values).sort()).toEqual([
      'hunter2hunter2',
      'tokenValue-91ab',
    ]);
  });

  it('hides values under authorization and cookie keys', () => {
    const values = {
      proxy: { authorization: 'zq81kfa9wq', cookie: 'sid=8fj3kq0z' },
      headers: { 'Proxy-Authorization': 'Basic zq81', 'Set-Cookie': 'a=b9' },
    };
    expect(redactValues(values)).toEqual({
      proxy: { authorization: '***', cookie: '***' },
      headers: { 'Proxy-Authorization': '***', 'Set-Cookie': '***' },
    });
    expect(collectSecretValues(values).sort()).toEqual(
      ['Basic zq81', 'a=b9', 'sid=8fj3kq0z', 'zq81kfa9wq'].sort(),
    );
    expect(isSecretKey('authorization')).toBe(true);
    expect(isSecretKey('cookie')).toBe(true);
  });

  it('hides a ConfigMap entry named authorization or cookie, and collects it from a Secret', () => {
    const cm = redactObject({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'proxy' },
      data: { authorization: 'Bearer zq81kfa9wq', cookie: 'sid=8fj3kq0z' },
    });
    expect(cm.data).toEqual({ authorization: '***', cookie: '***' });
    expect(
      collectManifestSecretValues(
        [
          {
            kind: 'Secret',
            stringData: { cookie: 'sid=8f', mode: 'on' },
          },
        ],
        { secretKeysOnly: true },
      ),
    ).toEqual(['sid=8f']);
  });
});
