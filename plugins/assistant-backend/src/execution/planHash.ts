import { Plan } from '@kubechart/plugin-assistant-common';
import { createHash, createHmac, randomBytes } from 'node:crypto';

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .filter(k => (value as Record<string, unknown>)[k] !== undefined)
        .map(k => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** A new salt for {@link planHash}, kept with the answer and never shown. */
export function newPlanSalt(): string {
  return randomBytes(16).toString('hex');
}

/**
 * The hash of a plan's canonical JSON (hex): what a confirmation is bound to, and what the audit
 * trail and the browser are given of the plan they see with its secret values hidden. With the
 * answer's salt it is an HMAC-SHA-256, so that nobody who sees the hash and the rest of the plan
 * can confirm a guess of a hidden value by hashing it; answers stored before salts were kept have
 * none and are hashed as they were (SHA-256).
 */
export function planHash(plan: Plan, salt?: string): string {
  const text = JSON.stringify(canonical(plan));
  return (salt ? createHmac('sha256', salt) : createHash('sha256'))
    .update(text)
    .digest('hex');
}
