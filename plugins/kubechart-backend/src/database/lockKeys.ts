import { createHash } from 'node:crypto';
import type { RunTarget } from '@kubechart/plugin-kubechart-common';

/** The lock key of a namespace on a cluster. */
export const namespaceLockKey = (cluster: string, namespace: string) =>
  `ns:${cluster}/${namespace}`;

/**
 * The lock keys of a run: its own keys plus its namespace, so that a tenant delete and any other
 * run in the same namespace (chart, manifests, rollback, tenant) exclude each other.
 */
export function withNamespaceLock(target: RunTarget, keys: string[]): string[] {
  return [
    ...new Set([namespaceLockKey(target.cluster, target.namespace), ...keys]),
  ];
}

/**
 * The run slots of an actor (see `ActorSlots`): `n` lock keys, named by a digest of the actor's
 * entity ref (any length fits the lock table's key).
 */
export function actorSlotKeys(actor: string, n: number): string[] {
  const prefix = actorSlotPrefix(actor);
  return Array.from({ length: n }, (_, i) => `${prefix}${i}`);
}

/**
 * What every slot key of an actor starts with, whatever the limit was when a run took it: a limit
 * lowered since still counts the runs that hold higher-numbered slots (hex digits, so no LIKE wildcard).
 */
export function actorSlotPrefix(actor: string): string {
  const digest = createHash('sha256').update(actor).digest('hex').slice(0, 40);
  return `actor:${digest}#`;
}
