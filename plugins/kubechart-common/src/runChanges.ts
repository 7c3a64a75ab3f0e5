import type { Run } from './types';

/** The last entry of a long {@link Run.applied}: how many changes it does not name. */
const MORE = /^and (\d+) more$/;

/**
 * The entry that ends a list of changes naming fewer than it stands for: "and 12 more".
 * @public
 */
export function moreChanges(count: number): string {
  return `and ${count} more`;
}

/**
 * A list of changes as written by {@link moreChanges}: the changes it names, and how many more it
 * stands for (0 when it names them all).
 * @public
 */
export function splitChanges(changes: readonly string[]): {
  named: readonly string[];
  unnamed: number;
} {
  const more = MORE.exec(changes[changes.length - 1] ?? '');
  return more
    ? { named: changes.slice(0, -1), unnamed: Number(more[1]) }
    : { named: changes, unnamed: 0 };
}

/**
 * What a run changed in clusters as it recorded it ({@link Run.applied}); `[]` for a run that was
 * never claimed (no `running` transition: rejected, expired, changed or withdrawn while it waited
 * for approval, or never started); undefined when that is not known.
 * @public
 */
export function runApplied(
  run: Pick<Run, 'applied' | 'transitions'>,
): readonly string[] | undefined {
  if (run.applied) return run.applied;
  const claimed = run.transitions?.some(t => t.status === 'running') ?? true;
  return claimed ? undefined : [];
}
