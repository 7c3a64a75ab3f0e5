import { KubeApi } from '../server/api';
import { ResourceType } from '../server/resources';
import { deepClone, deepEqual, KubeObject, nowIso } from '../server/types';
import { EventRecorder } from './events';
import {
  isControlledBy,
  ownerRef,
  resolvePercent,
  templateHash,
} from './ownership';

const REVISION = 'deployment.kubernetes.io/revision';
const DESIRED = 'deployment.kubernetes.io/desired-replicas';
const MAX = 'deployment.kubernetes.io/max-replicas';

/** Deployment annotations the controller does not copy to its ReplicaSets (copyDeploymentAnnotationsToReplicaSet). */
const NOT_COPIED = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION,
  'deployment.kubernetes.io/revision-history',
  DESIRED,
  MAX,
  'deprecated.deployment.rollback.to',
]);

/** The Deployment's own annotations, as the controller copies them onto its new ReplicaSet. */
function copiedAnnotations(d: KubeObject): Record<string, string> {
  return Object.fromEntries(
    Object.entries(d.metadata.annotations ?? {}).filter(
      ([k]) => !NOT_COPIED.has(k),
    ),
  );
}

interface Condition {
  type: string;
  status: string;
  lastUpdateTime: string;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

/**
 * The deployment controller's SetDeploymentCondition: an unchanged status and reason leave the
 * condition alone; otherwise it moves to the end of the list, keeping lastTransitionTime while the
 * status stays the same. (So a new Deployment ends with `[Available, Progressing]`.)
 */
function setCondition(
  conditions: Condition[],
  next: Omit<Condition, 'lastUpdateTime' | 'lastTransitionTime'>,
  now: string,
  force = false,
): Condition[] {
  const old = conditions.find(c => c.type === next.type);
  if (!force && old && old.status === next.status && old.reason === next.reason)
    return conditions;
  const lastTransitionTime =
    old && old.status === next.status ? old.lastTransitionTime : now;
  return [
    ...conditions.filter(c => c.type !== next.type),
    {
      type: next.type,
      status: next.status,
      lastUpdateTime: now,
      lastTransitionTime,
      reason: next.reason,
      message: next.message,
    },
  ];
}

const specReplicas = (rs: KubeObject): number => rs.spec?.replicas ?? 0;
const sum = (list: KubeObject[], f: (rs: KubeObject) => number) =>
  list.reduce((s, rs) => s + f(rs), 0);
const revisionOf = (rs: KubeObject) =>
  Number(rs.metadata.annotations?.[REVISION] ?? 0);
const byCreation = (a: KubeObject, b: KubeObject) =>
  (a.metadata.creationTimestamp ?? '').localeCompare(
    b.metadata.creationTimestamp ?? '',
  ) || a.metadata.name!.localeCompare(b.metadata.name!);

/**
 * The Deployment controller as kube-controller-manager v1.26 runs it: the new ReplicaSet is created with
 * the surge allowance (`maxSurge`, rounded up), old ReplicaSets are scaled down only as far as
 * `maxUnavailable` (rounded down) allows, a scaling event resizes the one active ReplicaSet, and the
 * status goes through the states recorded in ../shared/reference/kube-api/rollout/.
 */
export class DeploymentController {
  private readonly ctx = { manager: 'kube-controller-manager' };
  private readonly deployments: ResourceType;
  private readonly replicasets: ResourceType;

  constructor(
    private readonly api: KubeApi,
    private readonly events: EventRecorder,
    /** Asks for `deployments/<namespace>/<name>` to be reconciled again after `ms` (progress deadlines). */
    private readonly requeueAfter: (key: string, ms: number) => void,
  ) {
    this.deployments = api.registry.find('apps', 'v1', 'deployments')!;
    this.replicasets = api.registry.find('apps', 'v1', 'replicasets')!;
  }

  private ownedReplicaSets(d: KubeObject): KubeObject[] {
    return this.api.store
      .dependentsOf(d.metadata.uid!)
      .map(x => this.api.store.getById(x.typeId, x.key))
      .filter(
        (o): o is KubeObject =>
          !!o && o.kind === 'ReplicaSet' && isControlledBy(o, d),
      );
  }

  reconcile(ns: string, name: string) {
    let d = this.api.tryGet(this.deployments, ns, name);
    if (!d || d.metadata.deletionTimestamp) return;
    const desired: number = d.spec?.replicas ?? 1;
    const hash = templateHash(d.spec?.template);
    const recreate = d.spec?.strategy?.type === 'Recreate';
    const maxSurge = recreate
      ? 0
      : resolvePercent(
          d.spec?.strategy?.rollingUpdate?.maxSurge ?? '25%',
          desired,
          true,
        );
    const maxUnavailable = this.maxUnavailable(d, desired, maxSurge);
    let rsList = this.ownedReplicaSets(d);
    let newRS = rsList.find(
      rs => rs.metadata.labels?.['pod-template-hash'] === hash,
    );
    const olds = () =>
      rsList.filter(rs => rs.metadata.uid !== newRS?.metadata.uid);
    const replace = (rs: KubeObject) => {
      rsList = rsList.map(x => (x.metadata.uid === rs.metadata.uid ? rs : x));
      if (newRS && newRS.metadata.uid === rs.metadata.uid) newRS = rs;
      return rs;
    };
    const scale = (rs: KubeObject, replicas: number) => {
      if (specReplicas(rs) === replicas) return rs;
      const next = deepClone(rs);
      next.spec.replicas = replicas;
      next.metadata.annotations = {
        ...next.metadata.annotations,
        [DESIRED]: String(desired),
        [MAX]: String(desired + maxSurge),
      };
      this.events.record(
        d!,
        'Normal',
        'ScalingReplicaSet',
        `Scaled ${replicas > specReplicas(rs) ? 'up' : 'down'} replica set ${
          rs.metadata.name
        } to ${replicas}`,
        { component: 'deployment-controller' },
      );
      return replace(this.write(this.replicasets, rs, next));
    };
    const maxRevision = rsList.reduce(
      (m, rs) => Math.max(m, revisionOf(rs)),
      0,
    );

    const createNewReplicaSet = (initial: number) => {
      const created = this.createReplicaSet(
        d!,
        hash,
        initial,
        maxRevision + 1,
        {
          desired,
          max: desired + maxSurge,
        },
      );
      rsList = [...rsList, created];
      this.events.record(
        d!,
        'Normal',
        'ScalingReplicaSet',
        `Scaled up replica set ${created.metadata.name} to ${initial}`,
        { component: 'deployment-controller' },
      );
      // The real controller records the new ReplicaSet and revision at once, before its status sync
      // (observedGeneration still the old one).
      d = this.writeDeploymentStatus(d!, {
        revision: String(maxRevision + 1),
        status: {
          ...d!.status,
          conditions: setCondition(
            d!.status?.conditions ?? [],
            {
              type: 'Progressing',
              status: 'True',
              reason: 'NewReplicaSetCreated',
              message: `Created new replica set "${created.metadata.name}"`,
            },
            nowIso(),
          ),
        },
      });
      return created;
    };

    if (!newRS && !d.spec?.paused && !recreate) {
      // NewRSNewReplicas for a ReplicaSet that does not exist yet: what the surge allowance leaves.
      const others = sum(rsList, specReplicas);
      newRS = createNewReplicaSet(
        Math.max(0, Math.min(desired + maxSurge - others, desired)),
      );
    } else if (newRS) {
      // The new ReplicaSet carries the Deployment's annotations; rolling back to an older template
      // makes its ReplicaSet the newest revision again.
      const annotations = {
        ...newRS.metadata.annotations,
        ...copiedAnnotations(d),
        ...(revisionOf(newRS) < maxRevision
          ? { [REVISION]: String(maxRevision + 1) }
          : {}),
      };
      if (!deepEqual(annotations, newRS.metadata.annotations ?? {})) {
        const next = deepClone(newRS);
        next.metadata.annotations = annotations;
        replace(this.write(this.replicasets, newRS, next));
      }
    }

    if (!d.spec?.paused && recreate) {
      // rolloutRecreate: old ReplicaSets go to zero; the new one is made (or scaled) once their pods are gone.
      for (const rs of olds()) scale(rs, 0);
      if (sum(olds(), rs => rs.status?.replicas ?? 0) === 0) {
        if (newRS) scale(newRS, desired);
        else newRS = createNewReplicaSet(desired);
      }
      if (newRS) this.cleanupHistory(d, newRS);
    } else if (!d.spec?.paused && newRS) {
      const active = rsList.filter(rs => specReplicas(rs) > 0);
      const scalingEvent = active.some(
        rs => rs.metadata.annotations?.[DESIRED] !== String(desired),
      );
      if (scalingEvent && active.length <= 1) {
        // A scaling event with one active ReplicaSet resizes it (the newest when none is active).
        scale(active[0] ?? newRS, desired);
      } else {
        this.rollingUpdate(
          newRS,
          olds(),
          desired,
          maxSurge,
          maxUnavailable,
          scale,
        );
      }
      this.cleanupHistory(d, newRS);
    }
    this.syncStatus(d, newRS, desired, maxUnavailable);
  }

  /** MaxUnavailable: rounded down, at most the replicas, and 1 when both allowances round to 0. */
  private maxUnavailable(d: KubeObject, desired: number, maxSurge: number) {
    if (d.spec?.strategy?.type === 'Recreate' || desired === 0) return 0;
    let v = resolvePercent(
      d.spec?.strategy?.rollingUpdate?.maxUnavailable ?? '25%',
      desired,
      false,
    );
    if (v === 0 && maxSurge === 0) v = 1;
    return Math.min(v, desired);
  }

  /** rolloutRolling: scale the new ReplicaSet up within maxSurge, then old ones down within maxUnavailable. */
  private rollingUpdate(
    newRS: KubeObject,
    olds: KubeObject[],
    desired: number,
    maxSurge: number,
    maxUnavailable: number,
    scale: (rs: KubeObject, replicas: number) => KubeObject,
  ) {
    // reconcileNewReplicaSet
    const newSpec = specReplicas(newRS);
    if (newSpec > desired) {
      scale(newRS, desired);
      return;
    }
    if (newSpec < desired) {
      const all = sum([newRS, ...olds], specReplicas);
      const room = desired + maxSurge - all;
      if (room > 0) {
        scale(newRS, newSpec + Math.min(room, desired - newSpec));
        return;
      }
    }
    // reconcileOldReplicaSets
    if (sum(olds, specReplicas) === 0) return;
    const minAvailable = desired - maxUnavailable;
    const newUnavailable =
      specReplicas(newRS) - (newRS.status?.availableReplicas ?? 0);
    const maxScaledDown =
      sum([newRS, ...olds], specReplicas) - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return;
    const sorted = [...olds].sort(byCreation);
    // cleanupUnhealthyReplicas: pods that are not available go first.
    let cleaned = 0;
    const current = sorted.map(rs => {
      if (cleaned >= maxScaledDown) return rs;
      const unhealthy = specReplicas(rs) - (rs.status?.availableReplicas ?? 0);
      if (unhealthy <= 0) return rs;
      const n = Math.min(maxScaledDown - cleaned, unhealthy);
      cleaned += n;
      return scale(rs, specReplicas(rs) - n);
    });
    // scaleDownOldReplicaSetsForRollingUpdate: only as far as minAvailable allows.
    const available = sum(
      [newRS, ...current],
      rs => rs.status?.availableReplicas ?? 0,
    );
    let toScaleDown = available - minAvailable;
    for (const rs of current) {
      if (toScaleDown <= 0) break;
      if (specReplicas(rs) === 0) continue;
      const n = Math.min(specReplicas(rs), toScaleDown);
      toScaleDown -= n;
      scale(rs, specReplicas(rs) - n);
    }
  }

  /** Old ReplicaSets scaled to zero beyond revisionHistoryLimit are removed. */
  private cleanupHistory(d: KubeObject, newRS: KubeObject) {
    const limit = d.spec?.revisionHistoryLimit ?? 10;
    const idle = this.ownedReplicaSets(d)
      .filter(
        rs =>
          rs.metadata.uid !== newRS.metadata.uid &&
          specReplicas(rs) === 0 &&
          (rs.status?.replicas ?? 0) === 0,
      )
      .sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) {
      this.api.delete(
        this.replicasets,
        d.metadata.namespace,
        rs.metadata.name!,
        {},
      );
    }
  }

  private createReplicaSet(
    d: KubeObject,
    hash: string,
    replicas: number,
    revision: number,
    counts: { desired: number; max: number },
  ): KubeObject {
    const template = deepClone(d.spec.template);
    template.metadata = template.metadata ?? {};
    template.metadata.labels = {
      ...(template.metadata.labels ?? {}),
      'pod-template-hash': hash,
    };
    return this.api.create(
      this.replicasets,
      d.metadata.namespace,
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: `${d.metadata.name}-${hash}`,
          namespace: d.metadata.namespace,
          labels: template.metadata.labels,
          annotations: {
            ...copiedAnnotations(d),
            [DESIRED]: String(counts.desired),
            [MAX]: String(counts.max),
            [REVISION]: String(revision),
          },
          ownerReferences: [ownerRef(d)],
        },
        spec: {
          replicas,
          selector: {
            ...d.spec.selector,
            matchLabels: {
              ...(d.spec.selector?.matchLabels ?? {}),
              'pod-template-hash': hash,
            },
          },
          template,
        },
      },
      this.ctx,
    );
  }

  /** calculateStatus + syncRolloutStatus. */
  private syncStatus(
    d: KubeObject,
    newRS: KubeObject | undefined,
    desired: number,
    maxUnavailable: number,
  ) {
    const all = this.ownedReplicaSets(d);
    const current = newRS
      ? all.find(rs => rs.metadata.uid === newRS.metadata.uid) ?? newRS
      : undefined;
    const replicas = sum(all, rs => rs.status?.replicas ?? 0);
    const updated = current?.status?.replicas ?? 0;
    const ready = sum(all, rs => rs.status?.readyReplicas ?? 0);
    const available = sum(all, rs => rs.status?.availableReplicas ?? 0);
    const unavailable = Math.max(0, sum(all, specReplicas) - available);
    const now = nowIso();
    let conditions: Condition[] = d.status?.conditions ?? [];
    conditions = setCondition(
      conditions,
      available >= desired - maxUnavailable
        ? {
            type: 'Available',
            status: 'True',
            reason: 'MinimumReplicasAvailable',
            message: 'Deployment has minimum availability.',
          }
        : {
            type: 'Available',
            status: 'False',
            reason: 'MinimumReplicasUnavailable',
            message: 'Deployment does not have minimum availability.',
          },
      now,
    );
    const status: Record<string, unknown> = {
      observedGeneration: d.metadata.generation,
      ...(replicas ? { replicas } : {}),
      ...(updated ? { updatedReplicas: updated } : {}),
      ...(ready ? { readyReplicas: ready } : {}),
      ...(available ? { availableReplicas: available } : {}),
      ...(unavailable ? { unavailableReplicas: unavailable } : {}),
    };
    const deadlineSeconds: number | undefined = d.spec?.progressDeadlineSeconds;
    const rsName = current?.metadata.name;
    const progress = conditions.find(c => c.type === 'Progressing');
    const complete =
      updated === desired &&
      replicas === desired &&
      available === desired &&
      (d.metadata.generation ?? 0) <= (status.observedGeneration as number);
    const old = d.status ?? {};
    const progressing =
      updated > (old.updatedReplicas ?? 0) ||
      replicas - updated < (old.replicas ?? 0) - (old.updatedReplicas ?? 0) ||
      ready > (old.readyReplicas ?? 0) ||
      available > (old.availableReplicas ?? 0);
    // A finished rollout is not timed out later (DeploymentTimedOut).
    const timedOut =
      !!progress &&
      progress.reason !== 'NewReplicaSetAvailable' &&
      (progress.reason === 'ProgressDeadlineExceeded' ||
        (deadlineSeconds !== undefined &&
          Date.parse(progress.lastUpdateTime) + deadlineSeconds * 1000 <
            Date.now()));
    if (deadlineSeconds !== undefined && !d.spec?.paused && current) {
      if (complete) {
        conditions = setCondition(
          conditions,
          {
            type: 'Progressing',
            status: 'True',
            reason: 'NewReplicaSetAvailable',
            message: `ReplicaSet "${rsName}" has successfully progressed.`,
          },
          now,
        );
      } else if (progressing) {
        // Progress refreshes lastUpdateTime even with the same reason (the deadline counts from it).
        conditions = setCondition(
          conditions,
          {
            type: 'Progressing',
            status: 'True',
            reason: 'ReplicaSetUpdated',
            message: `ReplicaSet "${rsName}" is progressing.`,
          },
          now,
          true,
        );
      } else if (timedOut) {
        conditions = setCondition(
          conditions,
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: `ReplicaSet "${rsName}" has timed out progressing.`,
          },
          now,
        );
      }
      const after = conditions.find(c => c.type === 'Progressing');
      if (
        !complete &&
        after?.status === 'True' &&
        after.reason !== 'NewReplicaSetAvailable'
      ) {
        this.requeueAfter(
          `deployments/${d.metadata.namespace}/${d.metadata.name}`,
          Math.max(
            0,
            Date.parse(after.lastUpdateTime) +
              deadlineSeconds * 1000 -
              Date.now(),
          ) + 50,
        );
      }
    }
    // syncRolloutStatus moves a ReplicaSet's ReplicaFailure (pods refused by quota or Pod Security
    // admission) to the Deployment, the new ReplicaSet's first; it goes when no ReplicaSet has one.
    const failure = [
      ...(current ? [current] : []),
      ...all.filter(rs => rs !== current),
    ]
      .map(rs =>
        (rs.status?.conditions ?? []).find(
          (c: any) => c.type === 'ReplicaFailure',
        ),
      )
      .find(Boolean);
    if (failure) {
      conditions = setCondition(
        conditions,
        {
          type: 'ReplicaFailure',
          status: failure.status,
          reason: failure.reason,
          message: failure.message,
        },
        failure.lastTransitionTime ?? now,
      );
    } else {
      conditions = conditions.filter(c => c.type !== 'ReplicaFailure');
    }
    if (conditions.length) status.conditions = conditions;
    if (d.status?.collisionCount !== undefined)
      status.collisionCount = d.status.collisionCount;
    const revision = current?.metadata.annotations?.[REVISION];
    if (
      !deepEqual(d.status ?? {}, status) ||
      (revision && d.metadata.annotations?.[REVISION] !== revision)
    ) {
      this.writeDeploymentStatus(d, { status, revision });
    }
  }

  /**
   * A status update; the revision annotation goes with it (the status strategy keeps metadata), so it
   * does not bump metadata.generation, as with the real controller.
   */
  private writeDeploymentStatus(
    d: KubeObject,
    change: { status: Record<string, unknown>; revision?: string },
  ): KubeObject {
    const next = deepClone(d);
    next.status = change.status;
    if (
      change.revision &&
      d.metadata.annotations?.[REVISION] !== change.revision
    ) {
      next.metadata.annotations = {
        ...next.metadata.annotations,
        [REVISION]: change.revision,
      };
    }
    return this.api.commitUpdate(
      this.deployments,
      d,
      next,
      this.ctx,
      'status',
      'Update',
    );
  }

  private write(type: ResourceType, old: KubeObject, next: KubeObject) {
    return this.api.commitUpdate(
      type,
      old,
      next,
      this.ctx,
      undefined,
      'Update',
    );
  }
}
