import { countingReads, turnsDuring } from '@internal/kube-sim/testUtils';
import { PathSegment, formatPath } from './compare';
import {
  DEFAULT_IGNORED_ADDED_FIELDS,
  MAX_OWNERSHIP_FIELDS,
  ManagedFieldsEntry,
  OWNERSHIP_FIELDS_PER_TURN,
  addedFields,
  readIgnoredAddedFields,
  readOwnership,
} from './fieldOwners';
import { fieldOwner } from '../__testUtils__/fieldOwner';

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

describe('readOwnership', () => {
  const T0 = '2026-12-03T09:00:00Z';
  const T1 = '2026-12-03T09:01:00Z';
  const T2 = '2026-12-03T09:02:00Z';
  const T3 = '2026-12-03T09:03:00Z';
  const data = (...keys: string[]) => [
    { field: 'data' },
    ...keys.map(field => ({ field })),
  ];
  /** An entry of `manager` owning ConfigMap data keys. */
  const owning = (
    manager: string,
    time: string,
    keys: string[],
  ): ManagedFieldsEntry => ({
    manager,
    operation: 'Apply',
    time,
    fieldsV1: { 'f:data': Object.fromEntries(keys.map(k => [`f:${k}`, {}])) },
  });
  const keysOf = (n: number) =>
    Array.from({ length: n }, (_, i) => `item-${i}`);
  const read = async (
    managedFields: ManagedFieldsEntry[],
    request: Parameters<typeof readOwnership>[1],
  ) => {
    const result = await readOwnership(managedFields, request);
    if ('notRead' in result) throw new Error('the ownership was not read');
    return result;
  };

  it('names the owner of each path that a look-up of that path names', async () => {
    const ports = [{ field: 'spec' }, { field: 'ports' }];
    const web = [
      { field: 'spec' },
      { field: 'template' },
      { field: 'spec' },
      { field: 'containers' },
      { key: { name: 'web' } },
    ];
    const managedFields: ManagedFieldsEntry[] = [
      {
        manager: 'helm',
        operation: 'Update',
        time: T0,
        fieldsV1: {
          'f:metadata': { 'f:labels': { 'f:app': {} } },
          'f:spec': {
            'f:replicas': {},
            'f:ports': {
              // The same item twice (a number and a string): a look-up finds the first only.
              'k:{"port":80,"protocol":"TCP"}': { '.': {}, 'f:port': {} },
              'k:{"port":"80","protocol":"TCP"}': { 'f:name': {} },
              'k:not json': {},
              'k:5': {},
            },
            'f:template': {
              'f:spec': {
                'f:containers': {
                  'k:{"name":"web"}': {
                    'f:image': {},
                    'f:env': {
                      'k:{"name":"MODE"}': { 'f:name': {}, 'f:value': {} },
                    },
                  },
                },
              },
            },
          },
        },
      },
      // `kubectl scale` writes through the scale subresource: it counts.
      {
        manager: 'kubectl',
        operation: 'Update',
        subresource: 'scale',
        time: T1,
        fieldsV1: { 'f:spec': { 'f:replicas': {} } },
      },
      // Status entries and entries without a manager do not.
      {
        manager: 'kube-controller-manager',
        operation: 'Update',
        subresource: 'status',
        time: T3,
        fieldsV1: { 'f:status': { 'f:replicas': {} }, 'f:spec': {} },
      },
      {
        operation: 'Update',
        time: T3,
        fieldsV1: { 'f:spec': { 'f:replicas': {} } },
      },
      // Two writers in the same second: the first entry.
      {
        manager: 'first',
        operation: 'Apply',
        time: T2,
        fieldsV1: { 'f:metadata': { 'f:labels': { 'f:app': {} } } },
      },
      {
        manager: 'second',
        operation: 'Apply',
        time: T2,
        fieldsV1: {
          'f:metadata': { 'f:labels': { 'f:app': {}, 'f:tier': null } },
        },
      },
      {
        manager: 'timeless',
        operation: 'Update',
        fieldsV1: { 'f:data': { 'f:x': {} } },
      },
      { manager: 'no-fields', operation: 'Update', time: T3 },
      {
        manager: 'kubectl-set',
        operation: 'Update',
        time: T2,
        fieldsV1: {
          'f:spec': {
            'f:template': {
              'f:spec': {
                'f:containers': {
                  'k:{"name":"web"}': {
                    'f:env': { 'k:{"name":"MODE"}': { 'f:value': {} } },
                  },
                },
              },
            },
          },
        },
      },
    ];
    const port80 = { key: { port: 80, protocol: 'TCP' } };
    const paths: PathSegment[][] = [
      [],
      [{ field: 'spec' }],
      [{ field: 'spec' }, { field: 'replicas' }],
      [{ field: 'status' }, { field: 'replicas' }],
      [{ field: 'metadata' }, { field: 'labels' }, { field: 'app' }],
      [{ field: 'metadata' }, { field: 'labels' }, { field: 'tier' }],
      [
        { field: 'metadata' },
        { field: 'labels' },
        { field: 'tier' },
        { field: 'x' },
      ],
      [...ports, port80],
      [...ports, port80, { field: 'port' }],
      [...ports, port80, { field: 'name' }],
      [...ports, { key: { protocol: 'TCP', port: '80' } }, { field: 'port' }],
      [...ports, { key: { port: 443, protocol: 'TCP' } }],
      [...web, { field: 'image' }],
      [...web, { field: 'env' }, { key: { name: 'MODE' } }, { field: 'value' }],
      [...web, { field: 'env' }, { key: { name: 'MODE' } }, { field: 'name' }],
      [...web.slice(0, 4), { key: { name: 'db' } }],
      data('x'),
      data(),
      [{ field: 'spec' }, { field: 'nothing' }],
    ];
    const { owners } = await read(managedFields, { paths });
    // Read together, each as read alone.
    expect(owners).toEqual(
      await Promise.all(paths.map(p => fieldOwner(managedFields, p))),
    );
    // What the cases are about.
    expect(owners.map(o => o?.manager)).toEqual([
      'first',
      'kubectl-set',
      'kubectl',
      undefined,
      'first',
      'second',
      undefined,
      'helm',
      'helm',
      undefined,
      'helm',
      undefined,
      'helm',
      'kubectl-set',
      'helm',
      undefined,
      'timeless',
      'timeless',
      undefined,
    ]);
  });

  it('reads in linear work: twice the changed fields and the field managers, twice the reads', async () => {
    const readsFor = async (changed: number, managers: number) => {
      const keys = keysOf(changed);
      // Every value changed by one manager, then each of `managers` more writes one of them again.
      const counted = countingReads([
        owning('editor', T1, keys),
        ...Array.from({ length: managers }, (_, i) =>
          owning(`manager-${i}`, T2, [keys[i]]),
        ),
      ]);
      const { owners } = await read(counted.value, {
        paths: keys.map(k => data(k)),
      });
      expect(owners[0]).toEqual({
        manager: 'manager-0',
        operation: 'Apply',
        time: T2,
      });
      expect(owners[changed - 1]?.manager).toBe('editor');
      return counted.reads();
    };
    const once = await readsFor(2_000, 500);
    const twice = await readsFor(4_000, 1_000);
    // Linear: twice the reads (and some constant); each changed field looked up in every entry:
    // four times.
    expect(twice).toBeGreaterThan(1.5 * once);
    expect(twice).toBeLessThan(2.5 * once);
  });

  it('lets the event loop turn while it reads, with no more work between two turns than a part', async () => {
    // 15,000 values changed by one manager and 5,000 more managers writing one each, read for
    // owners and for the fields other managers added.
    const keys = keysOf(15_000);
    const managedFields = [
      owning('kubechart', T0, keys),
      owning('editor', T1, keys),
      ...Array.from({ length: 5_000 }, (_, i) =>
        owning(`manager-${i}`, T2, [`added-${i}`]),
      ),
    ];
    const applied = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'big' },
      data: Object.fromEntries(keys.map(k => [k, 'blue'])),
    };
    const live = {
      ...applied,
      metadata: { name: 'big', creationTimestamp: T0, managedFields },
      data: {
        ...Object.fromEntries(keys.map(k => [k, 'green'])),
        ...Object.fromEntries(keysOf(5_000).map((_, i) => [`added-${i}`, 'x'])),
      },
    };
    const counted = countingReads(managedFields);
    // The reads between two turns of the event loop, the largest.
    let largest = 0;
    let last = 0;
    let done = false;
    const sample = () => {
      largest = Math.max(largest, counted.reads() - last);
      last = counted.reads();
      if (!done) setImmediate(sample);
    };
    setImmediate(sample);
    let result: Awaited<ReturnType<typeof read>> | undefined;
    const turns = await turnsDuring(async () => {
      result = await read(counted.value, {
        paths: keys.map(k => data(k)),
        added: { applied, live, appliers: ['kubechart'] },
      });
    });
    done = true;
    sample();
    const total = counted.reads();
    expect(result!.owners.every(o => o?.manager === 'editor')).toBe(true);
    // What other managers added, as addedFields finds it at once.
    expect(result!.added).toEqual(
      addedFields(managedFields, applied, live, { appliers: ['kubechart'] }),
    );
    expect(result!.added).toHaveLength(5_000);
    // 40,001 fields, counted, then read for owners and for what was added: a turn per part.
    expect(turns).toBeGreaterThanOrEqual(
      (3 * 40_001) / OWNERSHIP_FIELDS_PER_TURN - 3,
    );
    // A part of the work between two turns: the keys of the largest map (15,000 at once, as they
    // are listed) and a part's fields, each read a few times; never the whole.
    expect(largest).toBeLessThan(4 * (15_000 + OWNERSHIP_FIELDS_PER_TURN));
    expect(total).toBeGreaterThan(4 * largest);
  }, 120_000);

  it('reads nothing of an ownership larger than it reads, counting no further than its bound', async () => {
    // One map of keys, shared by the entries (a bound's worth of keys is costly to build).
    const keys = Object.fromEntries(
      keysOf(MAX_OWNERSHIP_FIELDS - 1).map(k => [`f:${k}`, {}]),
    );
    const entry = (
      manager: string,
      fieldsV1: Record<string, unknown>,
    ): ManagedFieldsEntry => ({
      manager,
      operation: 'Apply',
      time: T1,
      fieldsV1,
    });
    // `f:data`, the keys under it and `f:extra`: one field more than the bound; then ten times as
    // many more.
    const over = [
      entry('editor', { 'f:data': keys, 'f:extra': {} }),
      ...Array.from({ length: 10 }, (_, i) =>
        entry(`manager-${i}`, { 'f:data': keys }),
      ),
    ];
    const counted = countingReads(over);
    expect(
      await readOwnership(counted.value, { paths: [data('item-0')] }),
    ).toEqual({ notRead: { maxFields: MAX_OWNERSHIP_FIELDS } });
    // The first entry's keys listed and each looked at once; none of the entries after it.
    expect(counted.reads()).toBeLessThan(2 * MAX_OWNERSHIP_FIELDS + 100);
    // At the bound it is read; status entries are not read, and do not count.
    const at = [
      entry('editor', { 'f:data': keys }),
      {
        ...entry('kube-controller-manager', { 'f:status': keys }),
        subresource: 'status',
      },
    ];
    expect(await readOwnership(at, { paths: [data('item-0')] })).toEqual({
      owners: [{ manager: 'editor', operation: 'Apply', time: T1 }],
      added: [],
    });
    // Asked only for what other managers added, only their entries count.
    const ours = [entry('kubechart', { 'f:data': keys, 'f:extra': {} })];
    const live = { metadata: { creationTimestamp: T0 }, data: {} };
    expect(
      await readOwnership(ours, {
        paths: [],
        added: { applied: live, live, appliers: ['kubechart'] },
      }),
    ).toEqual({ owners: [], added: [] });
    expect(
      await readOwnership(ours, {
        paths: [],
        added: { applied: live, live, appliers: ['helm'] },
      }),
    ).toEqual({ notRead: { maxFields: MAX_OWNERSHIP_FIELDS } });
  }, 120_000);
});
