import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rolloutStatus } from './rolloutStatus';

const deployment = (status: object, generation = 1, extra: object = {}) => ({
  kind: 'Deployment',
  metadata: { name: 'web', generation },
  spec: { replicas: 2 },
  status,
  ...extra,
});

describe('rolloutStatus (the line kubectl rollout status prints)', () => {
  it('waits for the spec to be observed, as the recorded first event after an image update shows', () => {
    // ../shared/reference/kube-api/rollout/08-rollout-watch-summary.json: the Deployment right after
    // the image patch still counts the old pods as updated and available.
    const summary = JSON.parse(
      readFileSync(
        join(
          __dirname,
          '../../../../../shared/reference/kube-api/rollout/08-rollout-watch-summary.json',
        ),
        'utf8',
      ),
    );
    const first = summary.events.find((e: any) => e.kind === 'Deployment');
    expect(first.generation).toBeGreaterThan(first.observedGeneration);
    expect(
      rolloutStatus(
        deployment(
          {
            observedGeneration: first.observedGeneration,
            replicas: first.replicas,
            updatedReplicas: first.updatedReplicas,
            availableReplicas: first.availableReplicas,
          },
          first.generation,
        ),
      ),
    ).toBe('Waiting for deployment spec update to be observed...');
  });

  it('says a deployment past its progress deadline failed, never that it rolled out', () => {
    expect(
      rolloutStatus(
        deployment({
          observedGeneration: 1,
          replicas: 2,
          updatedReplicas: 2,
          availableReplicas: 2,
          conditions: [
            {
              type: 'Progressing',
              status: 'False',
              reason: 'ProgressDeadlineExceeded',
            },
          ],
        }),
      ),
    ).toBe('error: deployment "web" exceeded its progress deadline');
  });

  it('counts a deployment rollout as kubectl does, then says it rolled out', () => {
    const at = (s: object) =>
      rolloutStatus(deployment({ observedGeneration: 1, ...s }));
    expect(at({ replicas: 3, updatedReplicas: 1, availableReplicas: 2 })).toBe(
      'Waiting for deployment "web" rollout to finish: 1 out of 2 new replicas have been updated...',
    );
    expect(at({ replicas: 3, updatedReplicas: 2, availableReplicas: 2 })).toBe(
      'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...',
    );
    expect(at({ replicas: 2, updatedReplicas: 2, availableReplicas: 1 })).toBe(
      'Waiting for deployment "web" rollout to finish: 1 of 2 updated replicas are available...',
    );
    expect(at({ replicas: 2, updatedReplicas: 2, availableReplicas: 2 })).toBe(
      'deployment "web" successfully rolled out',
    );
  });

  it('follows a daemon set as kubectl does', () => {
    const ds = (status: object, generation = 1, strategy = 'RollingUpdate') =>
      rolloutStatus({
        kind: 'DaemonSet',
        metadata: { name: 'agent', generation },
        spec: { updateStrategy: { type: strategy } },
        status,
      });
    expect(ds({ observedGeneration: 1 }, 2)).toBe(
      'Waiting for daemon set spec update to be observed...',
    );
    expect(
      ds({
        observedGeneration: 1,
        desiredNumberScheduled: 3,
        updatedNumberScheduled: 1,
        numberAvailable: 3,
      }),
    ).toBe(
      'Waiting for daemon set "agent" rollout to finish: 1 out of 3 new pods have been updated...',
    );
    expect(
      ds({
        observedGeneration: 1,
        desiredNumberScheduled: 3,
        updatedNumberScheduled: 3,
        numberAvailable: 2,
      }),
    ).toBe(
      'Waiting for daemon set "agent" rollout to finish: 2 of 3 updated pods are available...',
    );
    expect(
      ds({
        observedGeneration: 1,
        desiredNumberScheduled: 3,
        updatedNumberScheduled: 3,
        numberAvailable: 3,
      }),
    ).toBe('daemon set "agent" successfully rolled out');
    expect(ds({ observedGeneration: 1 }, 1, 'OnDelete')).toBe(
      'error: rollout status is only available for RollingUpdate strategy type',
    );
  });

  it('follows a stateful set as kubectl does', () => {
    const sts = (status: object, spec: object = {}, generation = 1) =>
      rolloutStatus({
        kind: 'StatefulSet',
        metadata: { name: 'db', generation },
        spec: {
          replicas: 3,
          updateStrategy: { type: 'RollingUpdate' },
          ...spec,
        },
        status,
      });
    expect(sts({ observedGeneration: 1 }, {}, 2)).toBe(
      'Waiting for statefulset spec update to be observed...',
    );
    expect(sts({ observedGeneration: 1, readyReplicas: 1 })).toBe(
      'Waiting for 2 pods to be ready...',
    );
    expect(
      sts({
        observedGeneration: 1,
        readyReplicas: 3,
        updatedReplicas: 1,
        currentRevision: 'db-1',
        updateRevision: 'db-2',
      }),
    ).toBe(
      'waiting for statefulset rolling update to complete 1 pods at revision db-2...',
    );
    expect(
      sts(
        { observedGeneration: 1, readyReplicas: 3, updatedReplicas: 1 },
        {
          updateStrategy: {
            type: 'RollingUpdate',
            rollingUpdate: { partition: 1 },
          },
        },
      ),
    ).toBe(
      'Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...',
    );
    expect(
      sts({
        observedGeneration: 1,
        readyReplicas: 3,
        updatedReplicas: 3,
        currentReplicas: 3,
        currentRevision: 'db-2',
        updateRevision: 'db-2',
      }),
    ).toBe('statefulset rolling update complete 3 pods at revision db-2...');
  });
});
