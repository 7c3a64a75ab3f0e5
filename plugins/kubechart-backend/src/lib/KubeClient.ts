import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  V1Deployment,
  V1Pod,
  V1StatefulSet,
  V1DaemonSet,
  V1ReplicaSet,
  CoreV1Event,
  dumpYaml,
  loadYaml,
} from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { guardCurrentRun, noteClusterChange } from '../engine/lease';
import { isNotFound, kubeStatusCode } from './kubeErrors';
import { isQuantityField, sameQuantity } from './quantity';

/**
 * The generic object API serialises through client-node's typed models, which name some fields
 * differently (`_default`, `_from`); plain wire-form objects must go through `loadYaml` first or
 * those fields are silently dropped.
 */
export function toTyped<T extends KubernetesObject>(obj: T): T {
  return loadYaml<T>(JSON.stringify(obj));
}

/** The wire (JSON) form of a typed object returned by client-node. */
export function toWire<T = any>(obj: KubernetesObject): T {
  return yaml.load(dumpYaml(obj)) as T;
}

/** A namespace that is being deleted: nothing can be provisioned into it until it is gone. */
export class NamespaceTerminatingError extends Error {
  constructor(readonly namespace: string) {
    super(
      `namespace ${namespace} is terminating; wait until it is gone and retry`,
    );
    this.name = 'NamespaceTerminatingError';
  }
}

/** What a namespace that is being deleted still waits for (its status conditions), as text. */
function terminationDetail(ns: any): string {
  const conditions: any[] = ns?.status?.conditions ?? [];
  return conditions
    .filter(c => c.status === 'True' && c.message)
    .map(c => c.message)
    .join('; ');
}

/** Outcome of a check-then-act step. */
export type ApplyOutcome = 'created' | 'updated' | 'unchanged';

/**
 * Whether every field in `desired` has the same value in `actual` (extra fields in actual are fine),
 * except that an empty label selector (`podSelector: {}`, which selects everything) matches only an
 * empty one: any key in the actual selector narrows what it selects. A resource quantity (see
 * {@link isQuantityField}) matches the same amount in another form, as the API server stores it
 * canonically (`1000m` as `1`): otherwise every run would rewrite a quota set as `1000m`. `key` is
 * the name `desired` is stored under, `parent` the name of the map holding it.
 */
export function isSubset(
  desired: unknown,
  actual: unknown,
  key?: string,
  parent?: string,
): boolean {
  if (desired === null || typeof desired !== 'object') {
    return (
      desired === actual ||
      String(desired) === String(actual) ||
      (isQuantityField(key, parent) && sameQuantity(desired, actual))
    );
  }
  if (
    key !== undefined &&
    /selector$/i.test(key) &&
    !Array.isArray(desired) &&
    Object.keys(desired).length === 0
  ) {
    return (
      !!actual &&
      typeof actual === 'object' &&
      !Array.isArray(actual) &&
      Object.keys(actual).length === 0
    );
  }
  if (Array.isArray(desired)) {
    return (
      Array.isArray(actual) &&
      desired.length === actual.length &&
      desired.every((d, i) => isSubset(d, actual[i]))
    );
  }
  if (!actual || typeof actual !== 'object') return false;
  return Object.entries(desired as Record<string, unknown>).every(([k, v]) =>
    isSubset(v, (actual as Record<string, unknown>)[k], k, key),
  );
}

/** Parts of an object that a check compares (not status or server-set metadata). */
function comparable(obj: KubernetesObject & Record<string, any>) {
  const { apiVersion: _a, kind: _k, metadata, status: _s, ...rest } = obj;
  const meta: Record<string, unknown> = {};
  if (metadata?.labels) meta.labels = metadata.labels;
  if (metadata?.annotations) meta.annotations = metadata.annotations;
  return { metadata: meta, ...rest };
}

/**
 * The Kubernetes calls the engine makes, on one cluster. Writes made while executing a run first
 * check that the run still holds its lease (see ../engine/lease).
 */
export class KubeClient {
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly objects: KubernetesObjectApi;

  constructor(
    readonly kubeConfig: KubeConfig,
    readonly fieldManager = 'kubechart',
  ) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.apps = kubeConfig.makeApiClient(AppsV1Api);
    this.objects = KubernetesObjectApi.makeApiClient(kubeConfig);
  }

  async read<T extends KubernetesObject>(
    obj: KubernetesObject,
  ): Promise<T | undefined> {
    try {
      return toWire<T>(await this.objects.read(obj as any));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /** Reads an object that is about to be changed; a Namespace being deleted is refused. */
  private async readForChange(
    obj: KubernetesObject,
  ): Promise<KubernetesObject | undefined> {
    const current = await this.read(obj);
    if (obj.kind === 'Namespace' && current?.metadata?.deletionTimestamp) {
      throw new NamespaceTerminatingError(obj.metadata!.name!);
    }
    return current;
  }

  /**
   * A write of a run: first checks the run still holds its lease, then notes the change as the run's
   * (also when the write failed without an answer from the API server, as it may have gone through).
   */
  private async change<T>(
    what: string,
    obj: KubernetesObject,
    write: () => Promise<T>,
  ): Promise<T> {
    await guardCurrentRun();
    const { kind, metadata } = obj;
    const change = `${what} ${kind}/${metadata?.name}${
      metadata?.namespace ? ` in ${metadata.namespace}` : ''
    }`;
    try {
      const result = await write();
      noteClusterChange(change);
      return result;
    } catch (e) {
      const code = kubeStatusCode(e);
      if (code === undefined || code >= 500)
        noteClusterChange(`${change} (outcome not known)`);
      throw e;
    }
  }

  /** Server-side apply, forced: kubechart owns the fields it sets. */
  async apply<T extends KubernetesObject>(
    obj: T,
    what = 'applied',
  ): Promise<T> {
    return this.change(what, obj, async () =>
      toWire<T>(
        await this.objects.patch(
          toTyped(obj),
          undefined,
          undefined,
          this.fieldManager,
          true,
          PatchStrategy.ServerSideApply,
        ),
      ),
    );
  }

  /**
   * Reads first; creates the object when absent, replaces it (keeping its resourceVersion) when it
   * differs, and does nothing when it already matches.
   */
  async ensure(obj: KubernetesObject): Promise<ApplyOutcome> {
    const current = await this.readForChange(obj);
    if (!current) {
      await this.change('created', obj, () =>
        this.objects.create(
          toTyped(obj),
          undefined,
          undefined,
          this.fieldManager,
        ),
      );
      return 'created';
    }
    if (isSubset(comparable(obj as any), current)) return 'unchanged';
    const merged = {
      ...current,
      ...obj,
      metadata: {
        ...current.metadata,
        labels: { ...current.metadata?.labels, ...obj.metadata?.labels },
        annotations: {
          ...current.metadata?.annotations,
          ...obj.metadata?.annotations,
        },
      },
    };
    await this.change('updated', obj, () =>
      this.objects.replace(
        toTyped(merged),
        undefined,
        undefined,
        this.fieldManager,
      ),
    );
    return 'updated';
  }

  /** Reads first; server-side applies only when something differs. */
  async applyIfChanged(obj: KubernetesObject): Promise<ApplyOutcome> {
    const current = await this.readForChange(obj);
    if (current && isSubset(comparable(obj as any), current))
      return 'unchanged';
    await this.apply(obj, current ? 'updated' : 'created');
    return current ? 'updated' : 'created';
  }

  /** Deletes an object as a change of the run (see `change`); `absent` when it was not there. */
  async delete(obj: KubernetesObject): Promise<'deleted' | 'absent'> {
    try {
      await this.change('deleted', obj, () =>
        this.objects.delete(toTyped(obj)),
      );
      return 'deleted';
    } catch (e) {
      if (isNotFound(e)) return 'absent';
      throw e;
    }
  }

  async deleteNamespace(name: string): Promise<'deleted' | 'absent'> {
    try {
      await this.change(
        'deleted',
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
        () => this.core.deleteNamespace({ name }),
      );
      return 'deleted';
    } catch (e) {
      if (isNotFound(e)) return 'absent';
      throw e;
    }
  }

  /** `Active`, `Terminating` (being deleted) or `absent`. */
  async namespacePhase(
    name: string,
  ): Promise<'Active' | 'Terminating' | 'absent'> {
    try {
      const ns = await this.core.readNamespace({ name });
      return ns.metadata?.deletionTimestamp ||
        ns.status?.phase === 'Terminating'
        ? 'Terminating'
        : 'Active';
    } catch (e) {
      if (isNotFound(e)) return 'absent';
      throw e;
    }
  }

  /**
   * Whether a namespace exists and can take new objects. Throws {@link NamespaceTerminatingError}
   * for a namespace being deleted: it exists, but anything created in it is refused or lost.
   */
  async namespaceExists(name: string): Promise<boolean> {
    const phase = await this.namespacePhase(name);
    if (phase === 'Terminating') throw new NamespaceTerminatingError(name);
    return phase === 'Active';
  }

  /**
   * Waits until a deleted namespace is gone, calling `onProgress` every `progressEveryMs` (default five
   * polls, at least a second) with the elapsed time and what the namespace still waits for. Resolves false on the deadline.
   */
  async waitForNamespaceGone(
    name: string,
    options: {
      timeoutMs: number;
      pollIntervalMs: number;
      progressEveryMs?: number;
      onProgress?: (elapsedMs: number, detail: string) => void;
      signal?: AbortSignal;
    },
  ): Promise<boolean> {
    const start = Date.now();
    let lastProgress = start;
    for (;;) {
      let ns: any;
      try {
        ns = await this.core.readNamespace({ name });
      } catch (e) {
        if (isNotFound(e)) return true;
        throw e;
      }
      const now = Date.now();
      if (now - start >= options.timeoutMs) return false;
      if (
        now - lastProgress >=
        (options.progressEveryMs ?? Math.max(1000, 5 * options.pollIntervalMs))
      ) {
        lastProgress = now;
        let detail = terminationDetail(ns);
        if (!detail) {
          const pods = await this.core
            .listNamespacedPod({ namespace: name })
            .catch(() => undefined);
          if (pods?.items.length) detail = `${pods.items.length} pod(s) left`;
        }
        options.onProgress?.(now - start, detail);
      }
      options.signal?.throwIfAborted();
      await new Promise(r =>
        setTimeout(
          r,
          Math.min(
            options.pollIntervalMs,
            Math.max(0, options.timeoutMs - (now - start)),
          ),
        ),
      );
    }
  }

  /** Workloads, pods and warning events of a namespace. */
  async snapshot(namespace: string): Promise<NamespaceSnapshot> {
    const [deployments, statefulSets, daemonSets, pods, events, replicaSets] =
      await Promise.all([
        this.apps.listNamespacedDeployment({ namespace }),
        this.apps.listNamespacedStatefulSet({ namespace }),
        this.apps.listNamespacedDaemonSet({ namespace }),
        this.core.listNamespacedPod({ namespace }),
        this.core
          .listNamespacedEvent({ namespace, fieldSelector: 'type=Warning' })
          .catch(() => ({ items: [] as CoreV1Event[] })),
        // Which pods belong to a Deployment's current revision; without them (a role that may
        // not list ReplicaSets) every pod of the Deployment counts, as before.
        this.apps
          .listNamespacedReplicaSet({ namespace })
          .then(list => list.items)
          .catch(() => undefined),
      ]);
    return {
      deployments: deployments.items,
      statefulSets: statefulSets.items,
      daemonSets: daemonSets.items,
      pods: pods.items,
      warnings: events.items.filter(e => e.type === 'Warning'),
      ...(replicaSets ? { replicaSets } : {}),
    };
  }
}

/** What the engine looks at while waiting. */
export type NamespaceSnapshot = {
  deployments: V1Deployment[];
  statefulSets: V1StatefulSet[];
  daemonSets: V1DaemonSet[];
  pods: V1Pod[];
  warnings: CoreV1Event[];
  /** The namespace's ReplicaSets, when they could be listed. */
  replicaSets?: V1ReplicaSet[];
};
