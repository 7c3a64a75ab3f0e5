import {
  BackstageCredentials,
  RootConfigService,
} from '@backstage/backend-plugin-api';
import type {
  ActionsRegistryActionOptions,
  ActionsRegistryService,
} from '@backstage/backend-plugin-api/alpha';
import {
  ConflictError,
  InputError,
  NotAllowedError,
  NotFoundError,
  ResponseError,
} from '@backstage/errors';
import {
  CreateRunRequest,
  PolicySummary,
  Run,
  RunListItem,
  approvalCount,
  deploymentHistoryPath,
  kubechartClustersReadPermission,
  kubechartRunsCreatePermission,
  kubechartRunsRollbackPermission,
  summarizePolicyReport,
} from '@kubechart/plugin-kubechart-common';
import {
  assertSignedInUser,
  type KubechartRunsService,
} from '@kubechart/plugin-kubechart-node';
import { readRelayingPlugins, relayingPlugin } from '../service/identity';
import { invokedBy } from './actionInvoker';
import { MUTATING_ACTIONS } from './actionRefusals';

/**
 * KubeChart's operations as actions of Backstage's actions registry, which the MCP actions backend
 * offers to AI agents as tools. Every action calls the kubechart REST API with the caller's own
 * credentials, so an action is allowed, scoped, policy-checked, rate-limited and audited exactly as
 * the same request from the portal would be: an agent can never do more than its user.
 */

/** The zod the actions registry hands to schema factories (its own copy, not this package's). */
type Zod = Parameters<
  ActionsRegistryActionOptions<any, any>['schema']['input']
>[0];

/** A REST answer's error as the Backstage error the actions router maps to the same status. */
async function asCaller<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ResponseError) {
      const message = error.body?.error?.message ?? error.message;
      switch (error.statusCode) {
        case 400:
          throw new InputError(message);
        case 403:
          throw new NotAllowedError(message);
        case 404:
          throw new NotFoundError(message);
        case 409:
          throw new ConflictError(message);
        default:
          throw new Error(`kubechart answered ${error.statusCode}: ${message}`);
      }
    }
    throw error;
  }
}

const releaseSchema = (z: Zod) =>
  z.object({
    name: z
      .string()
      .describe('Release name, a DNS-1123 label of at most 53 characters.'),
    chart: z
      .string()
      .describe(
        'Chart name inside the configured chart directories, or an oci:// reference on an allowed repository.',
      ),
    repo: z
      .string()
      .optional()
      .describe('https:// chart repository on the allowed list.'),
    version: z
      .string()
      .optional()
      .describe('Chart version (pinned version recommended).'),
    values: z.record(z.unknown()).optional().describe('Helm values.'),
  });

const runSummarySchema = (z: Zod) =>
  z.object({
    id: z.string(),
    kind: z.string(),
    status: z.string(),
    actor: z.string().describe('The user who started the run.'),
    entityRef: z.string().optional(),
    target: z.object({
      cluster: z.string(),
      namespace: z.string(),
      release: z.string().optional(),
    }),
    createdAt: z.string(),
    finishedAt: z.string().optional(),
    failureReason: z.string().optional(),
    helmRevision: z.number().optional(),
    rollbackBound: z
      .boolean()
      .optional()
      .describe(
        'get-run only: true when the run recorded its Helm release record, so rollback-release with this run as fromRunId ' +
          'returns to exactly what it installed; false: roll back to helmRevision by number, without fromRunId (refused with it).',
      ),
    policy: z
      .object({
        passed: z.boolean(),
        blocking: z.boolean(),
        errors: z.number(),
        warnings: z.number(),
      })
      .optional()
      .describe('Summary of the policy report of what the run rendered.'),
    approval: z
      .object({
        rule: z.string(),
        state: z.string(),
        approvers: z.array(z.string()),
        required: z.number(),
        approvals: z.number(),
        expiresAt: z.string(),
        decisions: z.array(
          z.object({
            by: z.string(),
            decision: z.string(),
            comment: z.string(),
            at: z.string(),
          }),
        ),
      })
      .optional()
      .describe(
        'On a protected target: the approval gate. The run applies nothing until one of `approvers` other than the requester approves it in the portal.',
      ),
  });

/** The policy outcome of a run, or of an item of a page of runs (which carries the summary, not the report). */
function policyOf(run: Run | RunListItem): PolicySummary | undefined {
  if ('policyReport' in run && run.policyReport)
    return summarizePolicyReport(run.policyReport);
  return 'policySummary' in run ? run.policySummary : undefined;
}

function summary(run: Run | RunListItem) {
  const p = policyOf(run);
  return {
    id: run.id,
    kind: run.kind,
    status: run.status,
    actor: run.actor,
    ...(run.entityRef ? { entityRef: run.entityRef } : {}),
    target: run.target,
    createdAt: run.createdAt,
    ...(run.finishedAt ? { finishedAt: run.finishedAt } : {}),
    ...(run.failureReason ? { failureReason: run.failureReason } : {}),
    ...(run.helmRevision !== undefined
      ? { helmRevision: run.helmRevision }
      : {}),
    ...('rollbackBound' in run && run.rollbackBound !== undefined
      ? { rollbackBound: run.rollbackBound }
      : {}),
    ...(p
      ? {
          policy: {
            passed: p.passed,
            blocking: p.blocking,
            errors: p.summary.errors,
            warnings: p.summary.warnings,
          },
        }
      : {}),
    ...(run.approval
      ? {
          approval: {
            rule: run.approval.rule,
            state: run.approval.state,
            approvers: run.approval.approvers,
            required: run.approval.required,
            approvals: approvalCount(run.approval),
            expiresAt: run.approval.expiresAt,
            decisions: run.approval.decisions,
          },
        }
      : {}),
  };
}

const startedSchema = (z: Zod) =>
  z.object({
    runId: z.string(),
    status: z
      .string()
      .describe(
        'Status when accepted: pending, or awaiting-approval on a protected target (nothing is applied until an approver other than the requester approves it in the portal); follow it with kubechart get-run.',
      ),
    link: z
      .string()
      .optional()
      .describe(
        "The run in the entity's deployment history, when the run belongs to an entity.",
      ),
  });

/**
 * Refuses a caller that is not a signed-in user. Every action calls the kubechart REST API with the
 * caller's credentials passed on (`getPluginRequestToken({ onBehalfOf })`), and Backstage passes a
 * service's credentials on as the calling plugin's own token: the backend would authorize, scope and
 * audit an external service's call as the kubechart plugin itself. A service calls the REST API with
 * its own token instead, where it is seen as itself.
 */
function assertCallerIsUser(
  credentials: BackstageCredentials,
  action: string,
  readOnly: boolean,
) {
  assertSignedInUser(credentials, caller =>
    readOnly
      ? `kubechart:${action} reads for a signed-in user; ${caller}, which the kubechart backend would see as the kubechart plugin itself (its rights, and its name in the audit trail). A service reads through the kubechart REST API (/api/kubechart) with its own token`
      : `kubechart:${action} changes a cluster for a signed-in user; ${caller}, which the kubechart backend would record as the kubechart plugin itself. A service starts runs through POST /api/kubechart/runs with its own token`,
  );
}

/** Registers KubeChart's actions. */
export function registerKubechartActions(options: {
  actionsRegistry: ActionsRegistryService;
  runs: KubechartRunsService;
  config: RootConfigService;
}) {
  const { runs } = options;
  const relayingPlugins = readRelayingPlugins(options.config);
  // Every action, read only or not, is for signed-in users only (see assertCallerIsUser), whose
  // credentials were passed on, if at all, by a plugin in kubechart.onBehalfOf.relayingPlugins:
  // the REST API sees every action's call as passed on by kubechart itself, which it allows, so
  // the plugin that invoked the action is checked here (403 naming the setting, as the REST API).
  // Who relayed the call is logged, and named to the REST API (see invokedBy), whose audit trail
  // names it as relayedBy.
  const actionsRegistry: Pick<ActionsRegistryService, 'register'> = {
    register: action => {
      // A tool that changes a cluster has its refusals audited (see ActionRefusalAuditor), which
      // must know the run it asks for: one it does not know is a mistake, found at start-up.
      if (
        action.attributes?.readOnly !== true &&
        !MUTATING_ACTIONS.has(action.name)
      )
        throw new Error(
          `kubechart:${action.name} changes a cluster but its refusals would not be audited: add it to MUTATING_ACTIONS`,
        );
      options.actionsRegistry.register({
        ...action,
        action: async context => {
          assertCallerIsUser(
            context.credentials,
            action.name,
            action.attributes?.readOnly === true,
          );
          const relayedBy = relayingPlugin(
            context.credentials,
            relayingPlugins,
          );
          if (relayedBy) {
            const actor = (
              context.credentials.principal as { userEntityRef: string }
            ).userEntityRef;
            context.logger.info(
              `kubechart:${action.name} invoked for ${actor}, relayed by ${relayedBy}`,
              { action: `kubechart:${action.name}`, actor, relayedBy },
            );
          }
          return invokedBy(relayedBy, () => action.action(context));
        },
      });
    },
  };
  const appBaseUrl =
    options.config.getOptionalString('app.baseUrl')?.replace(/\/$/, '') ?? '';
  const link = (entityRef: string | undefined, runId: string) => {
    const path = entityRef
      ? deploymentHistoryPath(entityRef, runId)
      : undefined;
    return path ? { link: `${appBaseUrl}${path}` } : {};
  };
  const start = async (
    request: CreateRunRequest,
    credentials: BackstageCredentials,
    action: string,
  ) => {
    // Checked for every action when it is registered; again here, as a run changes a cluster.
    assertCallerIsUser(credentials, action, false);
    relayingPlugin(credentials, relayingPlugins);
    const started = await asCaller(() =>
      runs.createRun(request, { credentials }),
    );
    return {
      output: {
        runId: started.id,
        status: started.status,
        ...link(request.entityRef, started.id),
      },
    };
  };

  actionsRegistry.register({
    name: 'get-cluster-health',
    title: 'Get Kubernetes cluster health',
    description:
      'Health of the Kubernetes clusters KubeChart manages: reachable or not, version, ready nodes, healthy/degraded/failed ' +
      'workloads, CPU and memory utilisation and alerts (only those in namespaces the caller may read, and about nodes). ' +
      'Without `cluster`, lists every cluster with its status. Read only.',
    visibilityPermission: kubechartClustersReadPermission,
    attributes: { readOnly: true, idempotent: true, destructive: false },
    schema: {
      input: z =>
        z.object({
          cluster: z
            .string()
            .optional()
            .describe('Cluster name; omit to list all clusters.'),
        }),
      output: z =>
        z.object({
          clusters: z.array(
            z.object({
              name: z.string(),
              status: z.string(),
              message: z.string().optional(),
            }),
          ),
          health: z
            .object({
              cluster: z.string(),
              status: z.string(),
              message: z.string(),
              version: z.string().optional(),
              nodes: z.object({ ready: z.number(), total: z.number() }),
              workloads: z.object({
                healthy: z.number(),
                degraded: z.number(),
                failed: z.number(),
              }),
              utilisation: z.object({
                cpu: z.number(),
                memory: z.number(),
                source: z.string(),
                excludedNodes: z
                  .number()
                  .optional()
                  .describe(
                    'How many nodes (not Ready, or cordoned) the fractions leave out: they are of the capacity new pods can use.',
                  ),
              }),
              alerts: z.array(
                z
                  .object({
                    type: z.string(),
                    object: z.string(),
                    reason: z.string(),
                    message: z.string(),
                  })
                  .passthrough(),
              ),
              alertsTotal: z
                .number()
                .optional()
                .describe(
                  'How many alerts there are in all; `alerts` holds the first 50.',
                ),
              alertsHidden: z
                .number()
                .optional()
                .describe(
                  'How many of the first 50 alerts were left out because the caller may not read their namespace.',
                ),
              observedAt: z.string(),
              lastSeenAt: z
                .string()
                .optional()
                .describe(
                  'In an `error` answer: until when the health cache followed the cluster.',
                ),
            })
            .optional(),
        }),
    },
    action: async ({ input, credentials }) => {
      const clusters = (
        await asCaller(() => runs.listClusters({ credentials }))
      ).map(c => ({
        name: c.name,
        status: c.status,
        ...(c.message ? { message: c.message } : {}),
      }));
      if (!input.cluster) return { output: { clusters } };
      const h = await asCaller(() =>
        runs.getClusterHealth(input.cluster!, { credentials }),
      );
      // The workload counts only: `hidden` counts left-out items, which the tool does not pass on.
      const { items: _items, hidden: _hidden, ...workloads } = h.workloads;
      return { output: { clusters, health: { ...h, workloads } } };
    },
  });

  actionsRegistry.register({
    name: 'list-tenants',
    title: 'List tenants',
    description:
      'Tenants (a namespace with quota, limits, network policy and Helm releases, provisioned by KubeChart) the caller may ' +
      'read, with owner, status and the status of their last run. Read only.',
    visibilityPermission: kubechartClustersReadPermission,
    attributes: { readOnly: true, idempotent: true, destructive: false },
    schema: {
      input: z => z.object({}),
      output: z =>
        z.object({
          tenants: z.array(
            z.object({
              code: z.string(),
              cluster: z.string(),
              namespace: z.string(),
              status: z.string().optional(),
              owner: z.string().optional(),
              releases: z.array(z.string()),
              lastRunId: z.string().optional(),
              lastRunStatus: z.string().optional(),
              entityRef: z.string().optional(),
            }),
          ),
        }),
    },
    action: async ({ credentials }) => {
      const tenants = await asCaller(() => runs.listTenants({ credentials }));
      return {
        output: {
          tenants: tenants.map(t => ({
            code: t.code,
            cluster: t.cluster,
            namespace: t.namespace,
            releases: t.releases,
            ...(t.status ? { status: t.status } : {}),
            ...(t.owner ? { owner: t.owner } : {}),
            ...(t.lastRunId ? { lastRunId: t.lastRunId } : {}),
            ...(t.lastRunStatus ? { lastRunStatus: t.lastRunStatus } : {}),
            ...(t.entityRef ? { entityRef: t.entityRef } : {}),
          })),
        },
      };
    },
  });

  actionsRegistry.register({
    name: 'get-tenant-health',
    title: 'Get tenant health',
    description:
      'Readiness of one tenant: ready/total pods per Helm release, quota used against its limits, its URLs. Read only.',
    visibilityPermission: kubechartClustersReadPermission,
    attributes: { readOnly: true, idempotent: true, destructive: false },
    schema: {
      input: z =>
        z.object({ tenant: z.string().describe('Tenant code, e.g. acme.') }),
      output: z =>
        z.object({
          tenant: z.string(),
          cluster: z.string(),
          namespace: z.string(),
          status: z
            .string()
            .describe(
              '`unknown` while the health cache does not follow the cluster: nothing else of the tenant is given.',
            ),
          message: z
            .string()
            .optional()
            .describe(
              'Why the status is `unknown`, or why the tenant is worse than its releases say (its namespace is gone, something no release owns fails, its quota is used up).',
            ),
          releases: z.array(
            z.object({
              name: z.string(),
              readyPods: z.number(),
              totalPods: z.number(),
              status: z.string(),
              reason: z
                .string()
                .optional()
                .describe(
                  'Why the release is not healthy (a workload behind, a failed Job or failing pod of it).',
                ),
            }),
          ),
          quota: z.object({
            hard: z.record(z.string()),
            used: z.record(z.string()),
          }),
          urls: z.array(z.string()),
          urlsError: z
            .string()
            .optional()
            .describe(
              'Why `urls` may be incomplete: its Ingresses or HTTPRoutes could not be listed.',
            ),
          observedAt: z.string().describe('When the answer was given.'),
          lastSeenAt: z
            .string()
            .optional()
            .describe(
              'In an `unknown` answer: until when the health cache followed the cluster (absent when it never did).',
            ),
        }),
    },
    action: async ({ input, credentials }) => ({
      output: await asCaller(() =>
        runs.getTenantHealth(input.tenant, { credentials }),
      ),
    }),
  });

  actionsRegistry.register({
    name: 'list-runs',
    title: 'List deployment runs',
    description:
      'Deployment history: the runs (tenant provisioning, chart installs and upgrades, manifests, rollbacks) of one catalog ' +
      'entity or of everything the caller may read, newest first, with who started each, when, its status, failure reason ' +
      'and policy summary. Use to answer "what changed in X yesterday". Read only.',
    visibilityPermission: kubechartClustersReadPermission,
    attributes: { readOnly: true, idempotent: true, destructive: false },
    schema: {
      input: z =>
        z.object({
          entityRef: z
            .string()
            .optional()
            .describe(
              'Catalog entity ref, e.g. component:default/payments-api.',
            ),
          kind: z
            .enum([
              'tenant',
              'chart',
              'manifests',
              'rollback',
              'tenant-delete',
              'custom',
            ])
            .optional(),
          status: z
            .enum(['pending', 'running', 'succeeded', 'failed'])
            .optional(),
          actor: z
            .string()
            .optional()
            .describe('User entity ref of who started the runs.'),
          from: z
            .string()
            .datetime({ offset: true })
            .optional()
            .describe('Runs created at or after (ISO 8601).'),
          to: z
            .string()
            .datetime({ offset: true })
            .optional()
            .describe('Runs created at or before (ISO 8601).'),
          limit: z
            .number()
            .int()
            .min(1)
            .max(100)
            .optional()
            .describe('Page size, default 20.'),
          cursor: z
            .string()
            .optional()
            .describe('nextCursor of the previous page.'),
        }),
      output: z =>
        z.object({
          runs: z.array(runSummarySchema(z)),
          nextCursor: z.string().optional(),
          truncated: z
            .boolean()
            .optional()
            .describe(
              'True when kubechart stopped looking before the end of the history (for a caller who may read only some ' +
                'runs it looks at 1,000 a page): older runs may exist, even after an empty page; pass nextCursor to read on, ' +
                'or narrow the query (entityRef, to).',
            ),
        }),
    },
    action: async ({ input, credentials }) => {
      const page = await asCaller(() =>
        runs.listRuns({ limit: 20, ...input }, { credentials }),
      );
      return {
        output: {
          runs: page.items.map(summary),
          ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
          // Without it, a page of a cut scan without a cursor would read as the whole history.
          ...(page.truncated ? { truncated: true } : {}),
        },
      };
    },
  });

  actionsRegistry.register({
    name: 'get-run',
    title: 'Get a deployment run',
    description:
      'One run of the deployment history with its policy report findings, and optionally the diff of its values and ' +
      'manifests against another run (e.g. the previous one). Values and manifests are shown with secrets redacted. Read only.',
    visibilityPermission: kubechartClustersReadPermission,
    attributes: { readOnly: true, idempotent: true, destructive: false },
    schema: {
      input: z =>
        z.object({
          runId: z.string(),
          compareWith: z
            .string()
            .optional()
            .describe(
              'Id of another run: returns the diff from that run to this one.',
            ),
        }),
      output: z =>
        z.object({
          run: runSummarySchema(z),
          findings: z
            .array(
              z.object({
                ruleId: z.string(),
                severity: z.string(),
                object: z.string(),
                message: z.string(),
              }),
            )
            .describe('Failed policy results of the run.'),
          diff: z
            .object({
              values: z.string(),
              manifest: z.string(),
              notComputed: z
                .object({
                  values: z.string().optional(),
                  manifest: z.string().optional(),
                })
                .optional()
                .describe(
                  'Present when a part was not diffed (too large or too slow): that part is a "# diff not shown" line, not a diff, so it does not mean the runs are equal.',
                ),
              hiddenSecrets: z
                .number()
                .optional()
                .describe(
                  'Secret values stored redacted in the runs: the diff cannot compare them, so a changed secret does not show.',
                ),
            })
            .optional(),
        }),
    },
    action: async ({ input, credentials }) => {
      const run = await asCaller(() =>
        runs.getRun(input.runId, { credentials }),
      );
      const diff = input.compareWith
        ? await asCaller(() =>
            runs.getRunDiff(input.compareWith!, input.runId, { credentials }),
          )
        : undefined;
      const findings = (run.policyReport?.results ?? [])
        .filter(r => !r.passed)
        .map(r => ({
          ruleId: r.ruleId,
          severity: r.exempt
            ? `${r.severity} (exempt: ${r.exempt.reason})`
            : r.severity,
          object: `${r.object.kind}/${
            r.object.namespace ? `${r.object.namespace}/` : ''
          }${r.object.name}`,
          message: r.message,
        }));
      return {
        output: {
          run: summary(run),
          findings,
          // What the diff could not compare goes with it: without it an agent reads "no change".
          ...(diff
            ? {
                diff: {
                  values: diff.values,
                  manifest: diff.manifest,
                  ...(diff.notComputed
                    ? { notComputed: diff.notComputed }
                    : {}),
                  ...(diff.hiddenSecrets
                    ? { hiddenSecrets: diff.hiddenSecrets }
                    : {}),
                },
              }
            : {}),
        },
      };
    },
  });

  actionsRegistry.register({
    name: 'check-policy',
    title: 'Check a chart or manifests against the policy (dry run)',
    description:
      'Renders a Helm chart release (or takes multi-document YAML) for a namespace and checks every object against the ' +
      "platform's policy (security, reliability, RBAC, tenant scope). Applies nothing. Returns whether an install would be " +
      'blocked and every failed rule with its fix.',
    visibilityPermission: kubechartRunsCreatePermission,
    attributes: { readOnly: true, idempotent: true, destructive: false },
    schema: {
      input: z =>
        z.object({
          cluster: z.string().optional(),
          namespace: z.string(),
          release: releaseSchema(z)
            .optional()
            .describe('A chart release to render; give this or manifests.'),
          manifests: z
            .string()
            .max(1_000_000)
            .optional()
            .describe('Multi-document YAML; give this or release.'),
        }),
      output: z =>
        z.object({
          passed: z.boolean(),
          blocking: z.boolean(),
          objects: z.number(),
          findings: z.array(
            z.object({
              ruleId: z.string(),
              severity: z.string(),
              object: z.string(),
              message: z.string(),
              fix: z.string(),
            }),
          ),
        }),
    },
    action: async ({ input, credentials }) => {
      if ((input.release === undefined) === (input.manifests === undefined)) {
        throw new InputError('Give exactly one of release or manifests');
      }
      const { cluster, namespace } = input;
      const body = input.release
        ? { ...(cluster ? { cluster } : {}), namespace, release: input.release }
        : {
            ...(cluster ? { cluster } : {}),
            namespace,
            manifests: input.manifests!,
          };
      const { report } = await asCaller(() =>
        runs.checkPolicy(body, { credentials }),
      );
      return {
        output: {
          passed: report.passed,
          blocking: report.blocking,
          objects: report.summary.objects,
          findings: report.results
            .filter(r => !r.passed && !r.exempt)
            .map(r => ({
              ruleId: r.ruleId,
              severity: r.severity,
              object: `${r.object.kind}/${r.object.name}`,
              message: r.message,
              fix: r.fix,
            })),
        },
      };
    },
  });

  actionsRegistry.register({
    name: 'install-chart',
    title: 'Install or upgrade a Helm chart',
    description:
      "Starts a run that installs or upgrades a Helm release in a namespace the caller's team may deploy to. The rendered " +
      'manifests are policy-checked before helm applies anything; a blocked or out-of-scope request is refused. Changes the ' +
      'cluster. Returns the run id at once; follow it with get-run.',
    visibilityPermission: kubechartRunsCreatePermission,
    attributes: { readOnly: false, destructive: true, idempotent: false },
    schema: {
      input: z =>
        z.object({
          cluster: z.string(),
          namespace: z.string(),
          release: releaseSchema(z),
          entityRef: z
            .string()
            .optional()
            .describe(
              'Catalog entity the release belongs to (its deployment history).',
            ),
        }),
      output: startedSchema,
    },
    action: async ({ input, credentials }) =>
      start(
        {
          kind: 'chart',
          cluster: input.cluster,
          namespace: input.namespace,
          release: input.release,
          ...(input.entityRef ? { entityRef: input.entityRef } : {}),
        },
        credentials,
        'install-chart',
      ),
  });

  actionsRegistry.register({
    name: 'rollback-release',
    title: 'Roll back a Helm release',
    description:
      'Starts a run that rolls a Helm release back to an earlier revision (see helmRevision in list-runs). Pass the id of ' +
      'the run that installed that revision as fromRunId: the rollback then returns only to the release record that run ' +
      'recorded, and is refused (409) when the revision is another one now (revision numbers restart after an uninstall). ' +
      'Without it the revision number alone is used. Changes the cluster. Returns the run id at once; follow it with get-run.',
    visibilityPermission: kubechartRunsRollbackPermission,
    attributes: { readOnly: false, destructive: true, idempotent: false },
    schema: {
      input: z =>
        z.object({
          cluster: z.string(),
          namespace: z.string(),
          release: z.string(),
          revision: z.number().int().min(1),
          fromRunId: z
            .string()
            .optional()
            .describe(
              'The run (from list-runs) that installed the revision; the rollback returns only to the release record it recorded.',
            ),
          entityRef: z.string().optional(),
        }),
      output: startedSchema,
    },
    action: async ({ input, credentials }) =>
      start(
        {
          kind: 'rollback',
          cluster: input.cluster,
          namespace: input.namespace,
          release: input.release,
          revision: input.revision,
          ...(input.fromRunId ? { fromRunId: input.fromRunId } : {}),
          ...(input.entityRef ? { entityRef: input.entityRef } : {}),
        },
        credentials,
        'rollback-release',
      ),
  });

  actionsRegistry.register({
    name: 'provision-tenant',
    title: 'Provision or update a tenant',
    description:
      'Starts a run that creates a tenant (namespace, quota, limits, network policy and its Helm releases) or updates one ' +
      "the caller's team owns. Releases dropped from the list are kept unless pruneReleases is true. Changes the cluster. " +
      'Returns the run id at once; follow it with get-run.',
    visibilityPermission: kubechartRunsCreatePermission,
    attributes: { readOnly: false, destructive: true, idempotent: false },
    schema: {
      input: z =>
        z.object({
          cluster: z.string(),
          tenant: z
            .string()
            .describe(
              'Tenant code: a DNS-1123 label of 2 to 40 characters; the namespace is named after it.',
            ),
          displayName: z.string().optional(),
          owner: z
            .string()
            .optional()
            .describe(
              'Owning group entity ref, e.g. group:default/team-a: you or a group you belong to (default: you).',
            ),
          quota: z
            .object({
              hard: z.record(z.string()).optional(),
              defaultLimits: z.record(z.string()).optional(),
              defaultRequests: z.record(z.string()).optional(),
            })
            .optional(),
          releases: z.array(releaseSchema(z)).max(20),
          pruneReleases: z.boolean().optional(),
          entityRef: z.string().optional(),
        }),
      output: startedSchema,
    },
    action: async ({ input, credentials }) => {
      const { entityRef, ...tenant } = input;
      return start(
        { kind: 'tenant', ...tenant, ...(entityRef ? { entityRef } : {}) },
        credentials,
        'provision-tenant',
      );
    },
  });
}
