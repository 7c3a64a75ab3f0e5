import {
  REDACTED,
  collectSecretValues,
  createTextRedactor,
  redactManifest,
  redactManifestInTurns,
  redactObject,
  scrubStrings,
} from '@kubechart/plugin-kubechart-node';
import type {
  HelmLineListener,
  KubeObject,
} from '@kubechart/plugin-kubechart-node';
import { moreChanges, splitChanges } from '@kubechart/plugin-kubechart-common';
import type { RunEvent } from '@kubechart/plugin-kubechart-common';
import { LoggerService } from '@backstage/backend-plugin-api';
import { LeaseLostError, NewRunEvent, RunStore } from '../database/RunStore';
import { currentRunChanges } from './lease';
import { RunRedactor, trackRunSecrets } from './secretScrubbingStore';

/** At most this many changes are named in a failure reason. */
const MAX_NAMED_CHANGES = 10;
/** At most this many changes are recorded on a run (`Run.applied`); the rest are counted. */
export const MAX_RECORDED_CHANGES = 500;

/**
 * At most this many lines of one output stream (helm's stdout or stderr) are kept to judge its next
 * line by: the lines of a value that runs over lines (a quoted value with line breaks, a YAML block
 * under a secret-looking key). A value running on past them withholds the rest of its stream.
 */
export const MAX_OUTPUT_CONTEXT_LINES = 256;
/** At most this many characters of one output stream are kept to judge its next line by. */
export const MAX_OUTPUT_CONTEXT_CHARS = 32 * 1024;

/** A line of output as the run log shows it: its text, or the stream withheld from it on. */
type OutputLine = { shown?: string; withheld?: boolean };

/**
 * One stream of a command's output, scrubbed as the text it is, not line by line: the redactor hides
 * a value under a secret-looking key whole when it runs over lines (a quote that closes lines later,
 * a YAML block or nested value under the key), which a line alone does not show. Each line is
 * scrubbed together with the lines before it that it may continue, and what the scrub adds for it
 * is shown at once: logs are not held back. Those lines are kept only while a value may run on
 * (after a line the scrub shows as it shows it alone, they are dropped), and at most
 * {@link MAX_OUTPUT_CONTEXT_LINES} lines or {@link MAX_OUTPUT_CONTEXT_CHARS} characters, so each
 * line costs a bounded scrub; past that the rest of the stream is withheld, as the redactor hides
 * a quoted value that never closes to the end of its text.
 */
class OutputStream {
  /** The lines the next one may continue, consecutive blank lines kept as one (the redactor skips them alike). */
  private lines: string[] = [];
  private chars = 0;
  /** `scrubbedBy` applied to `lines`; computed again when the run learns a secret. */
  private scrubbed = '';
  private scrubbedBy?: (text: string) => string;
  private withheld = false;

  next(line: string, scrub: (text: string) => string): OutputLine {
    if (this.withheld) return {};
    const blank = !line.trim();
    if (this.lines.length === 0) {
      if (blank) return { shown: line };
      const shown = scrub(line);
      this.keep([line], shown, scrub);
      return { shown };
    }
    const text = this.lines.join('\n');
    if (this.scrubbedBy !== scrub) {
      this.scrubbed = scrub(text);
      this.scrubbedBy = scrub;
    }
    if (blank) {
      if (this.lines[this.lines.length - 1] !== '') {
        this.lines.push('');
        this.scrubbed = scrub(`${text}\n`);
      }
      return { shown: line };
    }
    const before = this.scrubbed;
    const scrubbed = scrub(`${text}\n${line}`);
    let shown: string;
    let alone = false;
    if (!scrubbed.startsWith(before)) {
      // The scrub of the lines before changed with this one (a known secret across them): which
      // part is this line's is not known, so none of it is shown.
      shown = REDACTED;
    } else {
      const added = scrubbed.slice(before.length);
      if (added.startsWith('\n')) {
        shown = added.slice(1);
        // A line scrubbed as it is alone ends every value before it; one shown as `***` alone
        // (a known secret) may be a hidden line of one, so the lines before are kept.
        alone = shown === scrub(line) && shown.trim() !== REDACTED;
      } else {
        // Its start continues a hidden value of the lines before.
        shown = added.startsWith(REDACTED) ? added : `${REDACTED}${added}`;
      }
    }
    if (alone) {
      this.keep([line], shown, scrub);
      return { shown };
    }
    if (
      this.lines.length >= MAX_OUTPUT_CONTEXT_LINES ||
      this.chars + line.length + 1 > MAX_OUTPUT_CONTEXT_CHARS
    ) {
      this.withheld = true;
      this.keep([], '', undefined);
      return { withheld: true };
    }
    this.lines.push(line);
    this.chars += line.length + 1;
    this.scrubbed = scrubbed;
    return { shown };
  }

  private keep(
    lines: string[],
    scrubbed: string,
    scrub: ((text: string) => string) | undefined,
  ) {
    this.lines = lines;
    this.chars = lines.reduce((n, l) => n + l.length + 1, 0);
    this.scrubbed = scrubbed;
    this.scrubbedBy = scrub;
  }
}

/**
 * A run's changes as they are recorded on it: at most {@link MAX_RECORDED_CHANGES} named, then
 * "and N more".
 */
export function recordedChanges(changes: readonly string[]): string[] {
  const rest = changes.length - MAX_RECORDED_CHANGES;
  return rest > 0
    ? [...changes.slice(0, MAX_RECORDED_CHANGES - 1), moreChanges(rest + 1)]
    : [...changes];
}

/**
 * The first `max` changes of a recorded list, then "and N more" counting every change the record
 * stands for (its own trailing "and N more" included).
 */
export function namedChanges(
  changes: readonly string[],
  max: number,
): string[] {
  const { named, unnamed } = splitChanges(changes);
  if (named.length + unnamed <= max) return [...changes];
  const shown = named.slice(0, max);
  return [...shown, moreChanges(named.length + unnamed - shown.length)];
}

/**
 * Writes a run's events: redacted, batched, in order. Secrets learnt during the run (generated
 * credentials, secret values) are added with `addSecrets` and scrubbed from every later line, and,
 * when the store is wrapped by `withSecretScrubbing`, from everything else stored for the run
 * (manifests of every kind, values, policy reports, failure reasons).
 */
export class RunContext implements RunRedactor {
  private buffer: NewRunEvent[] = [];
  private chain: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private secrets = new Set<string>();
  /**
   * For free text (logs, failure reasons): known secret values, and also each line (of 8 characters
   * or more) of one over lines, as helm's output is logged a line at a time and helm's error names
   * only its last lines; and `key=value` pairs.
   */
  private scrub: (text: string) => string = createTextRedactor();
  /** For messages kubechart writes itself: known secret values only, no key=value guessing. */
  private scrubOwn: (text: string) => string = createTextRedactor([], {
    keyValuePairs: false,
  });

  /**
   * What the run changed in clusters so far: its Kubernetes and helm writes note themselves in the
   * lease scope the run executes in (see `noteClusterChange`); undefined outside one (not known).
   */
  private readonly changes: readonly string[] | undefined;

  constructor(
    readonly runId: string,
    private readonly store: RunStore,
    private readonly logger: LoggerService,
    private readonly onEvents?: (events: RunEvent[]) => void,
  ) {
    trackRunSecrets(store, runId, this);
    this.changes = currentRunChanges();
  }

  /** What the run changed in clusters so far, in words; undefined when that is not known. */
  get clusterChanges(): readonly string[] | undefined {
    return this.changes;
  }

  /**
   * The outcome a refusal states in its failure reason. "nothing was installed" (any "nothing was
   * …") holds only while the run has changed no cluster; after a change it becomes "nothing more was
   * installed" followed by what the run changed before. Other outcomes are kept as they are.
   */
  refusalOutcome(outcome: string): string {
    if (!outcome.startsWith('nothing was ')) return outcome;
    const changes = this.changes;
    if (changes?.length === 0) return outcome;
    const more = outcome.replace(/^nothing was /, 'nothing more was ');
    if (!changes) return `${more}; what this run changed before is not known`;
    const named = namedChanges(changes, MAX_NAMED_CHANGES);
    const rest = named.length > MAX_NAMED_CHANGES ? ` ${named.pop()}` : '';
    return `${more}; before that, this run changed the cluster: ${named.join(
      ', ',
    )}${rest}`;
  }

  /** Adds a secret string, a list of them, or every secret value found in a values object. */
  addSecrets(values: unknown) {
    let found: string[];
    if (typeof values === 'string') found = [values];
    else if (Array.isArray(values) && values.every(v => typeof v === 'string'))
      found = values;
    else found = collectSecretValues(values);
    for (const s of found) this.secrets.add(s);
    const lines = [...this.secrets].flatMap(s =>
      s.includes('\n')
        ? s
            .split('\n')
            .map(l => l.trim())
            .filter(l => l.length >= 8)
        : [],
    );
    this.scrub = createTextRedactor([...this.secrets, ...lines]);
    this.scrubOwn = createTextRedactor(this.secrets, { keyValuePairs: false });
  }

  redact(text: string): string {
    return this.scrub(text);
  }

  /** A manifest with Secret data and every known secret value removed, in any kind of object. */
  redactManifest(text: string): string {
    return redactManifest(text, { scrub: this.scrubOwn });
  }

  /** {@link RunContext.redactManifest}, a document per turn of the event loop. */
  redactManifestInTurns(text: string): Promise<string> {
    return redactManifestInTurns(text, { scrub: this.scrubOwn });
  }

  /** An object redacted as each of a stored manifest's objects is (see {@link redactManifest}). */
  redactObject(object: KubeObject): KubeObject {
    return redactObject(object, { scrub: this.scrubOwn });
  }

  /** Every string of `value` with the known secret values removed. */
  redactDeep<T>(value: T): T {
    return this.secrets.size ? scrubStrings(value, this.scrubOwn) : value;
  }

  log(
    message: string,
    level: 'info' | 'warn' | 'error' = 'info',
    step?: string,
  ) {
    this.push({
      type: 'log',
      level,
      message: this.scrub(message),
      ...(step ? { step } : {}),
    });
  }

  /**
   * Logs a command's output (helm's), given line by line from its streams: each stream is scrubbed
   * as one text (see {@link OutputStream}), so the later lines of a secret value over lines are
   * hidden too, which a line scrubbed alone shows. Blank lines are not logged. Each line is logged
   * with `prefix` (`[release]`) and `step`.
   */
  helmOutput(prefix: string, step?: string): HelmLineListener {
    const streams = new Map<string, OutputStream>();
    return (line, stream) => {
      let output = streams.get(stream);
      if (!output) {
        output = new OutputStream();
        streams.set(stream, output);
      }
      const { shown, withheld } = output.next(line, this.scrub);
      const message = withheld
        ? `(the rest of helm's ${stream} is not shown: a value under a secret-looking key runs over more than ${MAX_OUTPUT_CONTEXT_LINES} lines or ${
            MAX_OUTPUT_CONTEXT_CHARS / 1024
          } KiB, so where it ends is not known)`
        : shown;
      if (message?.trim())
        this.push({
          type: 'log',
          level: 'info',
          message: `${this.scrubOwn(prefix)} ${message}`,
          ...(step ? { step } : {}),
        });
    };
  }

  step(
    step: string,
    stepStatus: 'started' | 'succeeded' | 'skipped' | 'failed',
    message?: string,
  ) {
    this.push({
      type: 'step',
      level: stepStatus === 'failed' ? 'error' : 'info',
      step,
      stepStatus,
      message: this.scrubOwn(message ?? `${step}: ${stepStatus}`),
    });
  }

  status(message: string, level: 'info' | 'error' = 'info') {
    this.push({ type: 'status', level, message: this.scrub(message) });
  }

  private push(e: NewRunEvent) {
    this.buffer.push({ ...e, at: new Date().toISOString() });
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.drain();
      }, 100);
    }
  }

  private drain() {
    const batch = this.buffer;
    this.buffer = [];
    if (batch.length === 0) return;
    this.chain = this.chain
      .then(() => this.write(batch))
      .catch(err =>
        this.logger.warn(
          this.scrub(`Could not record events of run ${this.runId}: ${err}`),
        ),
      );
  }

  /**
   * Writes a batch in one statement. When the store refuses it, which the database does for the
   * whole batch over a single event it cannot hold, each event is written on its own, in order: only
   * the events refused again are lost (logged with their count), not the ordinary ones around them.
   */
  private async write(batch: NewRunEvent[]): Promise<void> {
    let written: RunEvent[];
    try {
      written = await this.store.appendEvents(this.runId, batch);
    } catch (err) {
      // A lost lease refuses every event alike: nothing to save one by one.
      if (batch.length === 1 || err instanceof LeaseLostError) throw err;
      written = [];
      let lost = 0;
      let firstError: unknown;
      for (const event of batch) {
        try {
          written.push(...(await this.store.appendEvents(this.runId, [event])));
        } catch (e) {
          lost++;
          firstError ??= e;
        }
      }
      if (lost > 0)
        this.logger.warn(
          this.scrub(
            `Could not record ${lost} of ${batch.length} events of run ${this.runId}: ${firstError}`,
          ),
        );
    }
    this.onEvents?.(written);
  }

  /** Writes everything buffered so far. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.drain();
    await this.chain;
  }
}
