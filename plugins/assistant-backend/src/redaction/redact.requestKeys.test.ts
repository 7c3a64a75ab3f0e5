import { isSecretKey, redactObject, redactValues } from './redact';

describe('keys that name credentials sent with a request', () => {
  it('hides values under authorization and cookie keys', () => {
    expect(
      redactValues({
        proxy: { authorization: 'zq81kfa9wq', cookie: 'sid=8fj3kq0z' },
      }),
    ).toEqual({ proxy: { authorization: '***', cookie: '***' } });
    expect(isSecretKey('Proxy-Authorization')).toBe(true);
  });

  it('hides a ConfigMap entry and an annotation named authorization or cookie', () => {
    const cm = redactObject({
      kind: 'ConfigMap',
      metadata: { name: 'proxy', annotations: { 'example.com/cookie': 'c9' } },
      data: { authorization: 'Bearer zq81kfa9wq', cookie: 'sid=8fj3kq0z' },
    });
    expect(cm.data).toEqual({ authorization: '***', cookie: '***' });
    expect(cm.metadata.annotations).toEqual({ 'example.com/cookie': '***' });
  });
});
