import { InputError } from '@backstage/errors';
// The form an entity ref is stored in on runs and drift records, and looked up by: the catalog's
// own, the form an entity page asks for its history with. The catalog reads refs without regard to
// case, so `Component:Default/Web`, `component:web` and `component:default/web` are one entity, one
// permission decision, and so one deployment history.
import { entityRefKey } from '@kubechart/plugin-audit-log-common';

/**
 * What a filter by `ref` looks for: {@link entityRefKey}, or for a text that is not an entity ref
 * that text (which no run stored since has; a record stored before may).
 */
export function entityRefFilter(ref: string): string {
  return entityRefKey(ref) ?? ref;
}

/**
 * {@link entityRefKey}, or InputError (400) naming `what` for a text that is not an entity ref:
 * nothing is stored under a ref the catalog could not read.
 */
export function requiredEntityRefKey(ref: string, what: string): string {
  const key = entityRefKey(ref);
  if (key === undefined)
    throw new InputError(
      `${what} ${JSON.stringify(
        ref.length > 100 ? `${ref.slice(0, 100)}…` : ref,
      )} is not an entity ref; give <kind>:[<namespace>/]<name>, e.g. component:default/web`,
    );
  return key;
}

/**
 * The `entity_owner` a new run is stored with: for a run with an entity, the {@link entityRefKey} of
 * the owner that entity had when the run was made, or '' when it had none (or none readable as a
 * ref): such a run is read only by a caller who may read every run. NULL for a run without an entity.
 */
export function entityOwnerKey(run: {
  entityRef?: string;
  entityOwner?: string;
}): string | null {
  if (!run.entityRef) return null;
  return (run.entityOwner && entityRefKey(run.entityOwner)) || '';
}
