import { InputError } from '@backstage/errors';
import { createRunSchema, parse } from './schemas';

/**
 * A tenant's display name is shown beside its code (Tenants page) and copied into its catalog
 * entity's title: a hidden character in it (a U+202E reversing the code shown after it, a
 * zero-width space) would make one tenant read as another.
 */
describe('a tenant run display name', () => {
  const tenant = (displayName: string) => ({
    kind: 'tenant',
    cluster: 'dev',
    tenant: 'lanretni-stnemyap',
    displayName,
    releases: [],
  });

  it.each([
    ['a right-to-left override', 'Payments \u202E', 'U+202E'],
    ['a left-to-right isolate', 'Pay\u2066ments', 'U+2066'],
    ['a zero-width space', 'Pay\u200Bments', 'U+200B'],
    ['a byte order mark', '\uFEFFPayments', 'U+FEFF'],
    ['a control character', 'Pay\u0007ments', 'U+0007'],
    ['a line separator', 'Pay\u2028ments', 'U+2028'],
  ])('is refused when it holds %s, naming it', (_, name, code) => {
    let error: unknown;
    try {
      parse(createRunSchema, tenant(name), 'run request');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe(
      `Invalid run request: displayName: holds a hidden character (${code}), which would change how it or what follows it reads; write it without`,
    );
  });

  it('is taken in any script, with blanks and punctuation', () => {
    for (const name of [
      'Payments (EU)',
      'Zahlungsverkehr – Süd',
      'الدفع',
      '支払い 2',
    ]) {
      expect(parse(createRunSchema, tenant(name), 'run request')).toMatchObject(
        {
          displayName: name,
        },
      );
    }
  });
});
