import { redactObject } from './redact';

describe('redactObject on values that are not one object', () => {
  it('scrubs the strings of a list', () => {
    expect(
      redactObject([{ url: 'postgres://app:pw1234567@db/x' }] as any),
    ).toEqual([{ url: 'postgres://app:***@db/x' }]);
  });

  it('scrubs a string', () => {
    const out = redactObject('str password=abc12345' as any) as unknown;
    expect(out).not.toContain('abc12345');
    expect(out).toBe('str password=***');
  });
});
