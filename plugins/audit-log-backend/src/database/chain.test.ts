import { canonicalJson } from '@kubechart/plugin-audit-log-common';
import {
  canonicalParts,
  canonicalRow,
  hashNumbered,
  hashRow,
} from './chain';
import { createHash } from 'node:crypto';

const row = {
  seq: '42',
  occurred_at: new Date('2026-11-21T10:00:00.123Z'),
  actor: 'user:default/jane',
  plugin_id: 'catalog',
  event_id: 'entity-fetch',
  severity: 'low',
  status: 'failed',
  target_entity_ref: 'component:default/a "quoted"',
  target_cluster: null,
  target_namespace: null,
  target_resource: null,
  request_method: 'GET',
  request_path: '/api/catalog/x?y=ü',
  request_ip: null,
  request_user_agent: null,
  meta: '{"a":1}',
  error: 'NotFoundError: nope',
};

describe('canonicalRow', () => {
  it('equals the canonical JSON of the row without nulls', () => {
    const expected = canonicalJson({
      ...row,
      seq: 42,
      occurred_at: '2026-11-21T10:00:00.123Z',
      target_cluster: undefined,
      target_namespace: undefined,
      target_resource: undefined,
      request_ip: undefined,
      request_user_agent: undefined,
    });
    expect(canonicalRow(row)).toBe(expected);
    // the same row read back from SQLite (string timestamp, number seq)
    expect(
      canonicalRow({
        ...row,
        seq: 42,
        occurred_at: '2026-11-21T10:00:00.123Z',
      }),
    ).toBe(expected);
  });

  it('hashes prevHash followed by the canonical row', () => {
    const prev = 'ab'.repeat(32);
    expect(hashRow(prev, row)).toBe(
      createHash('sha256')
        .update(prev + canonicalRow(row))
        .digest('hex'),
    );
    expect(hashRow(prev, { ...row, status: 'succeeded' })).not.toBe(
      hashRow(prev, row),
    );
  });

  it('hashes a row serialised before it was numbered exactly like the numbered row', () => {
    const prev = 'cd'.repeat(32);
    const { seq: _seq, ...unnumbered } = row;
    const sparse = {
      ...unnumbered,
      actor: null,
      error: null,
      meta: null,
      request_method: null,
      request_path: null,
    };
    for (const [r, seq] of [
      [unnumbered, 42],
      [sparse, 7],
      [{ ...unnumbered, event_id: 'a "seq":1, b' }, 123456789],
    ] as const) {
      const parts = canonicalParts(r);
      expect(`${parts.head}${seq}${parts.tail}`).toBe(
        canonicalRow({ ...r, seq }),
      );
      expect(hashNumbered(prev, parts, seq)).toBe(
        hashRow(prev, { ...r, seq }),
      );
    }
    // the number is part of what is hashed
    expect(hashNumbered(prev, canonicalParts(unnumbered), 43)).not.toBe(
      hashRow(prev, row),
    );
  });
});
