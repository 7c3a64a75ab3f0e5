import {
  CoreV1Event,
  KubeConfig,
  KubernetesObject,
  V1ContainerStatus,
  V1Pod,
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
 * A message of the cluster as health keeps it: the secrets a run's failure reason hides in the same
 * text hidden too (`key=value` pairs of secret-looking keys, a URL's password, bearer tokens; see
 * `createTextRedactor` of `@kubechart/plugin-kubechart-node`), as `***`. A kubelet's probe failure
 * quotes the probe's output, an admission webhook's refusal what it was given. Applied once, as an
 * object enters the cache; empty and absent messages are left as they are.
 */
export function clusterMessage<M extends string | undefined>(message: M): M {
  return (message ? scrub(message) : message) as M;
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
 * What cluster and tenant health read of a pod, nothing more: name, namespace, labels and
 * version; each container's resource requests; phase, conditions and container states (waiting
 * reasons, restarts), their messages redacted ({@link clusterMessage}). Images, env, volumes,
 * managed fields and annotations are dropped.
 */
export function trimPod(pod: V1Pod): V1Pod {
  const { metadata, spec, status } = pod;
  return {
    metadata: {
      name: metadata?.name,
      namespace: metadata?.namespace,
      uid: metadata?.uid,
      resourceVersion: metadata?.resourceVersion,
      labels: metadata?.labels,
    },
    spec: {
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
 * What cluster health reads of an Event (the newest warnings become alerts): who it is about, why
 * (its message redacted, {@link clusterMessage}), and when. Source, series, counts and managed
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
    },
    involvedObject: {
      kind: involvedObject?.kind,
      namespace: involvedObject?.namespace,
      name: involvedObject?.name,
    },
    type: event.type,
    reason: event.reason,
    message: clusterMessage(event.message),
    lastTimestamp: event.lastTimestamp,
    eventTime: event.eventTime,
  } as CoreV1Event;
}
