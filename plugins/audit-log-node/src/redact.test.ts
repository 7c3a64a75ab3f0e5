import { META_LIMITS, REDACTED, redactSecrets } from './redact';
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

describe('redactSecrets bounds', () => {
  it('cuts long strings and says how much was cut', () => {
    const out = redactSecrets({ message: 'a'.repeat(10000) });
    expect(out.message).toBe(`${'a'.repeat(8192)}…[1808 more characters]`);
  });

  it('marks objects and arrays whose members were cut', () => {
    const many = Object.fromEntries(
      Array.from({ length: 6000 }, (_, i) => [`k${i}`, i]),
    );
    const out = redactSecrets({ many });
    const kept = out.many as Record<string, unknown>;
    expect(kept['…truncated']).toMatch(/^\d+ more keys$/);
    expect(Object.keys(kept).length).toBeLessThan(5002);
    const list = redactSecrets({ list: Array.from({ length: 6000 }, () => 1) })
      .list as unknown[];
    expect(list[list.length - 1]).toMatch(/^\[…truncated: \d+ more items\]$/);
  });

  it('replaces values nested deeper than 20 levels', () => {
    let deep: any = { leaf: 'x' };
    for (let i = 0; i < 30; i++) deep = { d: deep };
    expect(JSON.stringify(redactSecrets(deep))).toContain(
      '[TRUNCATED: depth > 20]',
    );
  });
});

describe('extractTarget with a nested target', () => {
  it('reads the target object kubechart events carry', () => {
    expect(
      extractTarget({
        target: { cluster: 'dev', namespace: 'team-a', entityRef: 'x' },
        runId: 'r1',
      }),
    ).toEqual({
      entityRef: 'x',
      cluster: 'dev',
      namespace: 'team-a',
      resource: 'run:r1',
    });
  });
});

describe('redactSecrets key scan budget', () => {
  const budget = META_LIMITS.maxScannedKeyChars;

  it('matches a key that fits in the budget and redacts one that does not', () => {
    expect(Object.values(redactSecrets({ ['x'.repeat(budget)]: 'v' }))).toEqual(
      ['v'],
    );
    expect(
      Object.values(
        redactSecrets({ [`${'x'.repeat(budget - 8)}password`]: 'v' }),
      ),
    ).toEqual([REDACTED]);
    expect(
      Object.values(redactSecrets({ ['x'.repeat(budget + 1)]: 'v' })),
    ).toEqual([REDACTED]);
  });

  it('shares the budget between the keys of one event', () => {
    const out = redactSecrets({
      ['a'.repeat(budget - 10)]: 'first',
      nested: { ['b'.repeat(11)]: 'second', ['c'.repeat(4)]: 'third' },
    });
    expect(Object.values(out)).toEqual([
      'first',
      { ['b'.repeat(11)]: REDACTED, ['c'.repeat(4)]: 'third' },
    ]);
    // the next event has a budget of its own
    expect(redactSecrets({ ['b'.repeat(11)]: 'second' })).toEqual({
      ['b'.repeat(11)]: 'second',
    });
  });
});
