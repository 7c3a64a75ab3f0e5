import { REDACTED, redactSecrets } from './redact';
import { extractTarget } from './target';

describe('redactSecrets', () => {
  it('redacts secret-looking keys at any depth, case-insensitively', () => {
    const input = {
      user: 'jane',
      Password: 'hunter2',
      nested: {
        apiKey: 'k-123',
        list: [{ clientSecret: 's' }, { ok: 1 }],
        credentials: { user: 'x', pass: 'y' },
        AUTH_TOKEN: 'abc',
      },
    };
    const out = redactSecrets(input);
    expect(out).toEqual({
      user: 'jane',
      Password: REDACTED,
      nested: {
        apiKey: REDACTED,
        list: [{ clientSecret: REDACTED }, { ok: 1 }],
        credentials: REDACTED,
        AUTH_TOKEN: REDACTED,
      },
    });
    expect(JSON.stringify(out)).not.toMatch(/hunter2|k-123|abc/);
    // the input is left alone
    expect(input.Password).toBe('hunter2');
  });

  it('drops values that are not JSON', () => {
    expect(
      redactSecrets({
        f: (() => 1) as any,
        n: NaN as any,
        d: new Date(0) as any,
      }),
    ).toEqual({ n: null, d: '1970-01-01T00:00:00.000Z' });
  });
});

describe('extractTarget', () => {
  it('reads conventional meta keys', () => {
    expect(
      extractTarget({
        entityRef: 'component:default/a',
        cluster: 'dev',
        namespace: 'team-a',
      }),
    ).toEqual({
      entityRef: 'component:default/a',
      cluster: 'dev',
      namespace: 'team-a',
    });
    expect(
      extractTarget({ templateRef: 'template:default/t', taskId: '42' }),
    ).toEqual({ entityRef: 'template:default/t', resource: 'task:42' });
    expect(extractTarget(undefined)).toEqual({});
  });
});
