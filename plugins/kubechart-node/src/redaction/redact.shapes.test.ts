import { createTextRedactor, redactManifest, redactObject } from './redact';

/**
 * A document whose top level is not one object (a list of entries, a string) is not a Kubernetes
 * object, but it may still hold a known secret: every string of it is scrubbed as any object's is.
 */
describe('redaction of documents that are not one object', () => {
  const scrub = createTextRedactor(['hunter2hunter2'], {
    keyValuePairs: false,
  });

  it('scrubs known secrets from a manifest document that is a list', () => {
    const out = redactManifest(
      '# Source: app/templates/extra.yaml\n- name: db\n  password: hunter2hunter2\n  url: postgres://app:hunter2hunter2@db:5432/app\n',
      { scrub },
    );
    expect(out).not.toContain('hunter2hunter2');
    expect(out).toContain("password: '***'");
    expect(out).toContain('url: postgres://app:***@db:5432/app');
  });

  it('scrubs known secrets from a list or a string given as an object', () => {
    expect(
      redactObject([{ url: 'postgres://app:hunter2hunter2@db/x' }] as any, {
        scrub,
      }),
    ).toEqual([{ url: 'postgres://app:***@db/x' }]);
    expect(redactObject('token hunter2hunter2' as any, { scrub })).toBe(
      'token ***',
    );
  });

  it('hides the depths of Lists nested 2,000 deep rather than failing', () => {
    let inner: any = {
      kind: 'Secret',
      metadata: { name: 'db' },
      stringData: { password: 'hunter2hunter2' },
    };
    for (let i = 0; i < 2000; i++) inner = { kind: 'List', items: [inner] };
    const text = JSON.stringify(redactObject(inner, { scrub }));
    expect(text).not.toContain('hunter2hunter2');
    expect(text).toContain('***');
  });
});
