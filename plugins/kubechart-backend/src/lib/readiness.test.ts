import {
  daemonSetRollout,
  deploymentRollout,
  evaluateNamespace,
  jobRollout,
  podRollout,
  podsMatching,
  selectorProblem,
  statefulSetRollout,
} from './readiness';

const deployment = (
  generation: number,
  status: Record<string, unknown>,
  replicas = 3,
) => ({
  metadata: { name: 'web', namespace: 'ns', generation },
  spec: { replicas, selector: { matchLabels: { app: 'web' } } },
  status,
});

describe('deploymentRollout (kubectl rollout status)', () => {
  it('waits until the controller has observed the new spec', () => {
    const r = deploymentRollout(
      deployment(2, {
        observedGeneration: 1,
        replicas: 3,
        updatedReplicas: 3,
        readyReplicas: 3,
        availableReplicas: 3,
      }),
    );
    expect(r).toMatchObject({
      done: false,
      waitingFor: 'the controller to observe the new spec',
    });
  });

  it('waits while new replicas are still being created, although the old ones are all Ready', () => {
    const r = deploymentRollout(
      deployment(2, {
        observedGeneration: 2,
        replicas: 4,
        updatedReplicas: 1,
        readyReplicas: 3,
        availableReplicas: 3,
      }),
    );
    expect(r).toMatchObject({
      done: false,
      waitingFor: '1 of 3 new replica(s) updated',
    });
  });

  it('waits for old replicas to go away', () => {
    const r = deploymentRollout(
      deployment(2, {
        observedGeneration: 2,
        replicas: 4,
        updatedReplicas: 3,
        readyReplicas: 4,
        availableReplicas: 4,
      }),
    );
    expect(r).toMatchObject({
      done: false,
      waitingFor: '1 old replica(s) pending termination',
    });
  });

  it('waits for every new replica to be available', () => {
    const r = deploymentRollout(
      deployment(2, {
        observedGeneration: 2,
        replicas: 3,
        updatedReplicas: 3,
        readyReplicas: 2,
        availableReplicas: 2,
      }),
    );
    expect(r).toMatchObject({
      done: false,
      ready: 2,
      desired: 3,
      waitingFor: '2 of 3 updated replica(s) available',
    });
  });

  it('is done when every replica is updated and available, and for zero replicas', () => {
    expect(
      deploymentRollout(
        deployment(2, {
          observedGeneration: 2,
          replicas: 3,
          updatedReplicas: 3,
          readyReplicas: 3,
          availableReplicas: 3,
        }),
      ),
    ).toEqual({
      ready: 3,
      desired: 3,
      done: true,
      waitingFor: undefined,
      failed: undefined,
    });
    expect(
      deploymentRollout(deployment(2, { observedGeneration: 2 }, 0)).done,
    ).toBe(true);
  });

  it('reports a passed progress deadline as a failure', () => {
    const r = deploymentRollout(
      deployment(2, {
        observedGeneration: 2,
        replicas: 3,
        updatedReplicas: 1,
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: 'ReplicaSet "web-2" has timed out progressing.',
          },
        ],
      }),
    );
    expect(r.done).toBe(false);
    expect(r.failed).toMatch(/progress deadline/);
    const ns = evaluateNamespace({
      deployments: [
        deployment(2, {
          observedGeneration: 2,
          conditions: [
            { type: 'Progressing', reason: 'ProgressDeadlineExceeded' },
          ],
        }) as any,
      ],
      statefulSets: [],
      daemonSets: [],
      jobs: [],
      pods: [],
      warnings: [],
    });
    expect(ns.workloads[0]).toMatchObject({ isReady: false, failing: true });
  });
});

describe('statefulSetRollout', () => {
  const sts = (status: Record<string, unknown>, updateStrategy?: unknown) => ({
    metadata: { name: 'db', generation: 2 },
    spec: { replicas: 3, ...(updateStrategy ? { updateStrategy } : {}) },
    status,
  });

  it('waits for every replica to reach the update revision', () => {
    const r = statefulSetRollout(
      sts({
        observedGeneration: 2,
        readyReplicas: 3,
        updatedReplicas: 1,
        currentRevision: 'db-1',
        updateRevision: 'db-2',
      }),
    );
    expect(r).toMatchObject({
      done: false,
      waitingFor: '1 of 3 replica(s) at revision db-2',
    });
    expect(
      statefulSetRollout(
        sts({
          observedGeneration: 2,
          readyReplicas: 3,
          updatedReplicas: 3,
          currentRevision: 'db-2',
          updateRevision: 'db-2',
        }),
      ).done,
    ).toBe(true);
  });

  it('waits for readiness and for the spec to be observed', () => {
    expect(
      statefulSetRollout(
        sts({
          observedGeneration: 2,
          readyReplicas: 2,
          currentRevision: 'a',
          updateRevision: 'a',
        }),
      ),
    ).toMatchObject({ done: false, waitingFor: '2 of 3 replica(s) ready' });
    expect(
      statefulSetRollout(sts({ observedGeneration: 1, readyReplicas: 3 })).done,
    ).toBe(false);
  });

  it('with a partition, waits only for the replicas above it', () => {
    const strategy = { type: 'RollingUpdate', rollingUpdate: { partition: 2 } };
    expect(
      statefulSetRollout(
        sts(
          {
            observedGeneration: 2,
            readyReplicas: 3,
            updatedReplicas: 0,
            currentRevision: 'a',
            updateRevision: 'b',
          },
          strategy,
        ),
      ).done,
    ).toBe(false);
    expect(
      statefulSetRollout(
        sts(
          {
            observedGeneration: 2,
            readyReplicas: 3,
            updatedReplicas: 1,
            currentRevision: 'a',
            updateRevision: 'b',
          },
          strategy,
        ),
      ).done,
    ).toBe(true);
  });
});

describe('daemonSetRollout', () => {
  const ds = (status: Record<string, unknown>) => ({
    metadata: { name: 'agent', generation: 3 },
    spec: {},
    status,
  });

  it('waits for every scheduled pod to be updated, then available', () => {
    expect(
      daemonSetRollout(
        ds({
          observedGeneration: 3,
          desiredNumberScheduled: 3,
          updatedNumberScheduled: 2,
          numberAvailable: 3,
          numberReady: 3,
        }),
      ),
    ).toMatchObject({
      done: false,
      waitingFor: '2 of 3 pod(s) updated',
    });
    expect(
      daemonSetRollout(
        ds({
          observedGeneration: 3,
          desiredNumberScheduled: 3,
          updatedNumberScheduled: 3,
          numberAvailable: 2,
        }),
      ),
    ).toMatchObject({
      done: false,
      waitingFor: '2 of 3 updated pod(s) available',
    });
    expect(
      daemonSetRollout(
        ds({
          observedGeneration: 3,
          desiredNumberScheduled: 3,
          updatedNumberScheduled: 3,
          numberAvailable: 3,
        }),
      ),
    ).toMatchObject({ done: true, ready: 3, desired: 3 });
    expect(
      daemonSetRollout(
        ds({
          observedGeneration: 2,
          desiredNumberScheduled: 3,
          updatedNumberScheduled: 3,
          numberAvailable: 3,
        }),
      ).done,
    ).toBe(false);
  });
});

describe('evaluateNamespace during a rollout', () => {
  const rev = (n: string) => ({ 'deployment.kubernetes.io/revision': n });
  const web = {
    metadata: {
      name: 'web',
      namespace: 'ns',
      uid: 'd-1',
      generation: 2,
      annotations: rev('2'),
    },
    spec: { replicas: 1, selector: { matchLabels: { app: 'web' } } },
    status: {
      observedGeneration: 2,
      replicas: 2,
      updatedReplicas: 1,
      availableReplicas: 0,
    },
  };
  const replicaSet = (name: string, revision: string) => ({
    metadata: {
      name,
      uid: `rs-${name}`,
      annotations: rev(revision),
      ownerReferences: [{ uid: 'd-1' }],
    },
  });
  const pod = (name: string, rs: string, reason?: string) => ({
    metadata: {
      name,
      labels: { app: 'web' },
      ownerReferences: [{ uid: `rs-${rs}` }],
    },
    status: {
      containerStatuses: [
        reason
          ? {
              name: 'web',
              ready: false,
              state: { waiting: { reason, message: 'back-off' } },
            }
          : {
              name: 'web',
              ready: false,
              state: { waiting: { reason: 'ContainerCreating' } },
            },
      ],
    },
  });
  const snapshot = (replicaSets?: any[]) => ({
    deployments: [web as any],
    statefulSets: [],
    daemonSets: [],
    jobs: [],
    pods: [
      pod('web-old', 'web-1', 'CrashLoopBackOff'),
      pod('web-new', 'web-2'),
    ] as any[],
    warnings: [],
    ...(replicaSets ? { replicaSets } : {}),
  });

  it("does not call the upgrade failing for the old revision's crash-looping pod it is replacing", () => {
    const ns = evaluateNamespace(
      snapshot([replicaSet('web-1', '1'), replicaSet('web-2', '2')]),
    );
    expect(ns.workloads[0]).toMatchObject({ isReady: false, failing: false });
    expect(ns.workloads[0].problems.join()).not.toContain('CrashLoopBackOff');
  });

  it("calls it failing when the current revision's pod crash-loops", () => {
    const ns = evaluateNamespace({
      ...snapshot([replicaSet('web-1', '1'), replicaSet('web-2', '2')]),
      pods: [
        pod('web-old', 'web-1'),
        pod('web-new', 'web-2', 'CrashLoopBackOff'),
      ] as any[],
    });
    expect(ns.workloads[0]).toMatchObject({ isReady: false, failing: true });
    expect(ns.workloads[0].problems.join()).toContain('pod web-new');
  });

  it('judges every pod of the Deployment when the ReplicaSets are unknown', () => {
    expect(evaluateNamespace(snapshot()).workloads[0].failing).toBe(true);
  });
});

describe('podsMatching (a workload selector, as the API server evaluates it)', () => {
  const pod = (name: string, labels: Record<string, string>) =>
    ({ metadata: { name, labels } } as any);
  const pods = [
    pod('stable', { app: 'web', track: 'stable' }),
    pod('plain', { app: 'web' }),
    pod('canary', { app: 'web', track: 'canary' }),
    pod('api', { app: 'api' }),
  ];
  const names = (selector: any) =>
    podsMatching(pods, selector).map(p => p.metadata?.name);

  it('takes every matchLabels entry and every matchExpression', () => {
    expect(names({ matchLabels: { app: 'web' } })).toEqual([
      'stable',
      'plain',
      'canary',
    ]);
    expect(
      names({
        matchLabels: { app: 'web' },
        matchExpressions: [
          { key: 'track', operator: 'NotIn', values: ['canary'] },
        ],
      }),
    ).toEqual(['stable', 'plain']);
    expect(
      names({
        matchExpressions: [
          { key: 'app', operator: 'In', values: ['web', 'api'] },
          { key: 'track', operator: 'Exists' },
        ],
      }),
    ).toEqual(['stable', 'canary']);
    expect(
      names({ matchExpressions: [{ key: 'track', operator: 'DoesNotExist' }] }),
    ).toEqual(['plain', 'api']);
    expect(selectorProblem({ matchLabels: { app: 'web' } })).toBeUndefined();
  });

  it('selects no pod for a missing or empty selector (apps/v1 refuses one)', () => {
    expect(names(undefined)).toEqual([]);
    expect(names({})).toEqual([]);
    expect(names({ matchLabels: {}, matchExpressions: [] })).toEqual([]);
  });

  it('selects no pod for a selector it cannot read, and says why', () => {
    const odd = {
      matchLabels: { app: 'web' },
      matchExpressions: [{ key: 'track', operator: 'Gt', values: ['1'] }],
    };
    expect(names(odd)).toEqual([]);
    expect(selectorProblem(odd)).toBe(
      'its selector cannot be read (matchExpressions operator "Gt" is not In, NotIn, Exists or DoesNotExist)',
    );
  });
});

describe('Jobs and bare Pods', () => {
  const RELEASE = { 'meta.helm.sh/release-name': 'web' };
  const job = (
    name: string,
    status: Record<string, unknown>,
    metadata: Record<string, unknown> = {},
    spec: Record<string, unknown> = {},
  ) => ({
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, ...metadata },
    spec,
    status,
  });
  const failedCondition = (type: string, reason: string, message: string) => ({
    conditions: [{ type, status: 'True', reason, message }],
  });
  const pod = (
    name: string,
    status: Record<string, unknown>,
    metadata: Record<string, unknown> = {},
  ) => ({ metadata: { name, namespace: 'ns', ...metadata }, status });
  const snapshot = (jobs: any[], pods: any[]) => ({
    deployments: [],
    statefulSets: [],
    daemonSets: [],
    jobs,
    pods,
    warnings: [],
  });

  it('waits for a Job to complete, and fails it for good once the job controller marks it failed', () => {
    expect(jobRollout(job('j', { active: 1 }))).toMatchObject({
      done: false,
      waitingFor: '0 of 1 completion(s)',
    });
    expect(
      jobRollout(
        job('j', {
          succeeded: 1,
          conditions: [{ type: 'Complete', status: 'True' }],
        }),
      ),
    ).toMatchObject({ done: true, ready: 1, desired: 1 });
    for (const type of ['Failed', 'FailureTarget']) {
      expect(
        jobRollout(
          job(
            'j',
            failedCondition(
              type,
              'DeadlineExceeded',
              'Job was active longer than specified deadline',
            ),
          ),
        ),
      ).toMatchObject({
        done: false,
        final: true,
        failed:
          'Job failed: DeadlineExceeded (Job was active longer than specified deadline)',
      });
    }
    expect(jobRollout(job('j', {}, {}, { suspend: true }))).toMatchObject({
      done: false,
      waitingFor: 'the Job to be resumed (it is suspended)',
    });
  });

  it('is done with a bare Pod once it is Ready or has completed, and fails it for good once it failed', () => {
    expect(
      podRollout(
        pod('p', {
          phase: 'Running',
          conditions: [{ type: 'Ready', status: 'True' }],
        }),
      ),
    ).toMatchObject({ done: true });
    expect(podRollout(pod('p', { phase: 'Succeeded' }))).toMatchObject({
      done: true,
    });
    expect(podRollout(pod('p', { phase: 'Pending' }))).toMatchObject({
      done: false,
      waitingFor: 'the pod to start',
    });
    // As the kubelet evicts a pod: phase Failed with a reason and message, no container exit code.
    expect(
      podRollout(
        pod('p', {
          phase: 'Failed',
          reason: 'Evicted',
          message: 'The node was low on resource: memory.',
        }),
      ),
    ).toMatchObject({
      done: false,
      final: true,
      failed: 'pod p failed: Evicted (The node was low on resource: memory.)',
    });
  });

  it("judges a release's own Jobs and bare Pods, never its hooks, nor what a CronJob or a ReplicaSet made", () => {
    const failed = failedCondition('Failed', 'BackoffLimitExceeded', 'limit');
    const ns = evaluateNamespace(
      snapshot(
        [
          job('migrate', failed, { annotations: RELEASE }),
          job('pre-install', failed, {
            annotations: { ...RELEASE, 'helm.sh/hook': 'pre-install' },
          }),
          job('nightly-123', failed, {
            annotations: RELEASE,
            ownerReferences: [{ kind: 'CronJob', uid: 'c', controller: true }],
          }),
          job('by-hand', failed),
        ],
        [
          pod('shell', { phase: 'Failed' }, { annotations: RELEASE }),
          pod(
            'web-abc',
            { phase: 'Failed' },
            {
              annotations: RELEASE,
              ownerReferences: [
                { kind: 'ReplicaSet', uid: 'r', controller: true },
              ],
            },
          ),
          pod('stray', { phase: 'Failed' }),
        ],
      ),
    );
    expect(ns.workloads.map(w => [w.kind, w.name, w.failedFinally])).toEqual([
      ['Job', 'migrate', true],
      ['Pod', 'shell', true],
    ]);
    expect(ns.allReady).toBe(false);
    // A manifests run's own objects are judged by name, with or without a release.
    expect(
      evaluateNamespace(
        snapshot([job('by-hand', failed)], [pod('stray', { phase: 'Failed' })]),
        { objects: [{ kind: 'Job', name: 'by-hand' }] },
      ).workloads.map(w => w.name),
    ).toEqual(['by-hand']);
  });
});
