import {
  BackstageCredentials,
  HttpAuthService,
  LoggerService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { NotAllowedError } from '@backstage/errors';
import {
  AuthorizeResult,
  BasicPermission,
} from '@backstage/plugin-permission-common';
import {
  kubechartRunsCreatePermission,
  kubechartRunsRollbackPermission,
} from '@kubechart/plugin-kubechart-common';
import { ErrorRequestHandler, Request } from 'express';
import { DEFAULT_RELAYING_PLUGINS, relayingPlugin } from '../service/identity';
import { RefusedAttempt } from '../service/runAudit';

/**
 * The tools that change a cluster, each with the run kind it asks for and the permission the
 * actions registry checks before it runs (its `visibilityPermission`, the one `POST /runs` checks).
 */
export const MUTATING_ACTIONS = new Map<
  string,
  { kind: 'chart' | 'rollback' | 'tenant'; permission: BasicPermission }
>([
  [
    'install-chart',
    { kind: 'chart', permission: kubechartRunsCreatePermission },
  ],
  [
    'rollback-release',
    { kind: 'rollback', permission: kubechartRunsRollbackPermission },
  ],
  [
    'provision-tenant',
    { kind: 'tenant', permission: kubechartRunsCreatePermission },
  ],
]);

/**
 * Records a refusal in the audit trail as the REST API records its own (the caller's refusals one by
 * one up to `kubechart.limits.refusedAttemptsAuditedPerMinute` a minute, then counted).
 */
export type RecordRefusal = (
  req: Request,
  attempt: RefusedAttempt,
  error: Error,
) => Promise<void>;

/**
 * The invoke routes of Backstage's actions registry (`DefaultActionsRegistryService` of
 * `@backstage/backend-defaults`), as express matches them: case-insensitive, with an optional
 * trailing slash; the action id is the encoded path segment.
 */
const INVOKE_PATH =
  /^\/\.backstage\/actions\/(v1|v2)\/actions\/([^/]+?)\/invoke\/?$/i;

/** The longest cluster name and entity reference a run request takes (`createRunSchema`). */
const MAX_CLUSTER_LENGTH = 253;
const MAX_ENTITY_REF_LENGTH = 255;

function decoded(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** A field of the invoke body as far as it is text of a length a run request takes, else null. */
function textOf(value: unknown, max: number): string | null {
  return typeof value === 'string' && value.length <= max ? value : null;
}

/**
 * Records the calls of KubeChart's mutating tools (`install-chart`, `rollback-release`,
 * `provision-tenant`) that are refused before a run is asked for, as `POST /runs` records the same
 * refusal: a failed `run-create` event with the run's `kind`, `cluster`, `requestedEntityRef`, the
 * caller as `actor`, `outcome: refused`, the reason as its error, and `action` (the tool).
 *
 * - A caller without the tool's permission: Backstage's actions registry checks it in its own
 *   router and answers 404 ("not found"), so that the tool stays hidden; the action never learns
 *   of the call. Such a 404 is recorded when the permission is still denied to the caller (not a
 *   tool that does not exist or that configuration filters out), with the reason `POST /runs`
 *   gives (`Not allowed: kubechart.runs.create`).
 * - A service: every tool is for signed-in users (see `assertSignedInUser`), which is the only
 *   refusal a service meets in a tool that changes a cluster (it never reaches the REST API).
 * - A user's credentials passed on by a plugin not in `kubechart.onBehalfOf.relayingPlugins`:
 *   refused by the tool before the REST API is called, recorded with `relayedBy`.
 *
 * An error handler, added to the plugin's router after the registry's; the answer is left as the
 * registry made it. Refusals are recorded through `recordWith`'s function (the REST API's, so that
 * both count in one window per caller); an auditor that fails is logged.
 */
export class ActionRefusalAuditor {
  private record?: RecordRefusal;

  constructor(
    private readonly options: {
      pluginId: string;
      httpAuth: HttpAuthService;
      permissions: PermissionsService;
      logger: LoggerService;
      /** `kubechart.onBehalfOf.relayingPlugins`. */
      relayingPlugins?: string[];
    },
  ) {}

  /** Where refusals are recorded (the REST API's `auditRefused`). */
  recordWith(record: RecordRefusal) {
    this.record = record;
  }

  /** The error handler to add to the plugin's router after the actions registry's. */
  handler(): ErrorRequestHandler {
    return (error, req, _res, next) => {
      this.recordRefusal(error, req).then(
        () => next(error),
        recordError => {
          this.options.logger.error(
            `Could not record a refused call of a kubechart action: ${
              (recordError as Error)?.message
            }`,
          );
          next(error);
        },
      );
    };
  }

  private async recordRefusal(error: unknown, req: Request): Promise<void> {
    const name = (error as { name?: unknown })?.name;
    if (
      req.method !== 'POST' ||
      (name !== 'NotFoundError' && name !== 'NotAllowedError')
    )
      return;
    const match = INVOKE_PATH.exec(req.path);
    const actionId = match ? decoded(match[2]) : undefined;
    const prefix = `${this.options.pluginId}:`;
    if (!actionId?.startsWith(prefix)) return;
    const tool = MUTATING_ACTIONS.get(actionId.slice(prefix.length));
    if (!tool) return;
    const credentials = await this.options.httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    let reason: Error;
    if (name === 'NotAllowedError') {
      // After the registry let the call through: the tool refused a caller that is not a user, or a
      // user's credentials passed on by a plugin not allowed to (the REST API's refusals are its own).
      if (
        credentials.principal.type !== 'service' &&
        !this.passedOnByRefusedPlugin(credentials)
      )
        return;
      reason = error as Error;
    } else {
      if (!(await this.denied(tool.permission, credentials))) return;
      reason = new NotAllowedError(`Not allowed: ${tool.permission.name}`);
    }
    if (!this.record)
      throw new Error('the kubechart router does not record refusals yet');
    const body = match![1].toLowerCase() === 'v2' ? req.body?.input : req.body;
    await this.record(
      req,
      {
        eventId: 'run-create',
        meta: {
          action: actionId,
          kind: tool.kind,
          cluster: textOf(body?.cluster, MAX_CLUSTER_LENGTH),
          requestedEntityRef: textOf(body?.entityRef, MAX_ENTITY_REF_LENGTH),
        },
      },
      reason,
    );
  }

  private passedOnByRefusedPlugin(credentials: BackstageCredentials): boolean {
    try {
      relayingPlugin(
        credentials,
        this.options.relayingPlugins ?? DEFAULT_RELAYING_PLUGINS,
      );
      return false;
    } catch (e) {
      if (e instanceof NotAllowedError) return true;
      throw e;
    }
  }

  private async denied(
    permission: BasicPermission,
    credentials: BackstageCredentials,
  ): Promise<boolean> {
    const [decision] = await this.options.permissions.authorize(
      [{ permission }],
      { credentials },
    );
    return decision.result !== AuthorizeResult.ALLOW;
  }
}
