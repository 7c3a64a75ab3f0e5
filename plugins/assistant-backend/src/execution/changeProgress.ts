/** Most object names a record of a change keeps (the assistant changes at most 50 at once). */
export const MAX_NAMED_CHANGES = 50;
/** Most characters of names a message lists (a conversation keeps 2000 characters of it). */
const MAX_LISTED_CHARS = 1000;

/** What a change over several objects had done when it stopped. */
export type ChangeProgress = {
  /** Objects changed before it stopped, in order: the first {@link MAX_NAMED_CHANGES}. */
  changed: string[];
  changedCount: number;
  /** The object whose change failed, when one did. */
  failedOn?: string;
  /** Objects not tried (after a timeout: not tried yet when the assistant stopped waiting). */
  notAttempted: number;
};

/**
 * Follows a change over several objects one object at a time, so that a
 * failure (or the assistant giving up waiting) can say what was already
 * changed: the audit trail and the user are told the truth about a change
 * that is half done.
 */
export class ChangeTracker {
  private total = 0;
  private count = 0;
  private readonly names: string[] = [];
  /** How a finished change is said: `deleted`, `restarted`, `scaled to 2`. */
  private done = 'changed';

  start(total: number, done: string) {
    this.total = total;
    this.done = done;
  }

  /** Whether a change over several objects is under way. */
  get several() {
    return this.total > 1;
  }

  changed(name: string) {
    this.count += 1;
    if (this.names.length < MAX_NAMED_CHANGES) this.names.push(name);
  }

  progress(failedOn?: string): ChangeProgress {
    return {
      changed: [...this.names],
      changedCount: this.count,
      ...(failedOn ? { failedOn } : {}),
      notAttempted: Math.max(0, this.total - this.count - (failedOn ? 1 : 0)),
    };
  }

  /** One sentence: where it stopped, what was changed before, what was not tried. */
  describe(progress: ChangeProgress): string {
    const before = progress.changedCount
      ? `${this.done} before it: ${listNames(progress)}`
      : 'nothing was changed before it';
    const stopped = progress.failedOn
      ? `Stopped at ${progress.failedOn} (${progress.changedCount + 1} of ${
          this.total
        }); ${before}`
      : `${progress.changedCount} of ${this.total} ${
          this.done
        } when the assistant stopped waiting: ${listNames(progress)}`;
    // After a timeout the change goes on in the background: the rest may still be changed.
    return progress.failedOn
      ? `${stopped}; not attempted: ${progress.notAttempted}.`
      : `${stopped}; not yet attempted then: ${progress.notAttempted}.`;
  }
}

function listNames(progress: ChangeProgress): string {
  if (!progress.changedCount) return 'none';
  const shown: string[] = [];
  let length = 0;
  for (const name of progress.changed) {
    if (shown.length && length + name.length > MAX_LISTED_CHARS) break;
    shown.push(name);
    length += name.length + 2;
  }
  const more = progress.changedCount - shown.length;
  return `${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

/** The error of a change that stopped part-way, with what it had done. */
export type ErrorWithProgress = Error & { changeProgress: ChangeProgress };

/** Adds what a change over several objects had done to the error it stopped with. */
export function withProgress<E extends Error>(
  error: E,
  tracker: ChangeTracker,
  failedOn?: string,
): E & ErrorWithProgress {
  const progress = tracker.progress(failedOn);
  error.message = `${error.message.replace(/\.?$/, '.')} ${tracker.describe(
    progress,
  )}`;
  return Object.assign(error, { changeProgress: progress });
}

/** What a change had done when it failed, when the error says. */
export function progressOf(error: unknown): ChangeProgress | undefined {
  return (error as Partial<ErrorWithProgress> | undefined)?.changeProgress;
}
