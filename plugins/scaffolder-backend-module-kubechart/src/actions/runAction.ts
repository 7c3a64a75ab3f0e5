import type { ActionContext } from '@backstage/plugin-scaffolder-node';
import { createHash } from 'node:crypto';
import {
  approvalCount,
  deploymentHistoryPath,
  type CreateRunRequest,
  type Run,
  type RunEvent,
} from '@kubechart/plugin-kubechart-common';
import {
  formatPolicyFailures,
  type KubechartRunsService,
} from '@kubechart/plugin-kubechart-node';
import { previewAndLog } from './preview';
import { initiatorCredentials } from './initiator';
import { TaskFailure } from './taskError';
import { assertRequestWithinBodyLimits } from './values';

/**
 * The app's base URL. Links the actions output are relative to the app (they open in the same
 * tab), so it is not used for them any more; kept so callers that pass it keep compiling.
 */
export type ActionLinks = { appBaseUrl: string };

/** Formats one run event as a task-log line; release logs already carry their `[release]` prefix. */
export function formatRunEvent(event: RunEvent): string {
  if (event.type !== 'step') {
    return event.message;
  }
  const step = event.step ?? 'run';
  const status = event.stepStatus ?? '';
  // Step events usually carry a message that already names the step; don't say it twice.
  if (!event.message || event.message.includes(step)) {
    return event.message || `${step}: ${status}`;
  }
  return `${step}: ${status} — ${event.message}`;
}

function logEvent(ctx: ActionContext<any, any>, event: RunEvent) {
  const line = formatRunEvent(event);
  if (event.level === 'error') ctx.logger.error(line);
  else if (event.level === 'warn') ctx.logger.warn(line);
  else ctx.logger.info(line);
}

/**
 * Link to the deployment-history tab of an entity, opened on one run when `runId` is given, e.g.
 * `/catalog/default/component/shop/deployment-history?run=…`. The link is relative to the app, so
 * the task page opens it in the same tab and it works whatever host the app is served from.
 */
export function historyUrl(entityRef?: string, runId?: string) {
  return entityRef ? deploymentHistoryPath(entityRef, runId) : undefined;
}

type Credentials = Awaited<
  ReturnType<ActionContext<any, any>['getInitiatorCredentials']>
>;

/**
 * JSON of a value with the keys of every object in sorted order, so two requests that are the same
 * give the same text whatever order their keys were written in.
 */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          // Code-unit order (not locale order), the same on every host.
          Object.entries(v).sort(([a], [b]) => Number(a > b) - Number(a < b)),
        )
      : v,
  );
}

/**
 * The checkpoint key of what a request is for (its kind, which names the action, and its target).
 * The scaffolder prefixes keys with the step id only, so each iteration of a step with `each:` needs
 * a key of its own, or on recovery every iteration would follow the run the last one saved. Under
 * this key the step records the first run it started for the target and that run's request digest.
 */
function targetCheckpointKey(request: CreateRunRequest): string {
  let target: unknown[];
  switch (request.kind) {
    case 'tenant':
    case 'tenant-delete':
      target = [request.cluster, request.tenant];
      break;
    case 'chart':
      target = [request.cluster, request.namespace, request.release.name];
      break;
    case 'rollback':
      target = [request.cluster, request.namespace, request.release];
      break;
    case 'manifests':
      // Iterations may apply different documents to one namespace: the documents are the target.
      target = [request.cluster, request.namespace, request.manifests];
      break;
    default:
      target = [request];
  }
  const digest = createHash('sha256')
    .update(JSON.stringify([request.kind, ...target]))
    .digest('hex')
    .slice(0, 16);
  return `kubechart.run.${digest}`;
}

/**
 * A digest of the whole request body (values, chart, version and all), so a step follows a run only
 * when it would send exactly the same request. Only the digest is kept, never the values, which
 * may hold secrets.
 */
function requestDigest(request: CreateRunRequest): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

/**
 * Starts the run of a request inside `ctx.checkpoint`, or finds the one this step started when it
 * ran before (the scaffolder recovered the task, or a user pressed Retry). A run found that way
 * which has failed is replaced by a new one, so a retried step converges instead of failing again
 * with the old reason; a run that is active or succeeded is followed. The replacement's checkpoint
 * key names the failed run, so the next time the step runs it finds the replacement.
 *
 * The key holds the digest of the request: a step whose input changed since it ran before (values
 * rendered from an earlier step's output, another chart version) starts a run for its new request,
 * and the log names the earlier run it does not follow.
 */
async function startOrFindRun(
  ctx: ActionContext<any, any>,
  runs: KubechartRunsService,
  request: CreateRunRequest,
  credentials: Credentials,
): Promise<string> {
  const target = targetCheckpointKey(request);
  const digest = requestDigest(request);
  const base = `${target}.request.${digest}`;
  let key = base;
  for (;;) {
    let started = false;
    const { id } = await ctx.checkpoint({
      key,
      fn: async () => {
        started = true;
        const created = await runs.createRun(request, { credentials });
        return { id: created.id };
      },
    });
    if (started) {
      // The first run this step started for the target, kept to say why it is not followed.
      const first: { id?: string; request?: string } = await ctx.checkpoint({
        key: target,
        fn: async () => ({ id, request: digest }),
      });
      if (first.id && first.id !== id && first.request !== digest) {
        ctx.logger.info(
          `kubechart run ${first.id} (${
            request.kind
          }), started when this step ran before, is not followed: ${
            first.request
              ? 'it was started for another request (the step’s input changed since)'
              : 'whether it was started for the same request was not recorded'
          }; starting a new run`,
        );
      }
      ctx.logger.info(`kubechart run ${id} started (${request.kind})`);
      return id;
    }
    const earlier = await runs.getRun(id, { credentials });
    if (earlier.status !== 'failed') {
      ctx.logger.info(
        `following kubechart run ${id} (${request.kind}), started when this step ran before`,
      );
      return id;
    }
    ctx.logger.info(
      `kubechart run ${id} (${
        request.kind
      }) failed when this step ran before (${
        earlier.failureReason ?? 'unknown reason'
      }); starting a new run`,
    );
    key = `${base}.after.${id}`;
  }
}

/**
 * Starts a run in the kubechart engine on behalf of the user who started the template, streams its
 * log into the task log and resolves with the finished run; throws with the run's failure reason.
 *
 * The run is created inside `ctx.checkpoint`, so when the scaffolder retries or recovers the step it
 * follows the run it already started instead of starting another, unless that run failed: then it
 * starts a new one (see {@link startOrFindRun}).
 */
export async function startAndFollowRun(
  ctx: ActionContext<any, any>,
  runs: KubechartRunsService,
  request: CreateRunRequest,
  options: {
    pollIntervalMs?: number;
    /** How often a run awaiting approval is polled (ms); default 5000. */
    approvalPollIntervalMs?: number;
    onStarted?: (runId: string) => void;
  } = {},
): Promise<Run> {
  const body: CreateRunRequest = {
    ...request,
    template: request.template ?? ctx.templateInfo?.entityRef,
  };
  // What the backend would refuse after the step started fails it now, and nothing is sent.
  assertRequestWithinBodyLimits(body);
  const credentials = await initiatorCredentials(ctx);
  const id = await startOrFindRun(ctx, runs, body, credentials);
  options.onStarted?.(id);
  await waitForApproval(
    ctx,
    runs,
    id,
    body,
    credentials,
    options.approvalPollIntervalMs ?? 5000,
  );
  const run = await runs.followRun(id, {
    credentials,
    signal: ctx.signal,
    pollIntervalMs: options.pollIntervalMs,
    onEvent: event => logEvent(ctx, event),
  });
  if (run.status !== 'succeeded') {
    const reason = run.failureReason ?? 'unknown reason';
    // The engine's reason usually names the broken rules already; list them only when it does not.
    const failures =
      run.policyReport && !run.policyReport.passed
        ? formatPolicyFailures(run.policyReport)
        : '';
    const policy =
      failures && !failures.split('\n').every(line => reason.includes(line))
        ? `\n${failures}`
        : '';
    // A failed run is an answer, not a crash: the task log shows its reason, not a stack trace.
    throw new TaskFailure(`kubechart run ${run.id} failed: ${reason}${policy}`);
  }
  return run;
}

const waitingLine = (run: Run) => {
  const a = run.approval!;
  const approvals = approvalCount(a);
  return `kubechart run ${run.id} is waiting for approval by ${a.approvers.join(
    ' or ',
  )} (rule ${a.rule}; ${approvals} of ${a.required} approvals; expires ${
    a.expiresAt
  }). Nothing is applied until then.`;
};

/**
 * A run on a protected target waits for its approvers: streams "waiting for approval by …" and each
 * decision into the task log, and when the approved run needs its input again (it holds secret
 * values the backend does not keep) submits it, inside a checkpoint so a recovered task does not
 * submit twice. Returns when the run is no longer waiting (started, or ended by a rejection or expiry).
 * When the task is cancelled meanwhile, withdraws the run before the step ends.
 */
async function waitForApproval(
  ctx: ActionContext<any, any>,
  runs: KubechartRunsService,
  id: string,
  request: CreateRunRequest,
  credentials: Credentials,
  pollIntervalMs: number,
): Promise<void> {
  let run = await runs.getRun(id, { credentials });
  if (!run.approval) return;
  let seen = 0;
  if (run.status === 'awaiting-approval') ctx.logger.info(waitingLine(run));
  for (;;) {
    for (const d of run.approval?.decisions.slice(seen) ?? []) {
      ctx.logger.info(
        `${d.decision === 'approve' ? 'Approved' : 'Rejected'} by ${d.by}: ${
          d.comment
        }`,
      );
    }
    seen = run.approval?.decisions.length ?? 0;
    const open =
      run.status === 'awaiting-approval' || run.status === 'approved';
    // Cancelled before it started (an approved plan is not submitted again either): taken back.
    if (open && ctx.signal?.aborted) {
      await withdrawCancelled(ctx, runs, id, credentials);
      ctx.signal.throwIfAborted();
    }
    if (run.status === 'approved' && run.approval?.resubmit) {
      await ctx.checkpoint({
        // Per run: each iteration of an `each:` step, and each run that replaced a failed one,
        // submits its own plan.
        key: `kubechart.run.${id}.execute`,
        fn: async () => {
          const started = await runs.executeRun(id, request, { credentials });
          return { status: started.status };
        },
      });
      ctx.logger.info(`kubechart run ${id}: the approved plan starts`);
      return;
    }
    if (!open) return;
    await new Promise(r => setTimeout(r, pollIntervalMs));
    run = await runs.getRun(id, { credentials });
  }
}

/**
 * The task was cancelled while its run waits for approval: the request is withdrawn, so that no
 * later approval applies what the user stopped, in their name. Inside a checkpoint, once per run.
 * A refusal (decided or started meanwhile) is logged; the step ends as cancelled either way.
 */
async function withdrawCancelled(
  ctx: ActionContext<any, any>,
  runs: KubechartRunsService,
  id: string,
  credentials: Credentials,
): Promise<void> {
  try {
    await ctx.checkpoint({
      key: `kubechart.run.${id}.withdraw`,
      fn: async () => {
        const run = await runs.withdrawRun(id, {
          credentials,
          comment: `the scaffolder task ${ctx.task?.id} was cancelled`,
        });
        return { status: run.status };
      },
    });
    ctx.logger.info(
      `kubechart run ${id} was withdrawn as the task was cancelled; nothing was applied`,
    );
  } catch (e) {
    ctx.logger.warn(
      `kubechart run ${id} could not be withdrawn: ${
        e instanceof Error ? e.message : String(e)
      }`,
    );
  }
}

/** Every string in a values object (keys aside). */
function stringsOf(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) value.forEach(v => stringsOf(v, out));
  else if (value && typeof value === 'object')
    Object.values(value).forEach(v => stringsOf(v, out));
  return out;
}

/**
 * The request with the task's secrets (`ctx.secrets`: `${{ secrets.license }}` of a template) that
 * its Helm values, or its manifests, hold, under any key, whole or within a string, declared as
 * `secretValues`: the backend removes them by value from all it keeps of the run (input, stored
 * values, manifests, events), as the scaffolder removes them from the task log, and keeps none of
 * them. A manifests run's text is searched as written and, in `manifestObjects` (the manifests as
 * read), as YAML reads it (a secret written escaped, `${{ secrets.x | dump }}`).
 */
export function withTaskSecrets(
  ctx: Pick<ActionContext<any, any>, 'secrets'>,
  request: CreateRunRequest,
  manifestObjects: unknown[] = [],
): CreateRunRequest {
  if (
    request.kind !== 'chart' &&
    request.kind !== 'tenant' &&
    request.kind !== 'manifests'
  )
    return request;
  const secrets = Object.values(ctx.secrets ?? {}).filter(
    (s): s is string => typeof s === 'string' && s.length > 0,
  );
  if (secrets.length === 0) return request;
  const texts =
    request.kind === 'manifests'
      ? [request.manifests, ...stringsOf(manifestObjects)]
      : stringsOf(
          request.kind === 'chart'
            ? request.release.values
            : request.releases.map(r => r.values),
        );
  const held = [...new Set(secrets)].filter(s =>
    texts.some(t => t.includes(s)),
  );
  return held.length ? { ...request, secretValues: held } : request;
}

/**
 * What every run-starting action does once it has built its request: link the entity's history,
 * then either preview (dry run: nothing applied, outputs say `dry-run`) or start and follow the run.
 * Resolves with the finished run, or undefined on a dry run.
 */
export async function executeRun(
  ctx: ActionContext<any, any>,
  options: {
    runs: KubechartRunsService;
    links: ActionLinks;
    pollIntervalMs?: number;
    approvalPollIntervalMs?: number;
  },
  given: CreateRunRequest,
  /** A manifests run's manifests as read (see {@link withTaskSecrets}). */
  manifestObjects?: unknown[],
): Promise<Run | undefined> {
  const request = withTaskSecrets(ctx, given, manifestObjects);
  ctx.output('historyUrl', historyUrl(request.entityRef));
  if (ctx.isDryRun) {
    await previewAndLog(ctx, options.runs, request);
    ctx.output('runId', 'dry-run');
    ctx.output('status', 'dry-run');
    return undefined;
  }
  const run = await startAndFollowRun(ctx, options.runs, request, {
    pollIntervalMs: options.pollIntervalMs,
    approvalPollIntervalMs: options.approvalPollIntervalMs,
    // The history link opens on this run as soon as it exists.
    onStarted: id =>
      ctx.output('historyUrl', historyUrl(request.entityRef, id)),
  });
  ctx.output('runId', run.id);
  ctx.output('status', run.status);
  return run;
}
