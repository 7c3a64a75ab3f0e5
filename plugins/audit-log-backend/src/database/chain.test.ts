import { canonicalJson } from '@kubechart/plugin-audit-log-common';
import {
  canonicalParts,
  canonicalRowV1,
  canonicalRowV2,
  checkStoredHash,
  EventContent,
  hashNumbered,
  hashRow,
  linkRow,
  storedHashMatches,
} from './chain';
import { ChainKeyring } from './chainKeys';
import { createHash, createHmac } from 'node:crypto';

const row: EventContent = {
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

const sha256 = (text: string) =>
  createHash('sha256').update(text).digest('hex');

describe('canonicalRowV1', () => {
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
    expect(canonicalRowV1(row)).toBe(expected);
    // the same row read back from SQLite (string timestamp, number seq)
    expect(
      canonicalRowV1({
        ...row,
        seq: 42,
        occurred_at: '2026-11-21T10:00:00.123Z',
      }),
    ).toBe(expected);
    expect(hashRow('ab'.repeat(32), row, 1)).toBe(
      sha256(`${'ab'.repeat(32)}${expected}`),
    );
  });
});

describe('canonicalRowV2', () => {
  it('is seq, epoch milliseconds and length-prefixed fields, NULL a bare colon', () => {
    // the reference an auditor can re-implement: UTF-8 byte lengths (ü is 2 bytes)
    const expected =
      ':42:1795255200123:17:user:default/jane7:catalog12:entity-fetch3:low6:failed' +
      '28:component:default/a "quoted":::3:GET19:/api/catalog/x?y=ü::7:{"a":1}19:NotFoundError: nope';
    expect(canonicalRowV2(row)).toBe(expected);
    // the same row read back from SQLite (string timestamp, number seq)
    expect(
      canonicalRowV2({
        ...row,
        seq: 42,
        occurred_at: '2026-11-21T10:00:00.123Z',
      }),
    ).toBe(expected);
    const prev = 'ab'.repeat(32);
    expect(hashRow(prev, row, 2)).toBe(sha256(`${prev}${expected}`));
    expect(hashRow(prev, { ...row, status: 'succeeded' }, 2)).not.toBe(
      hashRow(prev, row, 2),
    );
    // a version this code does not know hashes to nothing
    expect(hashRow(prev, row, 3)).toBeUndefined();
  });

  it('counts bytes, not UTF-16 units or characters', () => {
    const text = (actor: string) =>
      canonicalRowV2({ ...row, actor }).split(':')[3];
    expect(text('é')).toBe('2'); // U+00E9: 1 UTF-16 unit, 2 bytes
    expect(text('✓')).toBe('3'); // U+2713: 1 unit, 3 bytes
    expect(text('😀')).toBe('4'); // astral: 2 units, 4 bytes
    expect(text('e\u0301')).toBe('3'); // combining accent: 2 characters, 3 bytes
    expect(text('')).toBe('0');
  });

  it('gives different texts to rows that would run together without lengths', () => {
    const texts = [
      { actor: 'ab', plugin_id: 'c' },
      { actor: 'a', plugin_id: 'bc' },
      { actor: 'a', plugin_id: 'b:c' },
      { actor: 'a:', plugin_id: 'bc' },
      { actor: '1:a', plugin_id: 'bc' },
      { actor: null, plugin_id: 'bc' },
      { actor: '', plugin_id: 'bc' },
      { actor: ':', plugin_id: 'bc' },
      // a value that looks like the next fields
      { actor: 'a', target_entity_ref: null, target_cluster: '' },
      { actor: 'a', target_entity_ref: '', target_cluster: null },
      { actor: 'a', target_entity_ref: '::', target_cluster: null },
      { actor: `a${canonicalRowV2(row)}`, plugin_id: 'c' },
    ].map(change => canonicalRowV2({ ...row, ...change }));
    expect(new Set(texts).size).toBe(texts.length);
    // seq and the timestamp cannot trade digits either
    expect(canonicalRowV2({ ...row, seq: 1 })).not.toBe(
      canonicalRowV2({ ...row, seq: 11 }),
    );
    // a version 1 text starts with "{", a version 2 text with ":"
    expect(canonicalRowV1(row)[0]).toBe('{');
    expect(canonicalRowV2(row)[0]).toBe(':');
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
      [{ ...unnumbered, event_id: ':1:2:' }, 123456789],
    ] as const) {
      const parts = canonicalParts(r);
      expect(`:${seq}${parts.tail}`).toBe(canonicalRowV2({ ...r, seq }));
      expect(hashNumbered(prev, parts, seq)).toBe(
        hashRow(prev, { ...r, seq }, 4),
      );
    }
    // the number is part of what is hashed
    expect(hashNumbered(prev, canonicalParts(unnumbered), 43)).not.toBe(
      hashRow(prev, row, 4),
    );
  });
});

describe('storedHashMatches', () => {
  it('checks a row in the form its chain_version names, and no other', () => {
    const prev = 'ef'.repeat(32);
    const v4 = linkRow(prev, row);
    expect(v4).toMatchObject({ prev_hash: prev, chain_version: 4 });
    expect(storedHashMatches(v4)).toBe(true);
    const v2 = { ...v4, hash: hashRow(prev, row, 2)!, chain_version: 2 };
    expect(storedHashMatches(v2)).toBe(true);
    const v1 = { ...v2, hash: hashRow(prev, row, 1)!, chain_version: 1 };
    expect(storedHashMatches(v1)).toBe(true);
    // the stored version changed: the hash no longer matches
    expect(storedHashMatches({ ...v2, chain_version: 1 })).toBe(false);
    expect(storedHashMatches({ ...v1, chain_version: '2' })).toBe(false);
    expect(storedHashMatches({ ...v2, chain_version: 3 })).toBe(false);
    expect(storedHashMatches({ ...v2, chain_version: 4 })).toBe(false);
    expect(storedHashMatches({ ...v4, chain_version: 2 })).toBe(false);
    expect(storedHashMatches({ ...v4, chain_version: 5 })).toBe(false);
    for (const changed of [v2, v4]) {
      expect(
        storedHashMatches({ ...changed, actor: 'user:default/mallory' }),
      ).toBe(false);
    }
  });
});

describe('version 4 (content digest)', () => {
  const prev = '34'.repeat(32);

  it('is sha256 of prev_hash, "v4:" and the raw sha256 of the version 2 text', () => {
    const digest = createHash('sha256').update(canonicalRowV2(row)).digest();
    const expected = createHash('sha256')
      .update(prev)
      .update('v4:')
      .update(digest)
      .digest('hex');
    expect(hashRow(prev, row, 4)).toBe(expected);
    expect(linkRow(prev, row)).toMatchObject({ hash: expected });
    // every column and the number count, through the digest
    expect(hashRow(prev, { ...row, meta: '{"a":2}' }, 4)).not.toBe(expected);
    expect(hashRow(prev, { ...row, seq: 43 }, 4)).not.toBe(expected);
    expect(hashRow('56'.repeat(32), row, 4)).not.toBe(expected);
  });
});

describe('version 3 (keyed)', () => {
  const secret = 'k'.repeat(40);
  const keys = ChainKeyring.fromSecrets(secret, ['p'.repeat(40)]);
  const prev = '12'.repeat(32);

  it('is HMAC-SHA256 with the key over prev_hash and the version 2 text', () => {
    const expected = createHmac('sha256', secret)
      .update(`${prev}${canonicalRowV2(row)}`)
      .digest('hex');
    expect(hashRow(prev, row, 3, keys.current)).toBe(expected);
    const linked = linkRow(prev, row, keys.current);
    expect(linked).toMatchObject({
      hash: expected,
      chain_version: 3,
      chain_key_id: keys.current.id,
    });
    const { seq: _seq, ...unnumbered } = row;
    expect(
      hashNumbered(prev, canonicalParts(unnumbered), 42, keys.current),
    ).toBe(expected);
    // not computable without the key, and not the unkeyed hash
    expect(hashRow(prev, row, 3)).toBeUndefined();
    expect(expected).not.toBe(hashRow(prev, row, 2));
    // linked without a key: version 4, no key id
    expect(linkRow(prev, row)).toMatchObject({
      chain_version: 4,
      chain_key_id: null,
    });
  });

  it('is checked with the key the event names, among the configured ones', () => {
    const linked = linkRow(prev, row, keys.current);
    expect(checkStoredHash(linked, keys)).toBe('intact');
    expect(storedHashMatches(linked, keys)).toBe(true);
    // a previous key still verifies what it signed
    const old = ChainKeyring.fromSecrets('p'.repeat(40));
    expect(checkStoredHash(linkRow(prev, row, old.current), keys)).toBe(
      'intact',
    );
    expect(
      checkStoredHash({ ...linked, actor: 'user:default/mallory' }, keys),
    ).toBe('altered');
    // an id that is not configured, or none at all
    expect(checkStoredHash(linked, old)).toBe('unknown-key');
    expect(checkStoredHash(linked)).toBe('unknown-key');
    expect(checkStoredHash({ ...linked, chain_key_id: null }, keys)).toBe(
      'altered',
    );
    // the version changed to 2: the sha256 no longer matches
    expect(checkStoredHash({ ...linked, chain_version: 2 }, keys)).toBe(
      'altered',
    );
  });
});
