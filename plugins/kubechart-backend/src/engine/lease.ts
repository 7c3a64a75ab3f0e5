import { LoggerService } from '@backstage/backend-plugin-api';
import { HelmCli } from '@kubechart/plugin-kubechart-node';
import { AsyncLocalStorage } from 'node:async_hooks';
import { LeaseLostError, RunLease, RunStore } from '../database/RunStore';
import { isRecordTakenError } from '../lib/helmRelease';

type Held = {
  lease: RunLease;
  controller: AbortController;
  renewedAt: number;
  owner: RunLeases;
  /** What the run changed in clusters so far, in words (see {@link noteClusterChange}). */
  changes: string[];
};

/** The run whose work the current async context does (set by {@link RunLeases.hold}). */
const scope = new AsyncLocalStorage<Held>();

/**
 * Before a side effect on a cluster: throws unless the run the current async context executes (if
 * any) still holds its lease. The engine's Kubernetes writes (KubeClient) call it.
 */
export async function guardCurrentRun(): Promise<void> {
  await scope.getStore()?.owner.guard();
}

/**
 * Records a change the run the current async context executes made to a cluster (a write that went
 * through, or may have), e.g. "created Namespace/tenant-a". Outside a run, does nothing.
 */
export function noteClusterChange(change: string): void {
  scope.getStore()?.changes.push(change);
}

/** The changes the current run made to clusters so far (a live list); undefined outside a run. */
export function currentRunChanges(): readonly string[] | undefined {
  return scope.getStore()?.changes;
}

/** The abort signal of the run the current async context executes, if any. */
export function currentRunSignal(): AbortSignal | undefined {
  return scope.getStore()?.controller.signal;
}

/**
 * The leases this backend instance holds on the runs it executes. Renews them (the heartbeat),
 * and stops a run (aborts its signal, which kills its helm process) as soon as its lease is lost:
 * another instance reconciled it, or no heartbeat could be recorded for half the stale period, so
 * that the run stops here before another instance may reconcile it.
 */
export class RunLeases {
  private readonly held = new Map<string, Held>();
  /** Runs that stopped without recording their end: their locks are released once reconciled. */
  private readonly unreleased = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private renewing = false;

  constructor(
    private readonly options: {
      store: RunStore;
      logger: LoggerService;
      heartbeatIntervalMs: number;
      staleAfterMs: number;
      releaseLocksAfterMs: number;
    },
  ) {}

  /** Executes `fn` under the lease; helm and Kubernetes writes inside it are fenced by it. */
  async hold<T>(
    lease: RunLease,
    fn: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const held: Held = {
      lease,
      controller: new AbortController(),
      renewedAt: Date.now(),
      owner: this,
      changes: [],
    };
    this.held.set(lease.runId, held);
    this.ensureTimer();
    try {
      return await scope.run(held, () => fn(held.controller.signal));
    } finally {
      this.held.delete(lease.runId);
    }
  }

  /** The lease of a run this instance executes. */
  leaseOf(runId: string): RunLease | undefined {
    const current = scope.getStore();
    if (current?.lease.runId === runId) return current.lease;
    return this.held.get(runId)?.lease;
  }

  /**
   * Before a side effect (helm install, a Kubernetes write): throws unless the current run still
   * holds its lease in the database. Outside a run, does nothing.
   */
  async guard(): Promise<void> {
    const held = scope.getStore();
    if (!held) return;
    held.controller.signal.throwIfAborted();
    try {
      await this.options.store.verifyLease(held.lease);
    } catch (e) {
      if (e instanceof LeaseLostError) held.controller.abort(e);
      throw e;
    }
  }

  /** A run stopped without recording its end (lease lost, database unreachable): release its locks later. */
  releaseLater(runId: string) {
    this.unreleased.set(runId, Date.now());
    this.options.store
      .releaseLocks(runId)
      .then(released => released && this.unreleased.delete(runId))
      .catch(() => undefined); // retried with the next heartbeat
    this.ensureTimer();
  }

  private ensureTimer() {
    if (this.timer) return;
    // Heartbeats belong to runs this process executes; periodic cluster-wide work goes through the scheduler.
    this.timer = setInterval(
      () => this.tick(),
      this.options.heartbeatIntervalMs,
    );
    this.timer.unref();
  }

  private tick() {
    const { logger, staleAfterMs, heartbeatIntervalMs } = this.options;
    const now = Date.now();
    // Half the stale period leaves the other half for clock skew and the kill; never less than two
    // missed heartbeats, so a slow heartbeat setting does not stop healthy runs.
    const selfFenceMs = Math.max(staleAfterMs / 2, 2 * heartbeatIntervalMs);
    for (const h of this.held.values()) {
      if (!h.controller.signal.aborted && now - h.renewedAt > selfFenceMs) {
        const s = Math.round((now - h.renewedAt) / 1000);
        logger.warn(
          `Stopping run ${h.lease.runId}: no heartbeat could be recorded for ${s}s`,
        );
        h.controller.abort(
          new LeaseLostError(
            h.lease.runId,
            `no heartbeat could be recorded for ${s}s; stopped before another instance reconciles it`,
          ),
        );
      }
    }
    if (this.renewing) return; // a slow database: the check above still stops runs in time
    this.renewing = true;
    this.renew()
      .catch(e => logger.warn(`Heartbeat failed: ${e}`))
      .finally(() => {
        this.renewing = false;
        if (this.held.size === 0 && this.unreleased.size === 0 && this.timer) {
          clearInterval(this.timer);
          this.timer = undefined;
        }
      });
  }

  private async renew() {
    const { store, releaseLocksAfterMs } = this.options;
    const held = [...this.held.values()].filter(
      h => !h.controller.signal.aborted,
    );
    if (held.length) {
      const now = Date.now();
      const lost = new Set(await store.renewLeases(held.map(h => h.lease)));
      for (const h of held) {
        if (!lost.has(h.lease.runId)) h.renewedAt = now;
        else
          h.controller.abort(
            new LeaseLostError(
              h.lease.runId,
              'another backend instance reconciled it',
            ),
          );
      }
    }
    for (const [runId, since] of this.unreleased) {
      if (
        (await store.releaseLocks(runId)) ||
        Date.now() - since > releaseLocksAfterMs
      )
        this.unreleased.delete(runId);
    }
  }
}

const HELM_WRITES = new Set(['upgradeInstall', 'rollback', 'uninstall']);
const HELM_CALLS = new Set([
  ...HELM_WRITES,
  'template',
  'renderHooks',
  'status',
  'history',
]);

/** A helm write in words, e.g. "installed release web revision 2 in tenant-a". */
function describeHelmWrite(prop: string, options: any, result?: any): string {
  const where = `release ${options?.release} in ${options?.namespace}`;
  if (result === undefined) return `helm ${prop} of ${where}`;
  if (prop === 'upgradeInstall')
    return `installed release ${options?.release} revision ${result?.revision} in ${options?.namespace}`;
  if (prop === 'rollback')
    return `rolled back release ${options?.release} to revision ${options?.revision} in ${options?.namespace}`;
  return `uninstalled ${where}`;
}

/**
 * A HelmCli whose calls inside a run carry the run's abort signal (a lost lease kills helm), and
 * whose writes first check that the run still holds its lease. Its writes are noted as the run's
 * changes ({@link noteClusterChange}); one that failed too, unless the post-render gate refused it
 * or helm found the name of its new record taken (helm then applied nothing), as it may have
 * applied part of the release.
 */
export function fencedHelm(helm: HelmCli, leases: RunLeases): HelmCli {
  return new Proxy(helm, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      if (typeof prop !== 'string' || !HELM_CALLS.has(prop))
        return value.bind(target);
      return async (options: any, ...rest: unknown[]) => {
        const write = HELM_WRITES.has(prop);
        if (write) await leases.guard();
        const signal = currentRunSignal();
        const refusals = options?.postRenderer?.refusals?.length ?? 0;
        try {
          const result = await value.call(
            target,
            signal && options && typeof options === 'object'
              ? { ...options, signal }
              : options,
            ...rest,
          );
          // `uninstall` answers false when there was no release to remove.
          if (write && result !== false)
            noteClusterChange(describeHelmWrite(prop, options, result ?? {}));
          return result;
        } catch (e) {
          if (
            write &&
            (options?.postRenderer?.refusals?.length ?? 0) === refusals &&
            !isRecordTakenError(e)
          )
            noteClusterChange(
              `${describeHelmWrite(
                prop,
                options,
              )} failed; what it applied is not known`,
            );
          throw e;
        }
      };
    },
  });
}

/** A RunStore whose run updates and events, for runs this instance executes, are fenced by their lease. */
export function fencedStore(store: RunStore, leases: RunLeases): RunStore {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'updateRun') {
        return (id: string, patch: any, options: any = {}) =>
          target.updateRun(id, patch, {
            lease: leases.leaseOf(id),
            ...options,
          });
      }
      if (prop === 'appendEvents') {
        return (id: string, events: any, options: any = {}) =>
          target.appendEvents(id, events, {
            lease: leases.leaseOf(id),
            ...options,
          });
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
