import { RootConfigService } from '@backstage/backend-plugin-api';
import { createHash, createSecretKey, KeyObject } from 'node:crypto';

/** Fewest characters a chain key may have. */
export const MIN_CHAIN_KEY_LENGTH = 32;

/**
 * A key the hash chain is signed with (version 3): the secret, held as a `KeyObject` so that
 * it is never printed or serialised by accident, and its public id, stored with each event.
 */
export type ChainKey = {
  /** {@link chainKeyId} of the secret. */
  id: string;
  secret: KeyObject;
};

/** Event id of the event a backend appends when it starts signing the chain with a key. */
export const CHAIN_KEY_EVENT_ID = 'chain-key-configured';

const CHAIN_KEY_ID = /^[0-9a-f]{16}$/;

/** Whether `value` has the form of a {@link chainKeyId}: 16 lower-case hex digits. */
export function isChainKeyId(value: unknown): value is string {
  return typeof value === 'string' && CHAIN_KEY_ID.test(value);
}

/**
 * The id stored with each event signed with `secret`: the first 16 hex digits of
 * sha256("kubechart-audit-key-id:" + secret). Tells which configured key to verify an event
 * with; says nothing usable about a key of 32 random characters or more.
 */
export function chainKeyId(secret: string): string {
  return createHash('sha256')
    .update(`kubechart-audit-key-id:${secret}`)
    .digest('hex')
    .slice(0, 16);
}

function toChainKey(secret: string): ChainKey {
  return {
    id: chainKeyId(secret),
    secret: createSecretKey(Buffer.from(secret, 'utf8')),
  };
}

/**
 * The keys of a backend: the current one, which signs new events, and previous ones, which
 * only verify the events they signed (key rotation). The previous keys are listed oldest first
 * (the key retired last is the last of them): keys take over the chain in that order, then the
 * current key, and never the other way round (see {@link ChainKeyring.rank}).
 */
export class ChainKeyring {
  readonly current: ChainKey;
  readonly #byId: Map<string, ChainKey>;
  /** Where each key stands in the order keys take over: 0 the oldest, the current key last. */
  readonly #rank = new Map<string, number>();
  /** The setting each key is configured in. */
  readonly #setting = new Map<string, string>();

  private constructor(current: ChainKey, previous: ChainKey[]) {
    this.current = current;
    this.#byId = new Map(
      [current, ...previous].map(key => [key.id, key] as const),
    );
    previous.forEach((key, i) => {
      // a key listed twice stands where it is listed first
      if (key.id === current.id || this.#rank.has(key.id)) return;
      this.#rank.set(key.id, i);
      this.#setting.set(key.id, `auditLog.chain.previousKeys[${i}]`);
    });
    this.#rank.set(current.id, previous.length);
    this.#setting.set(current.id, 'auditLog.chain.key');
  }

  /**
   * Where the configured key with this id stands in the order keys take over the chain: the
   * previous keys oldest first (0, 1, …), then the current key, the highest. Undefined for a key
   * that is not configured.
   */
  rank(id: string | null | undefined): number | undefined {
    return id ? this.#rank.get(id) : undefined;
  }

  /** The setting the key with this id is configured in (`auditLog.chain.previousKeys[0]`, …). */
  setting(id: string | null | undefined): string | undefined {
    return id ? this.#setting.get(id) : undefined;
  }

  /** A keyring of `current` and `previous` (duplicates ignored). Lengths are not checked. */
  static fromSecrets(current: string, previous: string[] = []): ChainKeyring {
    return new ChainKeyring(toChainKey(current), previous.map(toChainKey));
  }

  /** The configured key with this id, if any. */
  get(id: string | null | undefined): ChainKey | undefined {
    return id ? this.#byId.get(id) : undefined;
  }

  /** Ids of every configured key, the current one first. */
  get ids(): string[] {
    return [...this.#byId.keys()];
  }
}

/**
 * The keyring of `auditLog.chain` (`key`, `previousKeys`), or undefined when no key is
 * configured. A key shorter than {@link MIN_CHAIN_KEY_LENGTH} characters is refused; errors
 * name the setting, never the value.
 */
export function readChainKeys(
  config: RootConfigService,
): ChainKeyring | undefined {
  const key = config.getOptionalString('auditLog.chain.key');
  const previous =
    config.getOptionalStringArray('auditLog.chain.previousKeys') ?? [];
  const check = (value: string, name: string) => {
    if (value.length < MIN_CHAIN_KEY_LENGTH) {
      throw new Error(
        `${name} must be at least ${MIN_CHAIN_KEY_LENGTH} characters long; generate one with \`openssl rand -base64 48\``,
      );
    }
  };
  if (key === undefined || key === '') {
    if (previous.length > 0) {
      throw new Error(
        'auditLog.chain.previousKeys is set without auditLog.chain.key: set the key new events are signed with',
      );
    }
    return undefined;
  }
  check(key, 'auditLog.chain.key');
  previous.forEach((value, i) =>
    check(value, `auditLog.chain.previousKeys[${i}]`),
  );
  return ChainKeyring.fromSecrets(key, previous);
}
