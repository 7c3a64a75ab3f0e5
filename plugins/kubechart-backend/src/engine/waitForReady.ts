import { KubeClient } from '../lib/KubeClient';
import { describeKubeError, isUnreachable } from '../lib/kubeErrors';
import {
  NamespaceReadiness,
  describeNotReady,
  evaluateNamespace,
} from '../lib/readiness';
import { RunFailure } from './errors';
import { currentRunSignal } from './lease';
import { RunContext } from './RunContext';

const fmt = (ms: number) => {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m ${s % 60}s` : `${s}s`;
};

/**
 * Waits until the rollout of every workload (of one release, of the namespace, or the `objects` a
 * run applied) is complete, as `kubectl rollout status` decides: new spec observed, every replica
 * updated, no old replica left, every new replica available; a Job until it has completed, a bare
 * Pod until it is Ready or has completed (see ../lib/readiness). Fails at once when a Job or Pod has
 * failed (for good), early when a pod keeps failing (CrashLoopBackOff, ImagePullBackOff…) for
 * `failFastMs`, and on the deadline with the elapsed time and what is not ready. Tolerates short API
 * outages.
 */
export async function waitForReady(options: {
  client: KubeClient;
  cluster: string;
  namespace: string;
  release?: string;
  objects?: ReadonlyArray<{ kind: string; name: string }>;
  timeoutMs: number;
  pollIntervalMs: number;
  failFastMs: number;
  ctx: RunContext;
  step: string;
  signal?: AbortSignal;
}): Promise<NamespaceReadiness> {
  const { client, namespace, ctx, step } = options;
  const start = Date.now();
  const failingSince = new Map<string, number>();
  let lastProgress = '';
  let apiErrorSince: number | undefined;
  for (;;) {
    let readiness: NamespaceReadiness;
    try {
      readiness = evaluateNamespace(await client.snapshot(namespace), {
        release: options.release,
        objects: options.objects,
      });
      apiErrorSince = undefined;
    } catch (e) {
      const now = Date.now();
      apiErrorSince ??= now;
      // A short blip is tolerated; a persistent outage fails the run with what we know.
      if (
        !isUnreachable(e) ||
        now - apiErrorSince > Math.max(3 * options.pollIntervalMs, 10_000) ||
        now - start > options.timeoutMs
      ) {
        throw new RunFailure(
          `${describeKubeError(e, options.cluster)} (after waiting ${fmt(
            now - start,
          )} for workloads in ${namespace})`,
        );
      }
      ctx.log(
        `${describeKubeError(e, options.cluster)}; retrying`,
        'warn',
        step,
      );
      await new Promise(r => setTimeout(r, options.pollIntervalMs));
      continue;
    }
    const progress = readiness.workloads
      .map(
        w =>
          `${w.kind} ${w.name} ${w.ready}/${w.desired}${
            w.waitingFor ? ` (waiting for ${w.waitingFor})` : ''
          }${w.problems.length ? ` (${w.problems[0]})` : ''}`,
      )
      .join(', ');
    if (progress !== lastProgress) {
      ctx.log(
        progress ? `waiting: ${progress}` : 'no workloads to wait for',
        'info',
        step,
      );
      lastProgress = progress;
    }
    if (readiness.allReady) return readiness;
    const now = Date.now();
    /** Why the wait fails on `w`, which `is failing` or `failed` (for good). */
    const failure = (w: NamespaceReadiness['workloads'][number], is: string) =>
      new RunFailure(
        `${w.kind} ${w.name}${
          w.release ? ` of release ${w.release}` : ''
        } ${is} after ${fmt(now - start)}: ${w.problems.join('; ')}${
          readiness.warnings.length
            ? `. Warning events: ${[...new Set(readiness.warnings)]
                .slice(0, 3)
                .join(' | ')}`
            : ''
        }`,
      );
    for (const w of readiness.workloads) {
      const key = `${w.kind}/${w.name}`;
      if (w.failing && !w.isReady) {
        // A failed Job or Pod never recovers: there is nothing to wait for.
        if (w.failedFinally) throw failure(w, 'failed');
        if (!failingSince.has(key)) failingSince.set(key, now);
        if (now - failingSince.get(key)! >= options.failFastMs) {
          throw failure(w, 'is failing');
        }
      } else {
        failingSince.delete(key);
      }
    }
    if (now - start >= options.timeoutMs) {
      throw new RunFailure(
        `Timed out after ${fmt(
          now - start,
        )} waiting for workloads in ${namespace} to become Ready: ${describeNotReady(
          readiness,
        )}`,
      );
    }
    (options.signal ?? currentRunSignal())?.throwIfAborted();
    await new Promise(r => setTimeout(r, options.pollIntervalMs));
  }
}
