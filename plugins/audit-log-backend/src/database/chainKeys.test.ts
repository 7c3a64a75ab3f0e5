import { mockServices } from '@backstage/backend-test-utils';
import { ChainKeyring, chainKeyId, readChainKeys } from './chainKeys';
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';

const KEY = 'a-chain-key-of-more-than-32-characters-0123456789';
const OLD = 'an-older-chain-key-of-more-than-32-characters-987';

const read = (chain: { key?: string; previousKeys?: string[] }) =>
  readChainKeys(mockServices.rootConfig({ data: { auditLog: { chain } } }));

describe('chainKeyId', () => {
  it('is the first 16 hex digits of sha256("kubechart-audit-key-id:" + key)', () => {
    expect(chainKeyId(KEY)).toBe(
      createHash('sha256')
        .update(`kubechart-audit-key-id:${KEY}`)
        .digest('hex')
        .slice(0, 16),
    );
    expect(chainKeyId(KEY)).toMatch(/^[0-9a-f]{16}$/);
    expect(chainKeyId(OLD)).not.toBe(chainKeyId(KEY));
  });
});

describe('readChainKeys', () => {
  it('is undefined without a key (the chain stays unkeyed)', () => {
    expect(readChainKeys(mockServices.rootConfig())).toBeUndefined();
    expect(read({})).toBeUndefined();
  });

  it('reads the key and the previous keys, the current one first', () => {
    const keys = read({ key: KEY, previousKeys: [OLD] })!;
    expect(keys.current.id).toBe(chainKeyId(KEY));
    expect(keys.ids).toEqual([chainKeyId(KEY), chainKeyId(OLD)]);
    expect(keys.get(chainKeyId(OLD))?.id).toBe(chainKeyId(OLD));
    expect(keys.get('0000000000000000')).toBeUndefined();
    expect(keys.get(null)).toBeUndefined();
    // the same key twice is one key
    expect(read({ key: KEY, previousKeys: [KEY] })!.ids).toEqual([
      chainKeyId(KEY),
    ]);
  });

  it('ranks the keys in the order they take over: the previous keys oldest first, then the key', () => {
    const NEWER = 'a-newer-previous-chain-key-of-more-than-32-chars';
    const keys = read({ key: KEY, previousKeys: [OLD, NEWER, OLD] })!;
    expect(keys.rank(chainKeyId(OLD))).toBe(0);
    expect(keys.rank(chainKeyId(NEWER))).toBe(1);
    expect(keys.rank(chainKeyId(KEY))).toBe(3);
    expect(keys.rank('0000000000000000')).toBeUndefined();
    expect(keys.rank(null)).toBeUndefined();
    expect(keys.setting(chainKeyId(OLD))).toBe(
      'auditLog.chain.previousKeys[0]',
    );
    expect(keys.setting(chainKeyId(NEWER))).toBe(
      'auditLog.chain.previousKeys[1]',
    );
    expect(keys.setting(chainKeyId(KEY))).toBe('auditLog.chain.key');
    // the current key listed among the previous ones too stays the newest
    const again = read({ key: KEY, previousKeys: [KEY, OLD] })!;
    expect(again.rank(chainKeyId(KEY))).toBe(2);
    expect(again.rank(chainKeyId(OLD))).toBe(1);
    expect(again.setting(chainKeyId(KEY))).toBe('auditLog.chain.key');
  });

  it('refuses a key shorter than 32 characters without printing it', () => {
    const short = 'short-secret-value';
    expect(() => read({ key: short })).toThrow(
      /auditLog\.chain\.key must be at least 32 characters.*openssl rand -base64 48/,
    );
    expect(() => read({ key: 'x'.repeat(31) })).toThrow(/at least 32/);
    expect(read({ key: 'x'.repeat(32) })).toBeInstanceOf(ChainKeyring);
    let message = '';
    try {
      read({ key: KEY, previousKeys: [OLD, short] });
    } catch (error) {
      message = String((error as Error).message);
    }
    expect(message).toMatch(
      /auditLog\.chain\.previousKeys\[1\] must be at least/,
    );
    expect(message).not.toContain(short);
    expect(() => read({ previousKeys: [OLD] })).toThrow(
      /previousKeys is set without auditLog\.chain\.key/,
    );
  });

  it('holds the keys so that printing or serialising the keyring does not show them', () => {
    const keys = read({ key: KEY, previousKeys: [OLD] })!;
    for (const shown of [
      inspect(keys, { depth: 10, showHidden: true }),
      JSON.stringify(keys),
      String(keys.current.secret),
      JSON.stringify(keys.current),
    ]) {
      expect(shown).not.toContain(KEY);
      expect(shown).not.toContain(OLD);
    }
  });
});
