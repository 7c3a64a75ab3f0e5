import { collectSecretValues, createTextRedactor, redactManifest, redactValues } from './redact';

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
    expect(out).toContain('password: \'***\'');
    expect(out).toContain('prod');
    expect(out).toContain('metadata: { name: keep }');
    expect(out).toContain('# Source: x/secret.yaml');
  });

  it('scrubs known secret values and key=value pairs from text', () => {
    const secrets = collectSecretValues({ db: { password: 'hunter22' }, name: 'web' });
    expect(secrets).toEqual(['hunter22']);
    const scrub = createTextRedactor(secrets);
    expect(scrub('connecting with hunter22 now')).toBe('connecting with *** now');
    expect(scrub(`b64 ${Buffer.from('hunter22').toString('base64')}`)).toBe('b64 ***');
    expect(scrub('error: password=abc and token: "xyz" ok')).toBe('error: password=*** and token: "***" ok');
    const valuesOnly = createTextRedactor(secrets, { keyValuePairs: false });
    expect(valuesOnly('credentials: started with hunter22')).toBe('credentials: started with ***');
  });
});
