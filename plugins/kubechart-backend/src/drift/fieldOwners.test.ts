import { formatPath } from './compare';
import {
  DEFAULT_IGNORED_ADDED_FIELDS,
  ManagedFieldsEntry,
  addedFields,
  readIgnoredAddedFields,
} from './fieldOwners';

const appliers = ['kubechart', 'helm'];

/**
 * Runs `work` (synchronous), counting the steps it takes through arrays, maps and sets: each item a
 * `for…of` or a spread visits, each call of an array method's callback (`some`, `filter`…), each
 * item `includes` or `indexOf` passes, and each map or set lookup. A pass over what was found inside
 * another pass over it counts n² steps, however fast the machine.
 */
function stepsOf<T>(work: () => T): { result: T; steps: number } {
  const tally = { steps: 0 };
  const restore: Array<() => void> = [];
  const replace = (
    target: any,
    name: string,
    counted: (original: (...args: any[]) => any) => (...args: any[]) => any,
  ) => {
    const original = target[name];
    const set = (value: unknown) =>
      Object.defineProperty(target, name, {
        value,
        configurable: true,
        writable: true,
      });
    set(counted(original));
    restore.push(() => set(original));
  };
  for (const iterator of [
    [][Symbol.iterator](),
    new Map()[Symbol.iterator](),
    new Set()[Symbol.iterator](),
  ]) {
    replace(
      Object.getPrototypeOf(iterator),
      'next',
      next =>
        function counted(this: unknown) {
          tally.steps++;
          return next.call(this);
        },
    );
  }
  for (const name of [
    'every',
    'filter',
    'find',
    'findIndex',
    'flatMap',
    'forEach',
    'map',
    'reduce',
    'some',
  ]) {
    replace(
      Array.prototype,
      name,
      method =>
        function counted(this: unknown[], fn: Function, ...rest: unknown[]) {
          return method.call(
            this,
            function step(this: unknown, ...args: unknown[]) {
              tally.steps++;
              return fn.apply(this, args);
            },
            ...rest,
          );
        },
    );
  }
  for (const name of ['includes', 'indexOf']) {
    replace(
      Array.prototype,
      name,
      method =>
        function counted(this: unknown[], ...args: unknown[]) {
          tally.steps += this.length;
          return method.apply(this, args);
        },
    );
  }
  for (const [prototype, names] of [
    [Map.prototype, ['get', 'has', 'set']],
    [Set.prototype, ['add', 'has']],
  ] as const) {
    for (const name of names) {
      replace(
        prototype,
        name,
        method =>
          function counted(this: unknown, ...args: unknown[]) {
            tally.steps++;
            return method.apply(this, args);
          },
      );
    }
  }
  try {
    const result = work();
    return { result, steps: tally.steps };
  } finally {
    for (const undo of restore.reverse()) undo();
  }
}

describe('addedFields', () => {
  const applied = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'c' },
    data: { mode: 'fast' },
  };
  const ours = (time: string): ManagedFieldsEntry => ({
    manager: 'kubechart',
    operation: 'Apply',
    time,
    fieldsV1: { 'f:data': { 'f:mode': {} } },
  });
  const other = (
    manager: string,
    time: string,
    keys: string[],
  ): ManagedFieldsEntry => ({
    manager,
    operation: 'Update',
    time,
    fieldsV1: {
      'f:data': Object.fromEntries(keys.map(k => [`f:${k}`, {}])),
    },
  });
  const created = { name: 'c', creationTimestamp: '2026-12-03T09:00:00Z' };
  const live = {
    ...applied,
    metadata: created,
    data: { mode: 'fast', old: '1', new: '2' },
  };
  const paths = (managedFields: ManagedFieldsEntry[]) =>
    addedFields(managedFields, applied, live, { appliers }).map(a =>
      formatPath(a.segments),
    );

  it('counts entries written after the object was created, by server time, whenever the run’s managers last wrote it', () => {
    // The creator (kubectl apply) owns what it set when it created the object: not added.
    expect(
      paths([
        other('kubectl-client-side-apply', '2026-12-03T08:59:00Z', ['old']),
        ours('2026-12-03T09:01:00Z'),
        other('kubectl-edit', '2026-12-03T09:02:00Z', ['new']),
      ]),
    ).toEqual(['data.new']);
    // A write in the same second as the run's, after the creation second, counts.
    expect(
      paths([
        ours('2026-12-03T09:01:00Z'),
        other('kubectl-edit', '2026-12-03T09:01:00Z', ['new']),
      ]),
    ).toEqual(['data.new']);
    // No entry of the run's managers (another manager took their fields over): still counted.
    expect(
      paths([other('kubectl-edit', '2026-12-03T09:02:00Z', ['new'])]),
    ).toEqual(['data.new']);
    // An entry without a time is not known to be later than the creation: refused, not guessed.
    expect(() =>
      paths([{ ...other('kubectl-edit', '', ['new']), time: undefined }]),
    ).toThrow(/no time/);
    // Without the object's creation time, what was added cannot be told: refused, not guessed.
    expect(() =>
      addedFields(
        [other('kubectl-edit', '2026-12-03T09:02:00Z', ['new'])],
        applied,
        { ...live, metadata: { name: 'c' } },
        { appliers },
      ),
    ).toThrow(/creationTimestamp/);
  });

  it('still reports a container kubectl edit added after a later helm or kubechart write of the object', () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        template: {
          spec: { containers: [{ name: 'web', image: 'web:1.0.0' }] },
        },
      },
    };
    const mined = {
      ...deployment,
      metadata: { name: 'web', creationTimestamp: '2026-12-03T09:00:00Z' },
      spec: {
        template: {
          spec: {
            containers: [
              { name: 'web', image: 'web:1.0.0' },
              {
                name: 'miner',
                image: 'miner:1',
                securityContext: { privileged: true },
              },
            ],
          },
        },
      },
    };
    const entries = (oursAt: string): ManagedFieldsEntry[] => [
      {
        manager: 'kubechart',
        operation: 'Apply',
        time: oursAt,
        fieldsV1: {
          'f:spec': {
            'f:template': {
              'f:spec': {
                'f:containers': {
                  'k:{"name":"web"}': { 'f:image': {}, 'f:name': {} },
                },
              },
            },
          },
        },
      },
      {
        manager: 'kubectl-edit',
        operation: 'Update',
        time: '2026-12-03T09:02:00Z',
        fieldsV1: {
          'f:spec': {
            'f:template': {
              'f:spec': {
                'f:containers': {
                  'k:{"name":"miner"}': {
                    '.': {},
                    'f:image': {},
                    'f:name': {},
                    'f:securityContext': { 'f:privileged': {} },
                  },
                },
              },
            },
          },
        },
      },
    ];
    const found = (oursAt: string) =>
      addedFields(entries(oursAt), deployment, mined, { appliers }).map(a => [
        formatPath(a.segments),
        a.manager,
      ]);
    const miner = [
      ['spec.template.spec.containers[name=miner]', 'kubectl-edit'],
    ];
    expect(found('2026-12-03T09:00:00Z')).toEqual(miner);
    // A re-apply (or a routine upgrade) writes the object again at 09:05: the container is still live.
    expect(found('2026-12-03T09:05:00Z')).toEqual(miner);
  });

  it('leaves out what the creator owns from the creation second: the server defaults it wrote', () => {
    // As an API server answers a create by another manager (../shared/reference/kube-api/rollout/01-deployment-create.json).
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        template: {
          spec: { containers: [{ name: 'app', image: 'nginx:1.25' }] },
        },
      },
    };
    const stored = {
      ...deployment,
      metadata: { name: 'web', creationTimestamp: '2026-12-02T15:54:16Z' },
      spec: {
        progressDeadlineSeconds: 600,
        revisionHistoryLimit: 10,
        template: {
          spec: {
            containers: [
              {
                name: 'app',
                image: 'nginx:1.25',
                imagePullPolicy: 'IfNotPresent',
                terminationMessagePath: '/dev/termination-log',
              },
            ],
            dnsPolicy: 'ClusterFirst',
            restartPolicy: 'Always',
          },
        },
      },
    };
    const creator: ManagedFieldsEntry = {
      manager: 'unknown',
      operation: 'Update',
      time: '2026-12-02T15:54:16Z',
      fieldsV1: {
        'f:spec': {
          'f:progressDeadlineSeconds': {},
          'f:revisionHistoryLimit': {},
          'f:template': {
            'f:spec': {
              'f:containers': {
                'k:{"name":"app"}': {
                  '.': {},
                  'f:image': {},
                  'f:imagePullPolicy': {},
                  'f:name': {},
                  'f:terminationMessagePath': {},
                },
              },
              'f:dnsPolicy': {},
              'f:restartPolicy': {},
            },
          },
        },
      },
    };
    const kubechart: ManagedFieldsEntry = {
      manager: 'kubechart',
      operation: 'Apply',
      time: '2026-12-02T15:58:00Z',
      fieldsV1: {
        'f:spec': {
          'f:template': {
            'f:spec': {
              'f:containers': {
                'k:{"name":"app"}': { 'f:image': {}, 'f:name': {} },
              },
            },
          },
        },
      },
    };
    expect(
      addedFields([creator, kubechart], deployment, stored, { appliers }),
    ).toEqual([]);
    // The creator writing the object again later: what it owns counts from then on.
    expect(
      addedFields(
        [{ ...creator, time: '2026-12-02T16:10:00Z' }, kubechart],
        deployment,
        stored,
        { appliers },
      )
        .map(a => formatPath(a.segments))
        .sort(),
    ).toEqual([
      'spec.progressDeadlineSeconds',
      'spec.revisionHistoryLimit',
      'spec.template.spec.containers[name=app].imagePullPolicy',
      'spec.template.spec.containers[name=app].terminationMessagePath',
      'spec.template.spec.dnsPolicy',
      'spec.template.spec.restartPolicy',
    ]);
  });

  it('leaves out what the ignore list covers: a rollout restart, cainjector’s caBundle', () => {
    const ignore = readIgnoredAddedFields(DEFAULT_IGNORED_ADDED_FIELDS);
    const webhook = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'w' },
      webhooks: [
        {
          name: 'a.example.com',
          clientConfig: { service: { name: 's', namespace: 'n' } },
        },
      ],
    };
    const injected = {
      ...webhook,
      metadata: { name: 'w', creationTimestamp: '2026-12-03T09:00:00Z' },
      webhooks: [
        {
          name: 'a.example.com',
          clientConfig: {
            service: { name: 's', namespace: 'n' },
            caBundle: 'LS0t',
          },
        },
      ],
    };
    const entries = (manager: string): ManagedFieldsEntry[] => [
      {
        manager: 'helm',
        operation: 'Update',
        time: '2026-12-03T09:00:00Z',
        fieldsV1: {
          'f:webhooks': {
            'k:{"name":"a.example.com"}': {
              'f:clientConfig': { 'f:service': {} },
            },
          },
        },
      },
      {
        manager,
        operation: 'Update',
        time: '2026-12-03T09:05:00Z',
        fieldsV1: {
          'f:webhooks': {
            'k:{"name":"a.example.com"}': {
              'f:clientConfig': { 'f:caBundle': {} },
            },
          },
        },
      },
    ];
    expect(
      addedFields(entries('cert-manager-cainjector'), webhook, injected, {
        appliers,
        ignore,
      }),
    ).toEqual([]);
    // Written by another manager, it counts.
    expect(
      addedFields(entries('kubectl-edit'), webhook, injected, {
        appliers,
        ignore,
      }).map(a => formatPath(a.segments)),
    ).toEqual(['webhooks[name=a.example.com].clientConfig.caBundle']);

    // A restart on a template without annotations: the annotation is left out, another one is not.
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: { template: { metadata: { labels: { app: 'web' } } } },
    };
    const restarted = {
      ...deployment,
      metadata: { name: 'web', creationTimestamp: '2026-12-03T09:00:00Z' },
      spec: {
        template: {
          metadata: {
            labels: { app: 'web' },
            annotations: {
              'kubectl.kubernetes.io/restartedAt': '2026-12-03T09:05:00Z',
              extra: 'x',
            },
          },
        },
      },
    };
    const restart = (keys: string[]): ManagedFieldsEntry[] => [
      {
        manager: 'kubechart',
        operation: 'Apply',
        time: '2026-12-03T09:00:00Z',
        fieldsV1: {
          'f:spec': {
            'f:template': { 'f:metadata': { 'f:labels': { 'f:app': {} } } },
          },
        },
      },
      {
        manager: 'kubectl-rollout',
        operation: 'Update',
        time: '2026-12-03T09:05:00Z',
        fieldsV1: {
          'f:spec': {
            'f:template': {
              'f:metadata': {
                'f:annotations': Object.fromEntries(
                  keys.map(k => [`f:${k}`, {}]),
                ),
              },
            },
          },
        },
      },
    ];
    expect(
      addedFields(
        restart(['kubectl.kubernetes.io/restartedAt']),
        deployment,
        restarted,
        { appliers, ignore },
      ),
    ).toEqual([]);
    expect(
      addedFields(
        restart(['kubectl.kubernetes.io/restartedAt', 'extra']),
        deployment,
        restarted,
        { appliers, ignore },
      ).map(a => formatPath(a.segments)),
    ).toEqual(['spec.template.metadata.annotations.extra']);
  });

  it('leaves out the deployment revision the controller writes right after creation, on k3s too', () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: { replicas: 1 },
    };
    const stored = {
      ...deployment,
      metadata: {
        name: 'web',
        creationTimestamp: '2026-12-03T08:01:36Z',
        annotations: { 'deployment.kubernetes.io/revision': '1' },
      },
    };
    // As on ../shared/reference/kube-api/rollout/09-deployment-after-rollout.json, the deployment
    // controller's revision annotation (operation Update, no subresource), one second after helm
    // created the object: k3s runs its controllers in one process, under the manager `k3s`.
    const entries = (manager: string): ManagedFieldsEntry[] => [
      {
        manager: 'helm',
        operation: 'Update',
        time: '2026-12-03T08:01:36Z',
        fieldsV1: { 'f:spec': { 'f:replicas': {} } },
      },
      {
        manager,
        operation: 'Update',
        time: '2026-12-03T08:01:37Z',
        fieldsV1: {
          'f:metadata': {
            'f:annotations': {
              '.': {},
              'f:deployment.kubernetes.io/revision': {},
            },
          },
        },
      },
    ];
    const ignore = readIgnoredAddedFields(DEFAULT_IGNORED_ADDED_FIELDS);
    // k3s is Kubernetes' own controllers, whatever they write.
    expect(
      addedFields(entries('k3s'), deployment, stored, { appliers }),
    ).toEqual([]);
    // The revision annotation is the controller's bookkeeping, whoever writes it.
    expect(
      addedFields(entries('other-controller'), deployment, stored, {
        appliers,
        ignore,
      }),
    ).toEqual([]);
    // Without the default ignore list, another manager's annotation counts.
    expect(
      addedFields(entries('other-controller'), deployment, stored, {
        appliers,
      }).map(a => `${formatPath(a.segments)} by ${a.manager}`),
    ).toEqual(['metadata.annotations by other-controller']);
    // Another annotation written with it still counts, on its own.
    const noted = {
      ...stored,
      metadata: {
        ...stored.metadata,
        annotations: { ...stored.metadata.annotations, note: 'x' },
      },
    };
    const withNote = entries('k3s');
    withNote.push({
      manager: 'kubectl-annotate',
      operation: 'Update',
      time: '2026-12-03T08:05:00Z',
      fieldsV1: {
        'f:metadata': {
          'f:annotations': {
            'f:deployment.kubernetes.io/revision': {},
            'f:note': {},
          },
        },
      },
    });
    expect(
      addedFields(withNote, deployment, noted, { appliers, ignore }).map(
        a => `${formatPath(a.segments)} by ${a.manager}`,
      ),
    ).toEqual(['metadata.annotations.note by kubectl-annotate']);
  });

  it('refuses an ignore path it cannot read', () => {
    expect(() => readIgnoredAddedFields([{ path: 'spec..x' }])).toThrow(
      /cannot be read/,
    );
    expect(() => readIgnoredAddedFields([{ path: 'a[b' }])).toThrow(
      /cannot be read/,
    );
    expect(() => readIgnoredAddedFields([{ path: '' }])).toThrow(
      /cannot be read/,
    );
    expect(
      readIgnoredAddedFields([
        { path: 'metadata.annotations["a.b/c"]' },
        { manager: 'm', path: 'spec.ports[port=80,protocol=TCP]' },
      ]),
    ).toEqual([
      { tokens: ['f:metadata', 'f:annotations', 'f:a.b/c'] },
      { manager: 'm', tokens: ['f:spec', 'f:ports', 'k:port=80,protocol=TCP'] },
    ]);
  });

  it('finds added keys in linear time: twice the keys, twice the steps', () => {
    const stepsFor = (n: number) => {
      const keys = Array.from({ length: n }, (_, i) => `key${i}`);
      const big = {
        ...applied,
        metadata: created,
        data: {
          mode: 'fast',
          ...Object.fromEntries(keys.map(k => [k, 'v'])),
        },
      };
      const { result, steps } = stepsOf(() =>
        addedFields(
          [
            ours('2026-12-03T09:01:00Z'),
            other('kubectl-patch', '2026-12-03T09:02:00Z', keys),
          ],
          applied,
          big,
          { appliers },
        ),
      );
      expect(result).toHaveLength(n);
      return steps;
    };
    const once = stepsFor(2_000);
    const twice = stepsFor(4_000);
    // Linear: twice the steps (and some constant); quadratic (each found path against every
    // other): four times.
    expect(twice).toBeGreaterThan(1.5 * once);
    expect(twice).toBeLessThan(2.5 * once);
  });
});
