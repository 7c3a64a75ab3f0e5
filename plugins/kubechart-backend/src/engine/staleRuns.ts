import { LoggerService } from '@backstage/backend-plugin-api';
import { Run } from '@kubechart/plugin-kubechart-common';
import { ClusterRegistry } from '@kubechart/plugin-kubechart-node';
import { RunStore, StaleRun } from '../database/RunStore';
import { KubeClient } from '../lib/KubeClient';
import { describeKubeError } from '../lib/kubeErrors';
import { describeNotReady, evaluateNamespace } from '../lib/readiness';
import { EngineSettings } from './settings';

function expectedReleases(run: Run): string[] {
  if (run.kind === 'tenant')
    return ((run.input.releases as Array<{ name: string }>) ?? []).map(
      r => r.name,
    );
  return run.target.release ? [run.target.release] : [];
}

/**
 * What was observed about a stale run, in words: who held it, when it was last heard of, and which
 * instance took its lease over. E.g. "heartbeat lost: backend instance a last recorded one at
 * 2026-12-02T22:30:01.000Z, 9s before this check (stale after 2s); lease taken over by backend instance b".
 */
export function describeLostHeartbeat(
  run: StaleRun,
  options: { now: number; staleAfterSeconds: number; reconciler: string },
): string {
  const last = run.heartbeatAt ? Date.parse(run.heartbeatAt) : undefined;
  const when =
    last === undefined
      ? 'never'
      : `at ${run.heartbeatAt}, ${Math.max(
          0,
          Math.round((options.now - last) / 1000),
        )}s before this check`;
  let holder = 'no backend instance claimed the run; it was last heard of';
  if (run.action)
    holder = `the action ${run.action} that recorded this run last reported`;
  else if (run.executor)
    holder = `backend instance ${run.executor} last recorded a heartbeat`;
  return `heartbeat lost: ${holder} ${when} (stale after ${options.staleAfterSeconds}s); lease taken over by backend instance ${options.reconciler}`;
}

export type StaleRunDeps = {
  store: RunStore;
  clusters: ClusterRegistry;
  settings: EngineSettings;
  logger: LoggerService;
  client(cluster: string): KubeClient;
  /** This instance: the one taking the leases over. */
  instanceId: string;
  /** Runs this instance executes itself (never reconciled here). */
  isActive(runId: string): boolean;
  onRunChanged?(run: Run): void;
};

/**
 * Reconciles runs left `pending`/`running` whose heartbeat is stale: ready workloads → succeeded;
 * otherwise failed, with what was observed (whose heartbeat was lost since when, which instance
 * took the lease over) and what the cluster shows. Safe on several replicas: the final, fenced
 * update happens once per run and bumps its lease epoch, so a late executor can no longer write.
 */
export async function recoverStaleRuns(deps: StaleRunDeps): Promise<number> {
  const { store, settings, logger } = deps;
  const now = Date.now();
  const stale = await store.findStaleRuns(
    new Date(now - settings.staleAfterSeconds * 1000),
  );
  let n = 0;
  for (const run of stale) {
    if (deps.isActive(run.id)) continue;
    const lost = describeLostHeartbeat(run, {
      now,
      staleAfterSeconds: settings.staleAfterSeconds,
      reconciler: deps.instanceId,
    });
    let status: 'succeeded' | 'failed' = 'failed';
    let reason = lost;
    const canCheck =
      !run.action &&
      ['tenant', 'chart', 'manifests', 'rollback'].includes(run.kind) &&
      deps.clusters.has(run.target.cluster);
    if (canCheck) {
      try {
        const client = deps.client(run.target.cluster);
        const readiness = evaluateNamespace(
          await client.snapshot(run.target.namespace),
          { release: run.target.release },
        );
        const releases = expectedReleases(run);
        const present = new Set(readiness.workloads.map(w => w.release));
        const missing = releases.filter((r: string) => !present.has(r));
        if (
          readiness.allReady &&
          readiness.workloads.length > 0 &&
          missing.length === 0
        ) {
          status = 'succeeded';
        } else {
          const what =
            describeNotReady(readiness) ||
            (readiness.workloads.length === 0 ? 'no workloads found' : '');
          reason += `; the cluster shows: ${[
            what,
            missing.length
              ? `releases without workloads: ${missing.join(', ')}`
              : '',
          ]
            .filter(Boolean)
            .join('. ')}`;
        }
      } catch (e) {
        reason += `; the cluster could not be checked: ${describeKubeError(
          e,
          run.target.cluster,
        )}`;
      }
    }
    const finished = await store.finishRun(
      run.id,
      status,
      status === 'failed' ? { failureReason: reason } : {},
      { fence: true },
    );
    if (!finished) continue; // another replica reconciled it first
    await store.appendEvents(run.id, [
      {
        type: 'status',
        level: status === 'failed' ? 'error' : 'info',
        message:
          status === 'succeeded'
            ? `Reconciled (${lost}): every workload is Ready`
            : `Run failed: ${reason}`,
      },
    ]);
    if (run.kind === 'tenant' && typeof run.input.tenant === 'string') {
      const t = (await store.getTenants(run.input.tenant)).find(
        x => x.cluster === run.target.cluster,
      );
      if (t)
        await store.upsertTenant({
          ...t,
          status: status === 'succeeded' ? 'active' : 'failed',
          lastRunId: run.id,
        });
    }
    const after = await store.getRun(run.id);
    if (after) deps.onRunChanged?.(after);
    logger.info(`Reconciled stale run ${run.id} as ${status}: ${lost}`);
    n++;
  }
  return n;
}
