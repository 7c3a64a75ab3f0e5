import {
  AuditorService,
  AuditorServiceCreateEventOptions,
  AuditorServiceEvent,
  AuthService,
  BackstageCredentials,
  HttpAuthService,
  LoggerService,
  RootConfigService,
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import { ServiceUnavailableError, stringifyError } from '@backstage/errors';
import { JsonObject } from '@backstage/types';
import {
  AUDIT_EVENT_SEVERITIES,
  AuditEventInput,
  AuditEventStatus,
  redactText,
  redactUrl,
} from '@kubechart/plugin-audit-log-common';
import { AuditEventQueue } from './AuditEventQueue';
import { auditLogQueueServiceRef } from './queueServiceRef';
import { hasOwnKeys, redactedCopy } from './redact';
import { readMinimumSeverities } from './severity';
import { extractTarget } from './target';

type LogLevel = 'debug' | 'info' | 'warn' | 'error';
type SeverityLogLevels = Record<
  NonNullable<AuditorServiceCreateEventOptions['severityLevel']>,
  LogLevel
>;

const LOG_LEVELS: LogLevel[] = ['debug', 'info', 'warn', 'error'];

/**
 * Reads `backend.auditor.severityLogLevelMappings` exactly like the default
 * auditor does (low → debug, everything else → info unless configured).
 */
export function readSeverityLogLevels(
  config: RootConfigService,
): SeverityLogLevels {
  const levels: SeverityLogLevels = {
    low: 'debug',
    medium: 'info',
    high: 'info',
    critical: 'info',
  };
  const mappings = config.getOptionalConfig(
    'backend.auditor.severityLogLevelMappings',
  );
  for (const severity of Object.keys(levels) as (keyof SeverityLogLevels)[]) {
    const value = mappings?.getOptionalString(severity);
    if (value !== undefined) {
      if (!LOG_LEVELS.includes(value as LogLevel)) {
        throw new Error(
          `The configuration value for 'backend.auditor.severityLogLevelMappings.${severity}' was given an invalid value: '${value}'. Expected one of the following valid values: '${LOG_LEVELS.join(
            ', ',
          )}'.`,
        );
      }
      levels[severity] = value as LogLevel;
    }
  }
  return levels;
}

/** Characters of an error an event keeps (what the trail stores), so the queue never holds more. */
const MAX_ERROR_CHARS = 8192;

/** Characters of an error kept before the note of what was cut. */
const KEPT_ERROR_CHARS = MAX_ERROR_CHARS - 40;

/**
 * The error as the trail stores it and the log line shows it: the secrets written in it hidden
 * (`connect postgres://app:[REDACTED]@db failed`, see `redactText`; in a text cut short, what runs
 * to the cut too), and cut to {@link MAX_ERROR_CHARS}. Only what is shown is cut, so a cut
 * reveals nothing.
 */
function boundedError(text: string): string {
  const cut = text.length > MAX_ERROR_CHARS;
  const shown = redactText(cut ? text.slice(0, KEPT_ERROR_CHARS) : text, {
    cut,
  });
  if (!cut && shown.length <= MAX_ERROR_CHARS) return shown;
  // (placeholders may have made the text shown longer than the text kept)
  const more = cut
    ? text.length - KEPT_ERROR_CHARS
    : shown.length - KEPT_ERROR_CHARS;
  return `${shown.slice(0, KEPT_ERROR_CHARS)}… (${more} more characters)`;
}

/**
 * The error the log line carries: a copy whose message and stack are bounded and redacted as the
 * stored error is, so a secret in an error's text (a connection string) reaches no log.
 */
function loggedError(error: Error): Error {
  const copy = new Error(boundedError(String(error.message)));
  copy.name = error.name ?? 'Error';
  copy.stack =
    typeof error.stack === 'string' ? boundedError(error.stack) : undefined;
  return copy;
}

/**
 * What {@link AuditLogAuditorService.createEvent} accepts: Backstage's options and the
 * `credentials` of the caller the audited work is done for, which work without an HTTP request
 * (an action of the actions registry, an MCP tool) has no other way to tell: the actor is then that
 * caller, not the plugin. Only the plugin's own
 * code sets it: `meta` (which may hold what a caller sent) never names the actor. Backstage's
 * default auditor ignores the field.
 *
 * @public
 */
export type AuditLogCreateEventOptions = AuditorServiceCreateEventOptions & {
  /** Who the audited work is done for; the actor, before the caller of `request`. */
  credentials?: BackstageCredentials;
  /**
   * The event records a request refused before it changed anything: its start is queued, not
   * waited for, whatever its severity (there is no change to hold back until it is stored).
   */
  changesNothing?: boolean;
};

/** Credentials tagged as Backstage's auth services make them, not any object of their shape. */
function isCredentials(value: unknown): value is BackstageCredentials {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { $$type?: unknown }).$$type === '@backstage/BackstageCredentials'
  );
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/** How long an event whose request was answered still holds a stopping backend, in ms. */
const ANSWERED_EVENT_GRACE_MS = 1000;

/** The lowest severity whose `initiated` event precedes a change: it must be stored first. */
const STORED_BEFORE_CHANGE = AUDIT_EVENT_SEVERITIES.indexOf('medium');

/**
 * An auditor that behaves like Backstage's default one (same log lines on the
 * `isAuditEvent` child logger, same severity mapping) and also appends every
 * event, with secrets redacted, to the audit-log queue.
 *
 * An event of severity `medium` or above (after `auditLog.severity.minimum`) announces a
 * change: `createEvent` resolves only once its `initiated` event is written to the trail, and
 * rejects with a `ServiceUnavailableError` (503) when it is not within
 * `auditLog.queue.maxStoreWaitMs`, so that the caller, which awaits it before making the change,
 * refuses the change instead of making it with its record only in memory. A `failed` outcome
 * ("Refused its audit record: …") follows the refused start, so that the trail tells the truth if
 * the start is stored later. A `low` event, and one that `changesNothing` (a refusal), is only
 * queued, and outcomes never wait.
 *
 * Otherwise it never fails the audited operation: an unresolvable caller is recorded without an
 * actor, and the queue never rejects.
 *
 * @public
 */
export class AuditLogAuditorService implements AuditorService {
  readonly #pluginId: string;
  readonly #auth: AuthService;
  readonly #httpAuth: HttpAuthService;
  readonly #logger: LoggerService;
  readonly #levels: SeverityLogLevels;
  readonly #queue: AuditEventQueue;
  readonly #severityOf: ReturnType<typeof readMinimumSeverities>;

  constructor(options: {
    pluginId: string;
    auth: AuthService;
    httpAuth: HttpAuthService;
    logger: LoggerService;
    config: RootConfigService;
    queue: AuditEventQueue;
  }) {
    this.#pluginId = options.pluginId;
    this.#auth = options.auth;
    this.#httpAuth = options.httpAuth;
    this.#logger = options.logger.child({ isAuditEvent: true });
    this.#levels = readSeverityLogLevels(options.config);
    this.#queue = options.queue;
    this.#severityOf = readMinimumSeverities(options.config);
  }

  async createEvent(
    options: AuditLogCreateEventOptions,
  ): Promise<AuditorServiceEvent> {
    // A stopping backend waits for the outcome before its database closes. An event of a request
    // whose response has been sent stops counting a moment later: its handler may still finish it
    // (work after a 202), but one that never does must not hold every shutdown for the whole wait.
    const ended = this.#queue.beginEvent();
    options.request?.res?.once('close', () => {
      setTimeout(ended, ANSWERED_EVENT_GRACE_MS).unref();
    });
    let meta: JsonObject;
    let actor: string | undefined;
    try {
      actor = await this.#getActor(options.request, options.credentials);
      // Redacted (and bounded) once; the outcome events reuse the copy. A copy the store takes
      // as it is (read-only), without running the rules on it again.
      meta = redactedCopy(options.meta ?? {});
      const initiated = this.#record(options, actor, 'initiated', meta);
      if (
        !options.changesNothing &&
        AUDIT_EVENT_SEVERITIES.indexOf(initiated.severity) >=
          STORED_BEFORE_CHANGE
      ) {
        try {
          await this.#queue.enqueueStored(initiated);
        } catch (error) {
          // The caller gets the error (a change it awaits this for is not made); should the start
          // be stored after all, this is its outcome.
          await this.#queue.enqueue(
            this.#record(
              options,
              actor,
              'failed',
              meta,
              new ServiceUnavailableError(
                `Refused its audit record: ${lowerFirst(
                  (error as Error).message,
                )}`,
              ),
            ),
          );
          throw error;
        }
      } else {
        await this.#queue.enqueue(initiated);
      }
    } catch (error) {
      ended();
      throw error;
    }
    // the outcome's metadata over the event's, bounded with it as one
    const withOutcome = (extra: JsonObject | undefined) =>
      extra ? redactedCopy(extra, meta) : meta;
    return {
      success: async params => {
        try {
          await this.#queue.enqueue(
            this.#record(
              options,
              actor,
              'succeeded',
              withOutcome(params?.meta),
            ),
          );
        } finally {
          ended();
        }
      },
      fail: async params => {
        try {
          await this.#queue.enqueue(
            this.#record(
              options,
              actor,
              'failed',
              withOutcome(params.meta),
              params.error,
            ),
          );
        } finally {
          ended();
        }
      },
    };
  }

  /** Logs the event as the default auditor does, and returns it as the queue takes it. */
  #record(
    options: AuditorServiceCreateEventOptions,
    actorId: string | undefined,
    status: AuditEventStatus,
    redactedMeta: JsonObject,
    error?: Error,
  ): AuditEventInput {
    const { eventId, request } = options;
    const severityLevel = this.#severityOf(
      this.#pluginId,
      eventId,
      options.severityLevel ?? 'low',
    );
    const meta = hasOwnKeys(redactedMeta) ? redactedMeta : undefined;
    const userAgent = request?.get('user-agent');
    // The path with its query: secret parameters (`?access_token=…`) hidden in the log line and
    // the trail alike.
    const path =
      typeof request?.originalUrl === 'string'
        ? redactUrl(request.originalUrl)
        : undefined;

    // Same shape and level as the default auditor's log line.
    const logEvent = {
      plugin: this.#pluginId,
      eventId,
      severityLevel,
      actor: {
        actorId,
        ip: request?.ip,
        hostname: request?.hostname,
        userAgent,
      },
      request: request ? { url: path, method: request.method } : undefined,
      meta,
      status,
    };
    const level = this.#levels[severityLevel];
    const message = `${this.#pluginId}.${eventId}`;
    if (error) {
      this.#logger.child(logEvent)[level](message, loggedError(error));
    } else {
      this.#logger[level](message, logEvent as unknown as JsonObject);
    }

    const input: AuditEventInput = {
      occurredAt: new Date().toISOString(),
      actor: actorId,
      plugin: this.#pluginId,
      eventId,
      severity: severityLevel,
      status,
      target: extractTarget(meta),
      request: request
        ? {
            method: request.method,
            path,
            ip: request.ip,
            userAgent,
          }
        : undefined,
      meta,
      error: error ? boundedError(stringifyError(error)) : undefined,
    };
    return input;
  }

  async #getActor(
    request?: AuditorServiceCreateEventOptions['request'],
    given?: unknown,
  ): Promise<string | undefined> {
    try {
      // Credentials the plugin passes are those it works for; else the request's caller; else
      // the plugin itself.
      let credentials: BackstageCredentials;
      if (isCredentials(given)) credentials = given;
      else if (request) credentials = await this.#httpAuth.credentials(request);
      else credentials = await this.#auth.getOwnServiceCredentials();
      if (this.#auth.isPrincipal(credentials, 'user')) {
        return credentials.principal.userEntityRef;
      }
      if (this.#auth.isPrincipal(credentials, 'service')) {
        return credentials.principal.subject;
      }
    } catch {
      // An audited request must not fail because its caller is unknown.
    }
    return undefined;
  }
}

/**
 * Replaces Backstage's default auditor: install it with
 * `backend.add(auditLogAuditorServiceFactory)`.
 *
 * @public
 */
export const auditLogAuditorServiceFactory = createServiceFactory({
  service: coreServices.auditor,
  deps: {
    config: coreServices.rootConfig,
    logger: coreServices.logger,
    auth: coreServices.auth,
    httpAuth: coreServices.httpAuth,
    plugin: coreServices.pluginMetadata,
    queue: auditLogQueueServiceRef,
  },
  factory({ config, logger, auth, httpAuth, plugin, queue }) {
    return new AuditLogAuditorService({
      pluginId: plugin.getId(),
      auth,
      httpAuth,
      logger,
      config,
      queue,
    });
  },
});
