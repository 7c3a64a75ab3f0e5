import { compileSelector, labelMap } from '@kubechart/plugin-kubechart-node';
import { V1LabelSelector, V1Pod } from '@kubernetes/client-node';
import { NamespaceSnapshot } from './KubeClient';

/**
 * Container waiting reasons of the kubelet's image manager: the image cannot be pulled, or may not
 * be (`imagePullPolicy: Never` without the image on the node), or its name or signature is bad.
 */
const IMAGE_PULL_REASONS = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'RegistryUnavailable',
  'ImageInspectError',
  'SignatureValidationFailed',
]);

/** Container waiting reasons that do not fix themselves. */
export const FAILING_REASONS = new Set([
  'CrashLoopBackOff',
  ...IMAGE_PULL_REASONS,
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

/**
 * What a failing waiting reason says fails, so an alert is not labelled an image pull failure for
 * a container that cannot start because a ConfigMap or Secret it reads does not exist:
 * `crash-loop` (CrashLoopBackOff), `image-pull` (the image cannot be pulled), `config-error`
 * (CreateContainerConfigError: a missing ConfigMap, Secret or key, or a securityContext the
 * image cannot meet), and `container-failing` for any other reason (CreateContainerError,
 * RunContainerError…), whose alert shows the reason itself.
 */
export function failingCategory(
  reason: string,
): 'crash-loop' | 'image-pull' | 'config-error' | 'container-failing' {
  if (reason === 'CrashLoopBackOff') return 'crash-loop';
  if (IMAGE_PULL_REASONS.has(reason)) return 'image-pull';
  if (reason === 'CreateContainerConfigError') return 'config-error';
  return 'container-failing';
}

export type WorkloadState = {
  /** `Job`: a Job no controller owns; `Pod`: a bare Pod (no controller owns it). */
  kind: 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'Pod';
  namespace: string;
  name: string;
  release?: string;
  ready: number;
  desired: number;
  /** Whether the rollout is complete, as `kubectl rollout status` decides. */
  isReady: boolean;
  /** What an unfinished rollout still waits for. */
  waitingFor?: string;
  /** Pod waiting reasons, e.g. `pod web-1 container web: CrashLoopBackOff (…)`. */
  problems: string[];
  /** Whether a problem has a failing reason (crash loop, image pull…). */
  failing: boolean;
  /** Its failure is final (a failed Job or Pod, which never recovers): waiting longer changes nothing. */
  failedFinally?: boolean;
  pods: V1Pod[];
};

export type NamespaceReadiness = {
  workloads: WorkloadState[];
  allReady: boolean;
  /** Warning events, newest first, as `Kind/name: Reason: message`. */
  warnings: string[];
};

const RELEASE_ANNOTATION = 'meta.helm.sh/release-name';
/** A helm hook: helm runs and waits for it itself, and deletes it by its policy; never waited for here. */
const HOOK_ANNOTATION = 'helm.sh/hook';

/**
 * The pods a workload's selector selects, as the API server evaluates it: every `matchLabels` entry
 * and every `matchExpressions` requirement (In, NotIn, Exists, DoesNotExist; NotIn and DoesNotExist
 * select pods without the key). None for a missing or empty selector (apps/v1 refuses one), and none
 * for a selector that cannot be read ({@link selectorProblem} says why).
 */
export function podsMatching(
  pods: V1Pod[],
  selector?: V1LabelSelector,
): V1Pod[] {
  const compiled = compileSelector(selector);
  if (compiled.requirements === 0 || compiled.unreadable) return [];
  const counter = { steps: 0 };
  return pods.filter(p =>
    compiled.matches(labelMap(p.metadata?.labels ?? {}), counter),
  );
}

/**
 * Why a workload's selector cannot be read (an operator other than In, NotIn, Exists and
 * DoesNotExist, or an expression without a key), e.g. `its selector cannot be read (…)`; undefined
 * when it can. Such a selector selects no pod.
 */
export function selectorProblem(
  selector?: V1LabelSelector,
): string | undefined {
  const { unreadable } = compileSelector(selector);
  return unreadable ? `its selector cannot be read (${unreadable})` : undefined;
}

const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';

/**
 * The pods of a Deployment's current revision: those owned by its ReplicaSet whose revision is the
 * Deployment's. During a rollout the old ReplicaSet's pods are on their way out: one crash-looping
 * is what an upgrade that fixes it replaces, not a reason to fail that upgrade. Undefined when it
 * cannot be told (ReplicaSets not listed, or the controller has not marked the revision yet).
 */
function currentRevisionPods(
  deployment: any,
  pods: V1Pod[],
  replicaSets: NamespaceSnapshot['replicaSets'],
): V1Pod[] | undefined {
  const revision = deployment.metadata?.annotations?.[REVISION_ANNOTATION];
  const uid = deployment.metadata?.uid;
  if (!replicaSets || !revision || !uid) return undefined;
  const current = replicaSets.find(
    rs =>
      rs.metadata?.annotations?.[REVISION_ANNOTATION] === revision &&
      (rs.metadata?.ownerReferences ?? []).some(o => o.uid === uid),
  );
  const rsUid = current?.metadata?.uid;
  if (!rsUid) return undefined;
  return pods.filter(p =>
    (p.metadata?.ownerReferences ?? []).some(o => o.uid === rsUid),
  );
}

/**
 * Pod waiting reasons of a pod, as text; `failingReason` is the first failing one (init containers
 * first), which makes the pod `failing`.
 */
export function podProblems(pod: V1Pod): {
  text: string[];
  failing: boolean;
  failingReason?: string;
} {
  const text: string[] = [];
  let failingReason: string | undefined;
  const statuses = [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? []),
  ];
  for (const cs of statuses) {
    const waiting = cs.state?.waiting;
    if (
      waiting?.reason &&
      waiting.reason !== 'ContainerCreating' &&
      waiting.reason !== 'PodInitializing'
    ) {
      if (!failingReason && FAILING_REASONS.has(waiting.reason))
        failingReason = waiting.reason;
      text.push(
        `pod ${pod.metadata?.name} container ${cs.name}: ${waiting.reason}${
          waiting.message ? ` (${waiting.message})` : ''
        }${cs.restartCount ? `, ${cs.restartCount} restarts` : ''}`,
      );
    }
  }
  if (pod.status?.phase === 'Pending' && statuses.length === 0) {
    const cond = pod.status?.conditions?.find(
      c => c.type === 'PodScheduled' && c.status === 'False',
    );
    if (cond)
      text.push(
        `pod ${pod.metadata?.name}: ${cond.reason ?? 'Unschedulable'}${
          cond.message ? ` (${cond.message})` : ''
        }`,
      );
  }
  return {
    text,
    failing: failingReason !== undefined,
    ...(failingReason ? { failingReason } : {}),
  };
}

/** How far a workload's rollout is, decided as `kubectl rollout status` decides it. */
export type RolloutState = {
  /** Pods of the current template that are Ready (available for Deployments and DaemonSets). */
  ready: number;
  desired: number;
  done: boolean;
  /** What the rollout still waits for, e.g. `1 old replica(s) pending termination`. */
  waitingFor?: string;
  /** The rollout cannot finish by itself (e.g. its progress deadline passed). */
  failed?: string;
  /** `failed` is final: the workload never leaves it (a failed Job or Pod). */
  final?: boolean;
};

const n = (v: number | undefined | null) => v ?? 0;

/**
 * Deployment: the controller has observed the latest spec, every replica runs the new template,
 * no old replica is left and every new one is available.
 */
export function deploymentRollout(d: any): RolloutState {
  const desired = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  const ready = Math.min(n(s.updatedReplicas), n(s.availableReplicas));
  const state = (waitingFor?: string, failed?: string): RolloutState => ({
    ready,
    desired,
    done: !waitingFor && !failed,
    waitingFor,
    failed,
  });
  if (n(s.observedGeneration) < n(d.metadata?.generation))
    return state('the controller to observe the new spec');
  const progressing = (s.conditions ?? []).find(
    (c: any) => c.type === 'Progressing',
  );
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return state(
      undefined,
      `rollout exceeded its progress deadline (${
        progressing.message ?? 'no progress'
      })`,
    );
  }
  if (n(s.updatedReplicas) < desired)
    return state(
      `${n(s.updatedReplicas)} of ${desired} new replica(s) updated`,
    );
  if (n(s.replicas) > n(s.updatedReplicas))
    return state(
      `${
        n(s.replicas) - n(s.updatedReplicas)
      } old replica(s) pending termination`,
    );
  if (n(s.availableReplicas) < n(s.updatedReplicas))
    return state(
      `${n(s.availableReplicas)} of ${n(
        s.updatedReplicas,
      )} updated replica(s) available`,
    );
  return state();
}

/**
 * StatefulSet: spec observed, every replica Ready, and every replica at the update revision (or,
 * with a partition, every replica above the partition updated).
 */
export function statefulSetRollout(sts: any): RolloutState {
  const desired = sts.spec?.replicas ?? 1;
  const s = sts.status ?? {};
  const state = (waitingFor?: string): RolloutState => ({
    ready: n(s.readyReplicas),
    desired,
    done: !waitingFor,
    waitingFor,
  });
  if (
    !s.observedGeneration ||
    n(s.observedGeneration) < n(sts.metadata?.generation)
  )
    return state('the controller to observe the new spec');
  if (n(s.readyReplicas) < desired)
    return state(`${n(s.readyReplicas)} of ${desired} replica(s) ready`);
  const strategy = sts.spec?.updateStrategy;
  if (strategy?.type === 'OnDelete') return state();
  const partition = strategy?.rollingUpdate?.partition;
  if (partition) {
    const want = Math.max(0, desired - partition);
    return n(s.updatedReplicas) < want
      ? state(
          `${n(
            s.updatedReplicas,
          )} of ${want} replica(s) above partition ${partition} updated`,
        )
      : state();
  }
  if (s.updateRevision && s.updateRevision !== s.currentRevision) {
    return state(
      `${n(s.updatedReplicas)} of ${desired} replica(s) at revision ${
        s.updateRevision
      }`,
    );
  }
  return state();
}

/** DaemonSet: spec observed, every scheduled pod updated and available. */
export function daemonSetRollout(ds: any): RolloutState {
  const s = ds.status ?? {};
  const desired = n(s.desiredNumberScheduled);
  const state = (waitingFor?: string): RolloutState => ({
    ready: Math.min(n(s.numberAvailable), n(s.updatedNumberScheduled)),
    desired,
    done: !waitingFor,
    waitingFor,
  });
  if (n(s.observedGeneration) < n(ds.metadata?.generation))
    return state('the controller to observe the new spec');
  if (ds.spec?.updateStrategy?.type === 'OnDelete') {
    return n(s.numberReady) < desired
      ? {
          ...state(`${n(s.numberReady)} of ${desired} pod(s) ready`),
          ready: n(s.numberReady),
        }
      : { ...state(), ready: n(s.numberReady) };
  }
  if (n(s.updatedNumberScheduled) < desired)
    return state(`${n(s.updatedNumberScheduled)} of ${desired} pod(s) updated`);
  if (n(s.numberAvailable) < desired)
    return state(
      `${n(s.numberAvailable)} of ${desired} updated pod(s) available`,
    );
  return state();
}

const condition = (obj: any, type: string) =>
  (obj.status?.conditions ?? []).find(
    (c: any) => c?.type === type && c?.status === 'True',
  );

/**
 * Job, as the job controller marks it: done once `Complete` (every completion succeeded), failed for
 * good once `Failed` (`BackoffLimitExceeded`, `DeadlineExceeded`…; `FailureTarget`, which newer
 * controllers write first, says the same). Suspended, it waits to be resumed.
 */
export function jobRollout(job: any): RolloutState {
  const s = job.status ?? {};
  const desired = job.spec?.completions ?? 1;
  const state = (waitingFor?: string): RolloutState => ({
    ready: n(s.succeeded),
    desired,
    done: !waitingFor,
    waitingFor,
  });
  const failed = condition(job, 'Failed') ?? condition(job, 'FailureTarget');
  if (failed) {
    return {
      ...state(),
      done: false,
      failed: `Job failed: ${failed.reason ?? 'Failed'}${
        failed.message ? ` (${failed.message})` : ''
      }`,
      final: true,
    };
  }
  if (condition(job, 'Complete') ?? condition(job, 'SuccessCriteriaMet'))
    return state();
  if (job.spec?.suspend)
    return state('the Job to be resumed (it is suspended)');
  return state(`${n(s.succeeded)} of ${desired} completion(s)`);
}

/**
 * A bare Pod: done once Ready, or once it has run to completion (`Succeeded`); failed for good once
 * `Failed` (its containers exited with an error and are not restarted, or it was evicted).
 */
export function podRollout(pod: any): RolloutState {
  const phase = pod.status?.phase;
  const state = (waitingFor?: string): RolloutState => ({
    ready: waitingFor ? 0 : 1,
    desired: 1,
    done: !waitingFor,
    waitingFor,
  });
  if (phase === 'Failed') {
    const exited = [
      ...(pod.status?.initContainerStatuses ?? []),
      ...(pod.status?.containerStatuses ?? []),
    ]
      .filter((c: any) => c?.state?.terminated?.exitCode)
      .map(
        (c: any) =>
          `container ${c.name} exited with code ${c.state.terminated.exitCode}${
            c.state.terminated.reason ? ` (${c.state.terminated.reason})` : ''
          }`,
      );
    const why = [
      ...(pod.status?.reason
        ? [
            `${pod.status.reason}${
              pod.status.message ? ` (${pod.status.message})` : ''
            }`,
          ]
        : []),
      ...exited,
    ];
    return {
      ...state(),
      ready: 0,
      done: false,
      failed: `pod ${pod.metadata?.name} failed${
        why.length ? `: ${why.join(', ')}` : ''
      }`,
      final: true,
    };
  }
  if (phase === 'Succeeded' || condition(pod, 'Ready')) return state();
  return state(
    phase === 'Running' ? 'the pod to be Ready' : 'the pod to start',
  );
}

/** Whether a controller (a ReplicaSet, a Job, a CronJob…) owns `obj`: then it is judged through it. */
const controlled = (obj: any) =>
  (obj.metadata?.ownerReferences ?? []).some((o: any) => o?.controller);

/** The pods a controller owns (`uid`): those of a Job, which its selector names by that uid too. */
const podsOwnedBy = (pods: V1Pod[], uid: string | undefined) =>
  uid
    ? pods.filter(p =>
        (p.metadata?.ownerReferences ?? []).some(
          o => o.controller && o.uid === uid,
        ),
      )
    : [];

/**
 * Readiness of every workload of a namespace, or of those of one Helm release (`release`), or of
 * only the objects a run applied (`objects`, by kind and name). Jobs and bare Pods count when they
 * are a run's own: of the release, among `objects`, or else made by a Helm release (not by hand or
 * by a CronJob); helm hooks never count.
 */
export function evaluateNamespace(
  snapshot: NamespaceSnapshot,
  options: {
    release?: string;
    objects?: ReadonlyArray<{ kind: string; name: string }>;
  } = {},
): NamespaceReadiness {
  const workloads: WorkloadState[] = [];
  const add = (
    kind: WorkloadState['kind'],
    obj: any,
    rollout: RolloutState,
    /** Its pods, where it owns them by uid (a Job, a bare Pod); otherwise those its selector selects. */
    owned?: V1Pod[],
  ) => {
    const release = obj.metadata?.annotations?.[RELEASE_ANNOTATION];
    if (options.release && release !== options.release) return;
    if (
      options.objects &&
      !options.objects.some(
        o => o.kind === kind && o.name === obj.metadata?.name,
      )
    )
      return;
    const pods = owned ?? podsMatching(snapshot.pods, obj.spec?.selector);
    // Problems (and failing) of the current revision's pods where they can be told apart.
    const judged =
      (kind === 'Deployment' &&
        currentRevisionPods(obj, pods, snapshot.replicaSets)) ||
      pods;
    const problems: string[] = [];
    let failing = false;
    if (rollout.failed) {
      problems.push(rollout.failed);
      failing = true;
    }
    const unreadable = owned ? undefined : selectorProblem(obj.spec?.selector);
    if (unreadable) problems.push(unreadable);
    for (const p of judged) {
      const pp = podProblems(p);
      problems.push(...pp.text);
      failing ||= pp.failing;
    }
    workloads.push({
      kind,
      namespace: obj.metadata?.namespace,
      name: obj.metadata?.name,
      release,
      ready: rollout.ready,
      desired: rollout.desired,
      isReady: rollout.done,
      ...(rollout.waitingFor ? { waitingFor: rollout.waitingFor } : {}),
      problems,
      failing,
      ...(rollout.final ? { failedFinally: true } : {}),
      pods,
    });
  };
  for (const d of snapshot.deployments)
    add('Deployment', d, deploymentRollout(d));
  for (const s of snapshot.statefulSets)
    add('StatefulSet', s, statefulSetRollout(s));
  for (const ds of snapshot.daemonSets)
    add('DaemonSet', ds, daemonSetRollout(ds));
  /** A Job or bare Pod of the run's: not a hook, and, judged namespace-wide, made by a Helm release. */
  const runs = (obj: any) => {
    const annotations = obj.metadata?.annotations ?? {};
    if (annotations[HOOK_ANNOTATION] !== undefined || controlled(obj))
      return false;
    return Boolean(
      options.release || options.objects || annotations[RELEASE_ANNOTATION],
    );
  };
  for (const job of snapshot.jobs.filter(runs))
    add(
      'Job',
      job,
      jobRollout(job),
      podsOwnedBy(snapshot.pods, job.metadata?.uid),
    );
  for (const pod of snapshot.pods.filter(runs))
    add('Pod', pod, podRollout(pod), [pod]);
  const warnings = [...snapshot.warnings]
    .sort((a, b) =>
      String(b.lastTimestamp ?? b.eventTime ?? '').localeCompare(
        String(a.lastTimestamp ?? a.eventTime ?? ''),
      ),
    )
    .map(
      e =>
        `${e.involvedObject?.kind}/${e.involvedObject?.name}: ${e.reason}: ${e.message}`,
    );
  return { workloads, allReady: workloads.every(w => w.isReady), warnings };
}

/** A one-paragraph explanation of what is not ready, for failure reasons. */
export function describeNotReady(
  r: NamespaceReadiness,
  maxWarnings = 5,
): string {
  const parts: string[] = [];
  for (const w of r.workloads.filter(x => !x.isReady)) {
    parts.push(
      `${w.kind} ${w.name}${w.release ? ` (release ${w.release})` : ''}: ${
        w.ready
      }/${w.desired} ready${
        w.waitingFor ? `, waiting for ${w.waitingFor}` : ''
      }${w.problems.length ? `; ${w.problems.slice(0, 3).join('; ')}` : ''}`,
    );
  }
  const warnings = [...new Set(r.warnings)].slice(0, maxWarnings);
  if (warnings.length) parts.push(`Warning events: ${warnings.join(' | ')}`);
  return parts.join('. ');
}
