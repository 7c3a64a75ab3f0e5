/** Most object names a record of a change keeps (the assistant changes at most 50 at once). */
export const MAX_NAMED_CHANGES = 50;
/** Most characters of names a message lists (a conversation keeps 2000 characters of it). */
const MAX_LISTED_CHARS = 1000;

/** An object a change changed, as the audit trail names it. */
export type ChangedObject = {
  /** Absent for a cluster-scoped object. */
  namespace?: string;
  kind: string;
  name: string;
};

/** The objects a finished change changed: the first {@link MAX_NAMED_CHANGES}, and how many in all. */
export type ChangedObjects = {
  objects: ChangedObject[];
  count: number;
};

/** What a change over several objects had done when it stopped. */
export type ChangeProgress = {
  /** Objects changed before it stopped, in order: the first {@link MAX_NAMED_CHANGES}. */
  changed: string[];
  changedCount: number;
  /** The object whose change failed, when one did. */
  failedOn?: string;
  /**
   * After the deadline: the object whose request was under way then. The
   * cluster may still apply it; no other request is sent.
   */
  inFlight?: string;
  /** Objects not tried: no request was sent for them, and none will be. */
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
  private readonly objects: ChangedObject[] = [];
  /** Every object of the change, in order (at most 50: the assistant changes no more at once). */
  private targets: string[] = [];
  /** The object whose request is under way. */
  private current?: string;
  /** How a finished change is said: `deleted`, `restarted`, `scaled to 2`. */
  private done = 'changed';

  start(targets: string[], done: string) {
    this.targets = targets;
    this.total = targets.length;
    this.done = done;
  }

  /** Whether a change over several objects is under way. */
  get several() {
    return this.total > 1;
  }

  /** The request for `name` is about to be sent. */
  sending(name: string) {
    this.current = name;
  }

  changed(name: string, object: ChangedObject) {
    this.count += 1;
    this.current = undefined;
    if (this.names.length < MAX_NAMED_CHANGES) {
      this.names.push(name);
      this.objects.push(object);
    }
  }

  /** What the change changed, for the record of a change that finished. */
  changedObjects(): ChangedObjects {
    return { objects: [...this.objects], count: this.count };
  }

  progress(failedOn?: string): ChangeProgress {
    const inFlight = failedOn ? undefined : this.current;
    return {
      changed: [...this.names],
      changedCount: this.count,
      ...(failedOn ? { failedOn } : {}),
      ...(inFlight ? { inFlight } : {}),
      notAttempted: Math.max(
        0,
        this.total - this.count - (failedOn || inFlight ? 1 : 0),
      ),
    };
  }

  /** The objects of the change no request was sent for. */
  private notSent(progress: ChangeProgress): string[] {
    return this.targets.slice(this.total - progress.notAttempted);
  }

  /**
   * One sentence: where it stopped, what was changed before, what was not
   * tried. After the deadline no further request is sent: only the one under
   * way then may still be applied by the cluster.
   */
  describe(progress: ChangeProgress): string {
    if (progress.failedOn) {
      const before = progress.changedCount
        ? `${this.done} before it: ${listNames(
            progress.changed,
            progress.changedCount,
          )}`
        : 'nothing was changed before it';
      return `Stopped at ${progress.failedOn} (${
        progress.changedCount + 1
      } of ${this.total}); ${before}; not attempted: ${progress.notAttempted}.`;
    }
    const parts = [
      `${progress.changedCount} of ${this.total} ${this.done}: ${listNames(
        progress.changed,
        progress.changedCount,
      )}`,
    ];
    if (progress.inFlight) {
      parts.push(
        `under way at the deadline, may still complete: ${progress.inFlight}`,
      );
    }
    if (progress.notAttempted) {
      parts.push(
        `not ${this.done} (no request sent): ${listNames(
          this.notSent(progress),
          progress.notAttempted,
        )}`,
      );
    }
    return `${parts.join('; ')}.`;
  }
}

function listNames(names: string[], count: number): string {
  if (!count) return 'none';
  const shown: string[] = [];
  let length = 0;
  for (const name of names) {
    if (shown.length && length + name.length > MAX_LISTED_CHARS) break;
    shown.push(name);
    length += name.length + 2;
  }
  const more = count - shown.length;
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
