import {
  AuthService,
  BackstageCredentials,
  DiscoveryService,
} from '@backstage/backend-plugin-api';
import type { ActionsRegistryService } from '@backstage/backend-plugin-api/alpha';
import { InputError, NotAllowedError, ResponseError } from '@backstage/errors';
import {
  AUDIT_EVENT_SEVERITIES,
  AUDIT_EVENT_STATUSES,
  AuditEventPage,
  auditLogEventsReadPermission,
  checkRelayingPlugin,
  RelayingPluginsPolicy,
} from '@kubechart/plugin-audit-log-common';
import { DEFAULT_RELAYING_POLICY } from '../service/relayingPlugins';

/**
 * Refuses a caller that is not a signed-in user. An action calls the audit-log REST API with the
 * caller's credentials passed on (`getPluginRequestToken({ onBehalfOf })`), and Backstage passes a
 * service's credentials on as the calling plugin's own token: the backend would authorize an
 * external service's read with the audit-log plugin's own rights, and under its name. A service
 * reads through the REST API with its own token instead, where it is seen as itself.
 */
function assertSignedInUser(credentials: BackstageCredentials, action: string) {
  const principal = credentials.principal as {
    type: string;
    subject?: string;
  };
  if (principal.type === 'user') return;
  const caller =
    principal.type === 'service'
      ? `service:${principal.subject} is a service`
      : 'the caller is not signed in';
  throw new NotAllowedError(
    `audit-log:${action} reads for a signed-in user; ${caller}, which the audit-log backend would see as the audit-log plugin itself (its rights, and its name in the audit trail). A service reads through the audit log REST API (GET /api/audit-log/events) with its own token`,
  );
}

/**
 * The audit trail as a read-only action of Backstage's actions registry (an MCP tool for AI
 * agents). The action calls this plugin's own `GET /events` with the caller's credentials, so it
 * sees exactly what the caller may see on the audit page; it answers signed-in users only, whose
 * credentials were passed on, if at all, by a plugin `relaying` allows.
 */
export function registerAuditLogActions(options: {
  actionsRegistry: ActionsRegistryService;
  auth: AuthService;
  discovery: DiscoveryService;
  /** `auditLog.onBehalfOf.relayingPlugins`; default the plugins it lists by default. */
  relaying?: RelayingPluginsPolicy;
}) {
  const { auth, discovery } = options;
  const relaying = options.relaying ?? DEFAULT_RELAYING_POLICY;
  // Every action is for signed-in users only (see assertSignedInUser). The REST API sees the
  // action's call as passed on by the audit log itself, so the plugin that invoked the action
  // (the MCP actions backend, the scaffolder) is checked here (403 naming the setting, as there).
  const actionsRegistry: Pick<ActionsRegistryService, 'register'> = {
    register: action =>
      options.actionsRegistry.register({
        ...action,
        action: async context => {
          assertSignedInUser(context.credentials, action.name);
          checkRelayingPlugin(context.credentials, relaying);
          return action.action(context);
        },
      }),
  };

  async function queryEvents(
    query: URLSearchParams,
    credentials: BackstageCredentials,
  ): Promise<AuditEventPage> {
    const baseUrl = await discovery.getBaseUrl('audit-log');
    const { token } = await auth.getPluginRequestToken({
      onBehalfOf: credentials,
      targetPluginId: 'audit-log',
    });
    const res = await fetch(`${baseUrl}/events?${query}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    if (!res.ok) {
      const error = await ResponseError.fromResponse(res as any);
      const message = error.body?.error?.message ?? error.message;
      if (res.status === 400) throw new InputError(message);
      if (res.status === 403) throw new NotAllowedError(message);
      throw new Error(`audit-log answered ${res.status}: ${message}`);
    }
    return (await res.json()) as AuditEventPage;
  }

  actionsRegistry.register({
    name: 'query-audit-events',
    title: 'Query the audit trail',
    description:
      'Searches the tamper-evident audit trail of everything that changed anything in the portal (runs, rollbacks, ' +
      'tenant changes, assistant executions, prunes): who did what, when, to which target, and whether it succeeded. ' +
      'Newest first. Filter by actor, plugin, severity, status, entity, target or time; `q` is free text. Read only. ' +
      'A page may hold fewer events than asked, even none, and still carry `nextCursor`: each request searches a ' +
      'bounded stretch of the trail, so older events remain unsearched until you pass it as `cursor`.',
    visibilityPermission: auditLogEventsReadPermission,
    attributes: { readOnly: true, idempotent: true, destructive: false },
    schema: {
      input: z =>
        z.object({
          actor: z
            .string()
            .optional()
            .describe('User entity ref, e.g. user:default/jane.'),
          plugin: z
            .string()
            .optional()
            .describe('Plugin id, e.g. kubechart, kube-assistant, catalog.'),
          eventId: z
            .string()
            .optional()
            .describe('Event id, e.g. run-create, run-finished, execution.'),
          severity: z
            .array(
              z.enum(
                AUDIT_EVENT_SEVERITIES as unknown as [
                  'low',
                  'medium',
                  'high',
                  'critical',
                ],
              ),
            )
            .optional()
            .describe('Defaults to medium and up: changes, not reads.'),
          status: z
            .array(
              z.enum(
                AUDIT_EVENT_STATUSES as unknown as [
                  'initiated',
                  'succeeded',
                  'failed',
                ],
              ),
            )
            .optional(),
          entityRef: z
            .string()
            .optional()
            .describe('Catalog entity the events are about.'),
          target: z
            .string()
            .optional()
            .describe('Exact entity ref, cluster, namespace or resource.'),
          from: z.string().datetime({ offset: true }).optional(),
          to: z.string().datetime({ offset: true }).optional(),
          q: z.string().max(200).optional(),
          limit: z
            .number()
            .int()
            .min(1)
            .max(100)
            .optional()
            .describe('Default 20.'),
          cursor: z
            .string()
            .optional()
            .describe('nextCursor of the previous page.'),
        }),
      output: z =>
        z.object({
          events: z.array(
            z.object({
              seq: z.number(),
              occurredAt: z.string(),
              actor: z.string().optional(),
              plugin: z.string(),
              eventId: z.string(),
              severity: z.string(),
              status: z.string(),
              target: z.object({
                entityRef: z.string().optional(),
                cluster: z.string().optional(),
                namespace: z.string().optional(),
                resource: z.string().optional(),
              }),
              error: z.string().optional(),
              meta: z.record(z.unknown()).optional(),
            }),
          ),
          nextCursor: z.string().optional(),
        }),
    },
    action: async ({ input, credentials }) => {
      const query = new URLSearchParams();
      const { severity, status, limit, ...rest } = input;
      for (const [key, value] of Object.entries(rest)) {
        if (value !== undefined) query.set(key, String(value));
      }
      query.set(
        'severity',
        (severity ?? ['medium', 'high', 'critical']).join(','),
      );
      if (status?.length) query.set('status', status.join(','));
      query.set('limit', String(limit ?? 20));
      const page = await queryEvents(query, credentials);
      return {
        output: {
          events: page.items.map(e => ({
            seq: e.seq,
            occurredAt: e.occurredAt,
            ...(e.actor ? { actor: e.actor } : {}),
            plugin: e.plugin,
            eventId: e.eventId,
            severity: e.severity,
            status: e.status,
            target: e.target,
            ...(e.error ? { error: e.error } : {}),
            ...(e.meta ? { meta: e.meta } : {}),
          })),
          ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
        },
      };
    },
  });
}
