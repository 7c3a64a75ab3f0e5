import {
  AuditorService,
  LoggerService,
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';

/** Header of a mock service token with the given subject (e.g. `plugin:scaffolder`). */
export const serviceHeader = (subject: string) =>
  `Bearer mock-service-token:${JSON.stringify({ sub: subject })}`;

/** Everything the plugin logged, as text (messages and metadata). */
export function capturingLogger(lines: string[]) {
  const text = (meta: unknown) => {
    if (meta instanceof Error) return `${meta.message} ${meta.stack ?? ''}`;
    return meta ? JSON.stringify(meta) : '';
  };
  const make = (fields: unknown = {}): LoggerService => ({
    error: (m, meta) =>
      void lines.push(`error ${m} ${text(meta)} ${text(fields)}`),
    warn: (m, meta) =>
      void lines.push(`warn ${m} ${text(meta)} ${text(fields)}`),
    info: (m, meta) =>
      void lines.push(`info ${m} ${text(meta)} ${text(fields)}`),
    debug: (m, meta) =>
      void lines.push(`debug ${m} ${text(meta)} ${text(fields)}`),
    child: more => make({ ...(fields as object), ...more }),
  });
  return createServiceFactory({
    service: coreServices.rootLogger,
    deps: {},
    factory: () => make() as any,
  });
}

/** One finished auditor event as a test sees it. */
export type CapturedAuditEvent = {
  eventId: string;
  severityLevel: string;
  meta: Record<string, any>;
  status: 'initiated' | 'succeeded' | 'failed';
  error?: string;
};

/** An auditor that keeps every event (and its outcome) in `events`. */
export function capturingAuditor(events: CapturedAuditEvent[]) {
  const auditor = capturingAuditorService(events);
  return createServiceFactory({
    service: coreServices.auditor,
    deps: {},
    factory: () => auditor,
  });
}

/** The auditor of {@link capturingAuditor}, for what a test wires itself (an engine's listener). */
export function capturingAuditorService(
  events: CapturedAuditEvent[],
): AuditorService {
  return {
    async createEvent(options) {
      const e: CapturedAuditEvent = {
        eventId: options.eventId,
        severityLevel: options.severityLevel ?? 'low',
        meta: (options.meta ?? {}) as Record<string, any>,
        status: 'initiated',
      };
      events.push(e);
      return {
        async success(o) {
          e.status = 'succeeded';
          e.meta = { ...e.meta, ...(o?.meta ?? {}) };
        },
        async fail(o) {
          e.status = 'failed';
          e.error = String(o.error?.message ?? o.error);
          e.meta = { ...e.meta, ...(o.meta ?? {}) };
        },
      };
    },
  };
}
