import { LoggerService } from '@backstage/backend-plugin-api';
import { SignalsService } from '@backstage/plugin-signals-node';
import {
  AUDIT_LOG_SIGNAL_CHANNEL,
  AuditLogSignalMessage,
} from '@kubechart/plugin-audit-log-common';

/**
 * Announces new events on the audit-log signal channel, at most once per
 * interval, so a burst of events causes one refetch in the browser. The
 * message says only that events came (it is broadcast to every signed-in user:
 * no sequence number nor count); the events themselves are read through the
 * permission-checked API.
 */
export class LiveTailPublisher {
  readonly #signals: SignalsService;
  readonly #logger: LoggerService;
  readonly #intervalMs: number;
  #pending: AuditLogSignalMessage | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastSent = 0;
  #stopped = false;

  constructor(options: {
    signals: SignalsService;
    logger: LoggerService;
    intervalMs?: number;
  }) {
    this.#signals = options.signals;
    this.#logger = options.logger;
    this.#intervalMs = options.intervalMs ?? 1000;
  }

  notify() {
    if (this.#stopped) {
      return; // events written while the backend stops: the signals service may be gone
    }
    this.#pending = { type: 'refetch' };
    if (this.#timer) {
      return;
    }
    const wait = Math.max(0, this.#lastSent + this.#intervalMs - Date.now());
    this.#timer = setTimeout(() => this.#send(), wait);
    this.#timer.unref?.();
  }

  stop() {
    this.#stopped = true;
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #send() {
    this.#timer = undefined;
    const message = this.#pending;
    this.#pending = undefined;
    if (!message) {
      return;
    }
    this.#lastSent = Date.now();
    this.#signals
      .publish<AuditLogSignalMessage>({
        recipients: { type: 'broadcast' },
        channel: AUDIT_LOG_SIGNAL_CHANNEL,
        message,
      })
      .catch(error =>
        this.#logger.warn(`Failed to publish audit-log signal: ${error}`),
      );
  }
}
