import {
  collectSecretValues,
  createTextRedactor,
  redactManifest,
  scrubStrings,
} from '@kubechart/plugin-kubechart-node';
import type { RunEvent } from '@kubechart/plugin-kubechart-common';
import { LoggerService } from '@backstage/backend-plugin-api';
import { NewRunEvent, RunStore } from '../database/RunStore';
import { RunRedactor, trackRunSecrets } from './secretScrubbingStore';

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
  private scrub: (text: string) => string = createTextRedactor();
  /** For messages kubechart writes itself: known secret values only, no key=value guessing. */
  private scrubOwn: (text: string) => string = createTextRedactor([], {
    keyValuePairs: false,
  });

  constructor(
    readonly runId: string,
    private readonly store: RunStore,
    private readonly logger: LoggerService,
    private readonly onEvents?: (events: RunEvent[]) => void,
  ) {
    trackRunSecrets(store, runId, this);
  }

  /** Adds a secret string, a list of them, or every secret value found in a values object. */
  addSecrets(values: unknown) {
    let found: string[];
    if (typeof values === 'string') found = [values];
    else if (Array.isArray(values) && values.every(v => typeof v === 'string'))
      found = values;
    else found = collectSecretValues(values);
    for (const s of found) this.secrets.add(s);
    this.scrub = createTextRedactor(this.secrets);
    this.scrubOwn = createTextRedactor(this.secrets, { keyValuePairs: false });
  }

  redact(text: string): string {
    return this.scrub(text);
  }

  /** A manifest with Secret data and every known secret value removed, in any kind of object. */
  redactManifest(text: string): string {
    return redactManifest(text, { scrub: this.scrubOwn });
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
      .then(() => this.store.appendEvents(this.runId, batch))
      .then(written => this.onEvents?.(written))
      .catch(err =>
        this.logger.warn(
          this.scrub(`Could not record events of run ${this.runId}: ${err}`),
        ),
      );
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
