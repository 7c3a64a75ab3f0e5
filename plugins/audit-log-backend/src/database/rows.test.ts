import { AuditEventInput } from '@kubechart/plugin-audit-log-common';
import { REDACTED, redactSecrets } from '@kubechart/plugin-audit-log-node';
import { chainKeyId } from './chainKeys';
import { inputToRow } from './rows';

const event = (meta: AuditEventInput['meta']): AuditEventInput => ({
  occurredAt: '2026-01-01T00:00:00.000Z',
  plugin: 'demo',
  eventId: 'demo-event',
  severity: 'low',
  status: 'succeeded',
  target: {},
  meta,
});

const storedMeta = (input: AuditEventInput) =>
  JSON.parse(inputToRow(input, 1).meta ?? 'null');

describe('inputToRow meta', () => {
  it('stores what the auditor bounded as it is', () => {
    for (const meta of [
      { log: 'x'.repeat(10000) },
      { log: 'postgres://a:b@c '.repeat(600) },
      { log: `${'x'.repeat(8180)} postgres://app:hunter2@db/x` },
    ]) {
      const audited = redactSecrets(meta);
      expect(storedMeta(event(audited))).toEqual(audited);
    }
    expect(
      storedMeta(event(redactSecrets({ log: 'x'.repeat(10000) }))).log,
    ).toBe(`${'x'.repeat(8192)}…[1808 more characters]`);
  });

  it('keeps the key ids of the chain-key-configured event, which reveal no key', () => {
    const current = chainKeyId('k'.repeat(48));
    const previous = chainKeyId('p'.repeat(48));
    const meta = {
      keyId: current,
      previousKeyIds: [previous],
      previousEvent: { chainVersion: 3, keyId: previous },
    };
    expect(
      storedMeta({
        ...event(meta),
        plugin: 'audit-log',
        eventId: 'chain-key-configured',
      }),
    ).toEqual(meta);
  });

  it('redacts those fields in any other event, or when they are not key ids', () => {
    const meta = { keyId: chainKeyId('k'.repeat(48)), previousKeyIds: [] };
    expect(storedMeta(event(meta))).toEqual({
      keyId: REDACTED,
      previousKeyIds: REDACTED,
    });
    expect(
      storedMeta({
        ...event({
          keyId: 'not-an-id-s3cr3t',
          previousKeyIds: ['0123456789abcdef', 's3cr3t'],
          previousEvent: { chainVersion: 3, keyId: 's3cr3t' },
          apiKey: '0123456789abcdef',
        }),
        plugin: 'audit-log',
        eventId: 'chain-key-configured',
      }),
    ).toEqual({
      keyId: REDACTED,
      previousKeyIds: REDACTED,
      previousEvent: { chainVersion: 3, keyId: REDACTED },
      apiKey: REDACTED,
    });
  });
});
