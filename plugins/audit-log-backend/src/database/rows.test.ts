import { AuditEventInput } from '@kubechart/plugin-audit-log-common';
import {
  createGapEvent,
  REDACTED,
  redactSecrets,
} from '@kubechart/plugin-audit-log-node';
import { chainKeyId } from './chainKeys';
import { ENTITY_OWNER_META_KEY, inputToRow } from './rows';

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
  it('keeps the owner the audit log recorded when the rest of the metadata is over its bound', () => {
    // many strings each within the auditor's bounds, over the stored bound all together
    const values = Object.fromEntries(
      Array.from({ length: 20 }, (_, i) => [`v${i}`, 'x'.repeat(8000)]),
    );
    const stored = storedMeta(
      event({ ...values, [ENTITY_OWNER_META_KEY]: 'group:default/team-a' }),
    );
    expect(stored).toMatchObject({
      '…truncated': expect.stringContaining('exceeded the 65536-character'),
      [ENTITY_OWNER_META_KEY]: 'group:default/team-a',
    });
    // stored as recorded, under the bound
    expect(
      storedMeta(
        event({ n: 1, [ENTITY_OWNER_META_KEY]: 'group:default/team-a' }),
      ),
    ).toEqual({ n: 1, [ENTITY_OWNER_META_KEY]: 'group:default/team-a' });
  });

  it('keeps the fields that say what happened when a list the caller filled is over the bound', () => {
    // every string within the auditor's bounds; keys and punctuation take it over the stored bound
    const applied = Array.from({ length: 900 }, (_, i) => ({
      kind: 'ConfigMap',
      name: `cm-${i}-${'x'.repeat(40)}`,
      namespace: 'team-a',
      action: 'created',
    }));
    // the owner is recorded in the auditor's copy when the event is appended (its keys and
    // strings take the whole string budget)
    const audited = {
      ...redactSecrets({
        outcome: 'succeeded',
        approval: 'approved',
        runId: 'r-1',
        applied,
      }),
      [ENTITY_OWNER_META_KEY]: 'group:default/team-a',
    };
    const text = inputToRow(event(audited), 1).meta!;
    expect(text.length).toBeLessThanOrEqual(65536);
    expect(JSON.parse(text)).toEqual({
      outcome: 'succeeded',
      approval: 'approved',
      runId: 'r-1',
      [ENTITY_OWNER_META_KEY]: 'group:default/team-a',
      '…truncated': expect.stringMatching(
        /^metadata of \d+ characters exceeded the 65536-character limit: left out the value of applied \(\d+ characters\)$/,
      ),
    });
  });

  it('leaves out the largest values first, and names how many it left out', () => {
    // within the auditor's bound of string characters; each `"` takes two characters in JSON
    const meta: Record<string, string> = {};
    for (let i = 0; i < 20; i++) {
      meta[`v${String(i).padStart(2, '0')}`] = '"'.repeat(3000);
    }
    meta.small = 'kept';
    meta.big = '"'.repeat(3100);
    const audited = redactSecrets(meta);
    expect(audited).toEqual(meta);
    const text = inputToRow(event(audited), 1).meta!;
    expect(text.length).toBeLessThanOrEqual(65536);
    const stored = JSON.parse(text);
    expect(stored.small).toBe('kept');
    expect(stored.big).toBeUndefined();
    const kept = Object.keys(stored).filter(k => /^v\d\d$/.test(k));
    expect(kept.length).toBeGreaterThan(0);
    for (const k of kept) expect(stored[k]).toBe('"'.repeat(3000));
    expect(stored['…truncated']).toContain(
      `left out the values of ${
        21 - kept.length
      } keys: big (6208 characters), `,
    );
  });

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

describe('inputToRow of a gap record', () => {
  const gap = {
    dropped: 12,
    firstOccurredAt: '2026-01-01T00:00:00.000Z',
    lastOccurredAt: '2026-01-01T00:01:00.000Z',
    reasons: { 'queue full': 12 },
    bySeverity: { low: 9, high: 3 },
    byEvent: {
      'auth.token-issue (low)': 5,
      'catalog.entity-fetch (low)': 4,
      'kubechart.secret-rotate (high)': 2,
      'vault.password-reset (high)': 1,
    },
  };

  it('keeps the counts per event and per severity, whose keys name events, not secrets', () => {
    const input = createGapEvent(gap, 'lossid-1');
    // as the queue's gap record reaches the store
    expect(storedMeta(input)).toEqual({ gap, lossId: 'lossid-1' });
  });

  it('redacts them when they are not counts, and in any other event', () => {
    const odd = {
      ...gap,
      byEvent: { 'auth.token-issue (low)': 's3cr3t' },
      bySeverity: { token: 3 },
    };
    const input = createGapEvent(odd as any);
    expect(storedMeta(input).gap).toMatchObject({
      byEvent: { 'auth.token-issue (low)': REDACTED },
      bySeverity: { token: REDACTED },
    });
    expect(
      storedMeta({ ...input, plugin: 'demo' }).gap.byEvent[
        'auth.token-issue (low)'
      ],
    ).toBe(REDACTED);
    expect(
      storedMeta({ ...createGapEvent(gap), eventId: 'demo-event' }).gap.byEvent[
        'auth.token-issue (low)'
      ],
    ).toBe(REDACTED);
  });
});
