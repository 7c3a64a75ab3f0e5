import { createHash, randomBytes } from 'node:crypto';
import { Knex } from 'knex';
import { ConfirmationProblem, ConfirmationStore } from './ConfirmationStore';

type ConfirmationRow = {
  token_hash: string;
  message_id: string;
  user_ref: string;
  plan_hash: string;
  expires_at: string | number | Date;
  used_at: string | number | Date | null;
};

const TABLE = 'kube_assistant_confirmations';

const hashToken = (token: string) =>
  createHash('sha256').update(token).digest('hex');

/** Confirmations in the plugin's database; spending one is a single conditional UPDATE. */
export class DatabaseConfirmationStore implements ConfirmationStore {
  constructor(private readonly db: Knex) {}

  async issue(options: {
    messageId: string;
    userRef: string;
    planHash: string;
    ttlMs: number;
  }): Promise<{ token: string; expiresAt: string }> {
    const token = randomBytes(32).toString('base64url');
    const expiresAt = new Date(Date.now() + options.ttlMs);
    await this.db<ConfirmationRow>(TABLE).insert({
      token_hash: hashToken(token),
      message_id: options.messageId,
      user_ref: options.userRef,
      plan_hash: options.planHash,
      expires_at: expiresAt,
      used_at: null,
    });
    return { token, expiresAt: expiresAt.toISOString() };
  }

  async consume(options: {
    token: string;
    messageId: string;
    userRef: string;
    planHash: string;
  }): Promise<{ ok: true } | { ok: false; problem: ConfirmationProblem }> {
    const tokenHash = hashToken(options.token);
    const now = new Date();
    // One statement decides: two concurrent runs cannot both spend it.
    const spent = await this.db<ConfirmationRow>(TABLE)
      .where({
        token_hash: tokenHash,
        message_id: options.messageId,
        user_ref: options.userRef,
        plan_hash: options.planHash,
      })
      .whereNull('used_at')
      .where('expires_at', '>', now)
      .update({ used_at: now });
    if (spent === 1) return { ok: true };
    const row = await this.db<ConfirmationRow>(TABLE)
      .where({ token_hash: tokenHash })
      .first();
    let problem: ConfirmationProblem = 'unknown';
    if (
      !row ||
      row.message_id !== options.messageId ||
      row.user_ref !== options.userRef
    ) {
      problem = 'unknown';
    } else if (row.plan_hash !== options.planHash) {
      problem = 'altered';
    } else if (row.used_at) {
      problem = 'used';
    } else {
      problem = 'expired';
    }
    return { ok: false, problem };
  }
}
