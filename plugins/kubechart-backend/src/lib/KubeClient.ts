import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  V1Deployment,
  V1Pod,
  V1StatefulSet,
  V1DaemonSet,
  V1Job,
  V1ReplicaSet,
  CoreV1Event,
  HttpMethod,
  dumpYaml,
  loadYaml,
} from '@kubernetes/client-node';
import { InputError } from '@backstage/errors';
import yaml from 'js-yaml';
import {
  DEFAULT_IGNORED_ADDED_FIELDS,
  IgnoredAddedField,
  ManagedFieldsEntry,
  addedFields,
  readIgnoredAddedFields,
  runAppliers,
} from '../drift/fieldOwners';
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

/**
 * The generic object API with a create that sends the object as given: its own `create` serialises
 * through the typed model of the object's kind, which drops every field the model does not know (one
 * a newer cluster serves, say).
 */
class AsIsObjectApi extends KubernetesObjectApi {
  static makeAsIs(kubeConfig: KubeConfig): AsIsObjectApi {
    const client = kubeConfig.makeApiClient(AsIsObjectApi);
    client.setDefaultNamespace(kubeConfig);
    return client;
  }

  async createAsIs<T extends KubernetesObject>(
    obj: T,
    fieldManager: string,
  ): Promise<T> {
    const path = await this.specUriPath(obj, 'create');
    const request = this.configuration.baseServer.makeRequestContext(
      path,
      HttpMethod.POST,
    );
    request.setHeaderParam('Accept', 'application/json, */*;q=0.8');
    request.setHeaderParam('Content-Type', 'application/json');
    request.setQueryParam('fieldManager', fieldManager);
    request.setBody(JSON.stringify(obj));
    return this.requestPromise<T>(request);
  }

  /**
   * The path of an object, as client-node builds it for every call, except that a namespaced object
   * that names no namespace (none, or `""`) is refused: client-node would address it in its default
   * namespace (the kubeconfig context's, else `default`), which is not where the object was meant to
   * be, and with the identity of this client (the engine's, for drift). A caller places such an object
   * first (`effectiveNamespace`).
   */
  protected async specUriPath(
    spec: KubernetesObject,
    action: 'create' | 'delete' | 'patch' | 'read' | 'list' | 'replace',
  ): Promise<string> {
    if (action !== 'list' && spec.kind && !spec.metadata?.namespace) {
      const apiVersion = spec.apiVersion || 'v1';
      const resource = await this.resource(apiVersion, spec.kind);
      if (resource?.namespaced) {
        throw new InputError(
          `${spec.kind}/${
            spec.metadata?.name ?? '(unnamed)'
          } (${apiVersion}) is namespaced but names no namespace; KubeChart does not send it to a default namespace, so nothing was read or changed`,
        );
      }
    }
    return super.specUriPath(spec, action);
  }
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

/**
 * Whether `desired` and `actual` are the same value, with no key more or less on either side: scalars and
 * quantities compare as in {@link isSubset}; an absent key and one set to `undefined` are the same.
 */
export function isSameValue(
  desired: unknown,
  actual: unknown,
  key?: string,
  parent?: string,
): boolean {
  const isObject = (v: unknown) => v !== null && typeof v === 'object';
  if (!isObject(desired) || !isObject(actual))
    return (
      !isObject(desired) &&
      !isObject(actual) &&
      (desired === undefined) === (actual === undefined) &&
      isSubset(desired, actual, key, parent)
    );
  if (Array.isArray(desired) || Array.isArray(actual))
    return (
      Array.isArray(desired) &&
      Array.isArray(actual) &&
      desired.length === actual.length &&
      desired.every((d, i) => isSameValue(d, actual[i]))
    );
  const keys = (v: object) =>
    Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .map(([k]) => k);
  const mine = keys(desired as object);
  const theirs = keys(actual as object);
  return (
    mine.length === theirs.length &&
    mine.every(k =>
      isSameValue(
        (desired as Record<string, unknown>)[k],
        (actual as Record<string, unknown>)[k],
        k,
        key,
      ),
    )
  );
}

/** The ResourceList maps of a LimitRange item. */
const LIMIT_RANGE_MAPS = [
  'max',
  'min',
  'default',
  'defaultRequest',
  'maxLimitRequestRatio',
];

/**
 * The spec of an object as the API server stores it, for the kinds whose whole spec {@link KubeClient.ensure}
 * compares: the defaults it adds (a LimitRange Container item's `default` from `max`, its `defaultRequest` from
 * `default`, then `min`; a NetworkPolicy's `policyTypes` and its ports' `protocol`) and the empty maps and lists it
 * leaves out. Any other kind's spec is compared as written.
 */
export function specAsStored(obj: KubernetesObject & Record<string, any>) {
  const spec = structuredClone(obj.spec);
  if (!spec || typeof spec !== 'object') return spec;
  const dropEmpty = (o: Record<string, any>, keys: string[]) => {
    for (const k of keys) {
      const v = o[k];
      if (
        v === null ||
        (Array.isArray(v) && v.length === 0) ||
        (v && typeof v === 'object' && Object.keys(v).length === 0)
      )
        delete o[k];
    }
  };
  if (obj.apiVersion === 'v1' && obj.kind === 'ResourceQuota') {
    dropEmpty(spec, ['hard', 'scopes']);
  } else if (obj.apiVersion === 'v1' && obj.kind === 'LimitRange') {
    for (const item of Array.isArray(spec.limits) ? spec.limits : []) {
      if (item?.type === 'Container') {
        item.default = { ...item.max, ...item.default };
        item.defaultRequest = {
          ...item.min,
          ...item.default,
          ...item.defaultRequest,
        };
      }
      dropEmpty(item, LIMIT_RANGE_MAPS);
    }
  } else if (
    obj.apiVersion === 'networking.k8s.io/v1' &&
    obj.kind === 'NetworkPolicy'
  ) {
    const rules = (k: 'ingress' | 'egress') =>
      Array.isArray(spec[k]) ? (spec[k] as Array<Record<string, any>>) : [];
    if (!spec.policyTypes)
      spec.policyTypes = rules('egress').length
        ? ['Ingress', 'Egress']
        : ['Ingress'];
    for (const rule of [...rules('ingress'), ...rules('egress')]) {
      for (const port of Array.isArray(rule.ports) ? rule.ports : [])
        port.protocol = port.protocol ?? 'TCP';
      dropEmpty(rule, ['ports', 'from', 'to']);
    }
    dropEmpty(spec, ['ingress', 'egress']);
  }
  return spec;
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
 * The labels and annotations of `current` that drift reports as added to an object KubeChart owns
 * whole: those {@link addedFields} finds, as drift does (the same appliers, KubeChart's own requests
 * and helm's, see {@link runAppliers}, and the same `ignore` rules, `kubechart.drift.ignoreAddedFields`),
 * in `desired` as the API server stores it. A key Kubernetes itself, helm or KubeChart wrote, one an
 * ignore rule covers, and one stamped in the object's creation second (a mutating webhook's on
 * KubeChart's create) is not one of them. Each map is read key by key (`desired` setting none counts
 * as setting an empty one), so only the keys another manager wrote are named. Throws, saying why, when
 * the ownership cannot be read (see {@link addedFields}).
 */
function addedMetadataKeys(
  current: KubernetesObject,
  desired: KubernetesObject & Record<string, any>,
  appliers: readonly string[],
  ignore: readonly IgnoredAddedField[],
): Record<'labels' | 'annotations', Set<string>> {
  const found = { labels: new Set<string>(), annotations: new Set<string>() };
  const applied = {
    ...desired,
    metadata: {
      ...desired.metadata,
      labels: desired.metadata?.labels ?? {},
      annotations: desired.metadata?.annotations ?? {},
    },
    spec: specAsStored(desired),
  };
  let added;
  try {
    added = addedFields(
      current.metadata?.managedFields as ManagedFieldsEntry[] | undefined,
      applied,
      current as Record<string, any>,
      { appliers, ignore: readIgnoredAddedFields(ignore) },
    );
  } catch (e) {
    throw new Error(
      `${desired.kind}/${
        desired.metadata?.name
      }: which labels and annotations other field managers added cannot be told: ${
        (e as Error).message
      }`,
    );
  }
  for (const { segments } of added) {
    const [top, map, key] = segments;
    if (
      segments.length === 3 &&
      'field' in top &&
      top.field === 'metadata' &&
      'field' in map &&
      (map.field === 'labels' || map.field === 'annotations') &&
      'field' in key
    )
      found[map.field].add(key.field);
  }
  return found;
}

/**
 * The Kubernetes calls the engine makes, on one cluster. Writes made while executing a run first
 * check that the run still holds its lease (see ../engine/lease).
 */
export class KubeClient {
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly batch: BatchV1Api;
  readonly objects: AsIsObjectApi;

  constructor(
    readonly kubeConfig: KubeConfig,
    readonly fieldManager = 'kubechart',
  ) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.apps = kubeConfig.makeApiClient(AppsV1Api);
    this.batch = kubeConfig.makeApiClient(BatchV1Api);
    this.objects = AsIsObjectApi.makeAsIs(kubeConfig);
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
   * differs, and does nothing when it already matches. It matches when the live object has every field
   * `obj` sets; with `wholeSpec`, for an object KubeChart owns whole, only when its `spec` is `obj`'s as
   * the API server stores it (see {@link specAsStored}) and drift finds no label or annotation another
   * field manager added (see {@link addedMetadataKeys}; `ignoreAdded` is drift's
   * `kubechart.drift.ignoreAddedFields`, default {@link DEFAULT_IGNORED_ADDED_FIELDS}): a key anyone
   * added is taken out again. What drift calls in sync is kept.
   */
  async ensure(
    obj: KubernetesObject,
    options: {
      wholeSpec?: boolean;
      ignoreAdded?: readonly IgnoredAddedField[];
    } = {},
  ): Promise<ApplyOutcome> {
    let current = await this.readForChange(obj);
    if (!current) {
      try {
        await this.change('created', obj, () =>
          this.objects.create(
            toTyped(obj),
            undefined,
            undefined,
            this.fieldManager,
          ),
        );
        return 'created';
      } catch (e) {
        // Created by another writer since it was read (two runs ensuring the same Namespace at
        // once): it is ensured as it now is, once. A 409 is no change of this run.
        if (kubeStatusCode(e) !== 409) throw e;
        current = await this.readForChange(obj);
        if (!current) throw e;
      }
    }
    const foreign = options.wholeSpec
      ? addedMetadataKeys(
          current,
          obj,
          runAppliers(this.fieldManager),
          options.ignoreAdded ?? DEFAULT_IGNORED_ADDED_FIELDS,
        )
      : { labels: new Set<string>(), annotations: new Set<string>() };
    if (options.wholeSpec) {
      const { spec: _spec, ...rest } = obj as KubernetesObject &
        Record<string, any>;
      if (
        isSubset(comparable(rest), current) &&
        isSameValue(specAsStored(obj), (current as any).spec) &&
        foreign.labels.size === 0 &&
        foreign.annotations.size === 0
      )
        return 'unchanged';
    } else if (isSubset(comparable(obj as any), current)) return 'unchanged';
    const kept = (map: 'labels' | 'annotations') =>
      Object.fromEntries(
        Object.entries(current.metadata?.[map] ?? {}).filter(
          ([k]) => !foreign[map].has(k),
        ),
      );
    const merged = {
      ...current,
      ...obj,
      metadata: {
        ...current.metadata,
        labels: { ...kept('labels'), ...obj.metadata?.labels },
        annotations: {
          ...kept('annotations'),
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

  /**
   * Creates an object as a change of the run (see `change`), sent as given (its wire form, as a
   * manifest states it), not through client-node's typed models, which drop the fields they do not
   * know; answers it as the API server stored it (its uid). An object of its kind and name that
   * exists is a 409 from the API server.
   */
  async createAsIs<T extends KubernetesObject>(obj: T): Promise<T> {
    return this.change('created', obj, async () =>
      toWire<T>(await this.objects.createAsIs(obj, this.fieldManager)),
    );
  }

  /**
   * Deletes an object as a change of the run (see `change`); `absent` when it was not there. With
   * `preconditions` the API server deletes it only while its uid (and resourceVersion) are those, and
   * answers 409 Conflict otherwise, which is thrown; `propagationPolicy` as DeleteOptions take it.
   */
  async delete(
    obj: KubernetesObject,
    options: {
      preconditions?: { uid?: string; resourceVersion?: string };
      propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
    } = {},
  ): Promise<'deleted' | 'absent'> {
    const body =
      options.preconditions || options.propagationPolicy
        ? {
            ...(options.propagationPolicy
              ? { propagationPolicy: options.propagationPolicy }
              : {}),
            ...(options.preconditions
              ? { preconditions: options.preconditions }
              : {}),
          }
        : undefined;
    try {
      await this.change('deleted', obj, () =>
        this.objects.delete(
          toTyped(obj),
          undefined,
          undefined,
          undefined,
          undefined,
          undefined,
          body,
        ),
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
    const [
      deployments,
      statefulSets,
      daemonSets,
      jobs,
      pods,
      events,
      replicaSets,
    ] = await Promise.all([
      this.apps.listNamespacedDeployment({ namespace }),
      this.apps.listNamespacedStatefulSet({ namespace }),
      this.apps.listNamespacedDaemonSet({ namespace }),
      // Whether a Job failed is told by the Job alone: one that cannot be listed fails the wait.
      this.batch.listNamespacedJob({ namespace }),
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
      jobs: jobs.items,
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
  jobs: V1Job[];
  pods: V1Pod[];
  warnings: CoreV1Event[];
  /** The namespace's ReplicaSets, when they could be listed. */
  replicaSets?: V1ReplicaSet[];
};
