/** Why a confirmation token was not accepted. */
export type ConfirmationProblem = 'unknown' | 'used' | 'expired' | 'altered';

/** Single-use, expiring confirmation tokens bound to a plan's hash. */
export interface ConfirmationStore {
  /** Hands out a token for the plan an answer shows. */
  issue(options: {
    messageId: string;
    userRef: string;
    planHash: string;
    ttlMs: number;
  }): Promise<{ token: string; expiresAt: string }>;
  /**
   * Spends a token: succeeds once, for the same user, message and plan hash,
   * before it expires. Answers what was wrong otherwise.
   */
  consume(options: {
    token: string;
    messageId: string;
    userRef: string;
    planHash: string;
  }): Promise<{ ok: true } | { ok: false; problem: ConfirmationProblem }>;
}
