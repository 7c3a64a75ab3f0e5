import {
  CoreV1Event,
  KubeConfig,
  KubernetesObject,
  V1ContainerStatus,
  V1DaemonSet,
  V1Deployment,
  V1Job,
  V1JobCondition,
  V1ObjectMeta,
  V1Pod,
  V1StatefulSet,
} from '@kubernetes/client-node';
import { createTextRedactor } from '@kubechart/plugin-kubechart-node';
import { listInPages } from './listInPages';
import { ListPage } from './listPages';
import { SlicedListWatch } from './slicedInformer';
import { makeWatchRequest } from './watchRequest';

/**
 * An informer whose cache holds `trim(object)` instead of the whole object: the list (read in pages,
 * each trimmed as it arrives) and every watch event pass through `trim` before the cache sees them
 * (client-node's `makeInformer` has no transform, unlike client-go's `SetTransform`).
 */
export function makeTrimmedInformer<T extends KubernetesObject>(
  kubeConfig: KubeConfig,
  path: string,
  listPage: ListPage<T>,
  trim: (object: T) => T,
  fieldSelector?: string,
  /** How long its watches last (see {@link SlicedListWatch}). */
  watchBounds: {
    minWatchTimeoutSeconds?: number;
    watchDeadlineGraceMs?: number;
  } = {},
): SlicedListWatch<T> {
  // BOOKMARK and ERROR events carry no object of the kind: the informer trims ADDED, MODIFIED and
  // DELETED objects only.
  return new SlicedListWatch<T>(
    path,
    makeWatchRequest(kubeConfig),
    // An unchanged object is not trimmed again: the list maps it to the cached one.
    cached => listInPages(listPage, item => cached(item) ?? trim(item)),
    { fieldSelector, map: trim, ...watchBounds },
  );
}

const scrub = createTextRedactor();

/**
 * The longest message (UTF-8 bytes, as the cluster sent it) health keeps. A tenant may write an Event
 * of 1.5 MB, and the kubelet quotes image names of any length into events and pod status: kept whole,
 * 20 such events held hundreds of MB and made every health answer tens of MB.
 */
export const MAX_MESSAGE_BYTES = 1024;

/**
 * A message of the cluster as health keeps it: the secrets a run's failure reason hides in the same
 * text hidden too (`key=value` pairs of secret-looking keys, a URL's password, bearer tokens; see
 * `createTextRedactor` of `@kubechart/plugin-kubechart-node`), as `***`. A kubelet's probe failure
 * quotes the probe's output, an admission webhook's refusal what it was given. Applied once, as an
 * object enters the cache; empty and absent messages are left as they are.
 *
 * A message longer than {@link MAX_MESSAGE_BYTES} is not kept at all, only a note of its length: a
 * part of it cut before scrubbing could end in half a secret the scrub no longer recognises, and
 * scrubbing the whole of it first would cost the time of a megabyte's scan for text that is then
 * thrown away.
 */
export function clusterMessage<M extends string | undefined>(message: M): M {
  if (!message) return message;
  // Counted natively, without a copy: the note says exactly how long the message was.
  const bytes = Buffer.byteLength(message);
  if (bytes > MAX_MESSAGE_BYTES)
    return `(a message of ${bytes} bytes, not kept: health keeps messages of up to ${MAX_MESSAGE_BYTES} bytes)` as M;
  return scrub(message) as M;
}

type WithConditions = KubernetesObject & {
  status?: { conditions?: Array<{ message?: string }> };
};

/**
 * A workload or node with the secrets in its conditions' messages hidden ({@link clusterMessage}):
 * the object itself when none holds one (the cache keeps what the informer gives), else a copy
 * that shares everything but its conditions. The object given is not changed.
 */
export function redactConditionMessages<T extends WithConditions>(
  object: T,
): T {
  const conditions = object.status?.conditions;
  if (!conditions?.length) return object;
  let changed = false;
  const redacted = conditions.map(c => {
    const message = clusterMessage(c.message);
    if (message === c.message) return c;
    changed = true;
    return { ...c, message };
  });
  return changed
    ? { ...object, status: { ...object.status, conditions: redacted } }
    : object;
}

const trimStatus = (s: V1ContainerStatus): V1ContainerStatus =>
  ({
    name: s.name,
    ready: s.ready,
    restartCount: s.restartCount,
    ...(s.state?.waiting
      ? {
          state: {
            waiting: {
              reason: s.state.waiting.reason,
              message: clusterMessage(s.state.waiting.message),
            },
          },
        }
      : {}),
  } as V1ContainerStatus);

/**
 * The most bytes of a pod's labels (keys and values) health keeps. Which of them a workload's selector
 * reads is not known when the pod enters the cache, so they are kept whole up to this, which no pod a
 * controller makes comes near; a tenant may give a pod tens of thousands.
 */
export const MAX_POD_LABEL_BYTES = 16 * 1024;

/** A pod's labels, when they are within {@link MAX_POD_LABEL_BYTES}. */
function podLabels(
  labels: Record<string, string> | undefined,
): Record<string, string> | undefined {
  if (!labels) return labels;
  let bytes = 0;
  for (const [key, value] of Object.entries(labels)) {
    bytes += key.length + String(value).length;
    // Not guessed at: a pod whose labels are not kept is selected by no workload, so its workload
    // counts it as not ready rather than a part of its labels deciding what selects it.
    if (bytes > MAX_POD_LABEL_BYTES) return undefined;
  }
  return labels;
}

/**
 * What cluster and tenant health read of a pod, nothing more: name, namespace, labels (up to
 * {@link MAX_POD_LABEL_BYTES}) and version, the Helm release annotation only (a pod Helm made
 * itself) and its controller only when it is a Job (tenant health attributes a failing pod to the
 * Job's release); the node it is bound to (utilisation counts the requests on nodes that take
 * pods); each container's resource requests; phase, conditions and container states (waiting
 * reasons, restarts), their messages redacted and bounded ({@link clusterMessage}). Images, env,
 * volumes, managed fields, other annotations and owners are dropped.
 */
export function trimPod(pod: V1Pod): V1Pod {
  const { metadata, spec, status } = pod;
  return {
    metadata: {
      name: metadata?.name,
      namespace: metadata?.namespace,
      uid: metadata?.uid,
      resourceVersion: metadata?.resourceVersion,
      labels: podLabels(metadata?.labels),
      ...releaseAnnotation(metadata),
      ...batchController(metadata, 'Job'),
    },
    spec: {
      ...(spec?.nodeName ? { nodeName: objectName(spec.nodeName) } : {}),
      containers: (spec?.containers ?? []).map(c => ({
        name: c.name,
        resources: c.resources?.requests
          ? { requests: c.resources.requests }
          : undefined,
      })),
    },
    status: {
      phase: status?.phase,
      conditions: status?.conditions?.map(c => ({
        type: c.type,
        status: c.status,
        reason: c.reason,
        message: clusterMessage(c.message),
      })),
      containerStatuses: status?.containerStatuses?.map(trimStatus),
      initContainerStatuses: status?.initContainerStatuses?.map(trimStatus),
    },
  } as V1Pod;
}

/**
 * Names of the object an event is about: an object name has at most 253 characters, and the API
 * server does not check what an event says it is about; a longer one is kept as its length.
 */
const MAX_NAME_BYTES = 253;

function objectName(name: string | undefined): string | undefined {
  if (name === undefined) return name;
  const bytes = Buffer.byteLength(name);
  return bytes > MAX_NAME_BYTES ? `(a name of ${bytes} bytes, not kept)` : name;
}

/**
 * What cluster health reads of an Event (the newest warnings become alerts): who it is about, why
 * (its reason and message redacted and bounded, {@link clusterMessage}; the names of what it is
 * about bounded too), where it was written (its own namespace, which alerts are attributed to) and
 * when (as claimed, and as the API server created it). Source, series, counts and managed
 * fields are dropped.
 */
export function trimEvent(event: CoreV1Event): CoreV1Event {
  const { metadata, involvedObject } = event;
  return {
    metadata: {
      name: metadata?.name,
      namespace: metadata?.namespace,
      uid: metadata?.uid,
      resourceVersion: metadata?.resourceVersion,
      // Set by the API server: an Event first listed claims no later time (see ClusterHealthCache).
      creationTimestamp: metadata?.creationTimestamp,
    },
    involvedObject: {
      kind: objectName(involvedObject?.kind),
      namespace: objectName(involvedObject?.namespace),
      name: objectName(involvedObject?.name),
    },
    type: event.type,
    reason: clusterMessage(event.reason),
    message: clusterMessage(event.message),
    lastTimestamp: event.lastTimestamp,
    eventTime: event.eventTime,
  } as CoreV1Event;
}

/** The annotation tenant health attributes a workload to its Helm release by. */
export const RELEASE_ANNOTATION = 'meta.helm.sh/release-name';
/** Helm refuses release names longer than this: a longer annotation names no release. */
const MAX_RELEASE_NAME = 53;

/** The Helm release annotation of an object, when it is a name Helm could give. */
function releaseAnnotation(metadata: V1ObjectMeta | undefined) {
  const release = metadata?.annotations?.[RELEASE_ANNOTATION];
  return release !== undefined && release.length <= MAX_RELEASE_NAME
    ? { annotations: { [RELEASE_ANNOTATION]: release } }
    : {};
}

/**
 * An object's controller (`ownerReferences` entry with `controller: true`) when it is of `kind` in
 * API group batch, kept as health reads it (kind, name, uid); none else. A reference whose name,
 * uid or version is longer than an object name can be is not kept: it names no object of the kind
 * (the API server does not bound what an owner reference says).
 */
function batchController(
  metadata: V1ObjectMeta | undefined,
  kind: 'Job' | 'CronJob',
) {
  const ref = metadata?.ownerReferences?.find(r => r.controller);
  if (
    !ref ||
    ref.kind !== kind ||
    !ref.apiVersion?.startsWith('batch/') ||
    [ref.apiVersion, ref.name, ref.uid].some(
      v => Buffer.byteLength(v ?? '') > MAX_NAME_BYTES,
    )
  )
    return {};
  return {
    ownerReferences: [
      {
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        name: ref.name,
        uid: ref.uid,
        controller: true,
      },
    ],
  };
}

/** The condition types health reads of a workload (`lib/readiness.ts`, `clusterAggregates.ts`). */
const WORKLOAD_CONDITIONS = new Set(['Progressing', 'ReplicaFailure']);
/** A ControllerRevision's name is an object name: one longer is not kept, only its length. */
const MAX_REVISION_BYTES = 253;

type Workload = V1Deployment | V1StatefulSet | V1DaemonSet;

const revision = (r: string | undefined) =>
  r && r.length > MAX_REVISION_BYTES
    ? `(a revision of ${Buffer.byteLength(r)} bytes, not kept)`
    : r;

/**
 * What cluster and tenant health read of a Deployment, StatefulSet or DaemonSet, nothing more (see
 * `workloadRollout` and `lib/readiness.ts`'s rollout functions, and `HealthService`'s tenant health):
 * name, namespace, generation and version; the Helm release annotation only (a name Helm could
 * give); replicas, selector and update strategy; the status counts and revisions, and the
 * Progressing and ReplicaFailure conditions with their messages redacted and bounded
 * ({@link clusterMessage}). Labels, other annotations, managed fields and the pod template are
 * dropped: a tenant may give a workload 1.5 MB of them.
 */
export function trimWorkload<T extends Workload>(workload: T): T {
  const { metadata, spec, status } = workload as V1Deployment &
    V1StatefulSet &
    V1DaemonSet;
  const strategy = spec?.updateStrategy;
  // A StatefulSet's partition (the only part of a rolling update its rollout reads).
  const partition = (
    strategy?.rollingUpdate as { partition?: number } | undefined
  )?.partition;
  // The first condition of each type read, as the readers `find` it: a status written with
  // thousands of conditions keeps two.
  const conditions: Array<{
    type: string;
    status: string;
    reason?: string;
    message?: string;
  }> = [];
  for (const c of status?.conditions ?? []) {
    if (!WORKLOAD_CONDITIONS.has(c.type)) continue;
    if (conditions.some(kept => kept.type === c.type)) continue;
    conditions.push({
      type: c.type,
      status: c.status,
      reason: clusterMessage(c.reason),
      message: clusterMessage(c.message),
    });
  }
  return {
    metadata: {
      name: metadata?.name,
      namespace: metadata?.namespace,
      uid: metadata?.uid,
      resourceVersion: metadata?.resourceVersion,
      generation: metadata?.generation,
      ...releaseAnnotation(metadata),
    },
    spec: {
      replicas: spec?.replicas,
      selector: spec?.selector && {
        matchLabels: spec.selector.matchLabels,
        matchExpressions: spec.selector.matchExpressions,
      },
      ...(strategy
        ? {
            updateStrategy: {
              type: strategy.type,
              ...(partition !== undefined
                ? { rollingUpdate: { partition } }
                : {}),
            },
          }
        : {}),
    },
    status: status && {
      observedGeneration: status.observedGeneration,
      replicas: status.replicas,
      updatedReplicas: status.updatedReplicas,
      readyReplicas: status.readyReplicas,
      availableReplicas: status.availableReplicas,
      currentRevision: revision(status.currentRevision),
      updateRevision: revision(status.updateRevision),
      desiredNumberScheduled: status.desiredNumberScheduled,
      numberReady: status.numberReady,
      numberAvailable: status.numberAvailable,
      updatedNumberScheduled: status.updatedNumberScheduled,
      ...(status.conditions ? { conditions } : {}),
    },
  } as unknown as T;
}

/**
 * The condition types health reads of a Job: whether it finished, and how (`FailureTarget`, which
 * newer job controllers write before `Failed`, says the same as `Failed`).
 */
const JOB_CONDITIONS = new Set(['Failed', 'FailureTarget', 'Complete']);

/**
 * What tenant health reads of a Job, nothing more: name, namespace, uid, version and creation time
 * (a CronJob's newest Job is the one that counts), the Helm release annotation only, its controller
 * only when it is a CronJob, and the first `Failed`, `FailureTarget` and `Complete` conditions,
 * their reasons and messages redacted and bounded ({@link clusterMessage}). Labels, other
 * annotations, managed fields, the pod template and the other status fields are dropped.
 */
export function trimJob(job: V1Job): V1Job {
  const { metadata, status } = job;
  const conditions: V1JobCondition[] = [];
  for (const c of status?.conditions ?? []) {
    if (!JOB_CONDITIONS.has(c.type)) continue;
    if (conditions.some(kept => kept.type === c.type)) continue;
    conditions.push({
      type: c.type,
      status: c.status,
      reason: clusterMessage(c.reason),
      message: clusterMessage(c.message),
    });
  }
  return {
    metadata: {
      name: metadata?.name,
      namespace: metadata?.namespace,
      uid: metadata?.uid,
      resourceVersion: metadata?.resourceVersion,
      creationTimestamp: metadata?.creationTimestamp,
      ...releaseAnnotation(metadata),
      ...batchController(metadata, 'CronJob'),
    },
    ...(conditions.length ? { status: { conditions } } : {}),
  } as V1Job;
}
