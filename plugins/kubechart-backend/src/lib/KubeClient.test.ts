import {
  ApiException,
  KubeConfig,
  KubernetesObject,
} from '@kubernetes/client-node';
import {
  DEFAULT_IGNORED_ADDED_FIELDS,
  addedFields,
  readIgnoredAddedFields,
  runAppliers,
} from '../drift/fieldOwners';
import { KubeClient, toTyped, toWire } from './KubeClient';

/**
 * A KubeClient whose object API answers with `stored` as a real API server stores it (quantities in
 * canonical form: `1000m` is `1`, `1024Mi` is `1Gi`, `0.5` is `500m`) and records every write.
 */
function clientWith(stored: KubernetesObject & Record<string, any>) {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443' }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  const client = new KubeClient(kubeConfig);
  const writes: string[] = [];
  /** The objects written, in wire form. */
  const written: Array<KubernetesObject & Record<string, any>> = [];
  const write = (what: string) => async (obj: KubernetesObject) => {
    writes.push(`${what} ${obj.kind}/${obj.metadata?.name}`);
    written.push(toWire(obj));
    return obj;
  };
  Object.defineProperty(client, 'objects', {
    value: {
      // client-node answers with its typed models, as the real object API does.
      read: async () => toTyped(structuredClone(stored)),
      create: write('create'),
      replace: write('replace'),
      patch: write('patch'),
      delete: write('delete'),
    },
  });
  return { client, writes, written };
}

const meta = (name: string, labels: Record<string, string> = {}) => ({
  name,
  namespace: 'tenant-acme',
  labels: { 'app.kubernetes.io/managed-by': 'kubechart', ...labels },
});

const quota = (
  hard: Record<string, string>,
  labels?: Record<string, string>,
) => ({
  apiVersion: 'v1',
  kind: 'ResourceQuota',
  metadata: meta('kubechart-quota', labels),
  spec: { hard },
});

const limitRange = (
  entry: Record<string, Record<string, string>>,
): KubernetesObject & Record<string, any> => ({
  apiVersion: 'v1',
  kind: 'LimitRange',
  metadata: meta('kubechart-limits'),
  spec: { limits: [{ type: 'Container', ...entry }] },
});

/** As the API server stores it: its resourceVersion, uid and status beside what was written. */
const stored = (obj: KubernetesObject & Record<string, any>, status?: any) => ({
  ...obj,
  metadata: { ...obj.metadata, resourceVersion: '42', uid: 'u-1' },
  ...(status ? { status } : {}),
});

describe('KubeClient ensure / applyIfChanged', () => {
  it('leaves a ResourceQuota and a LimitRange alone when the server stores their quantities in canonical form', async () => {
    const q = clientWith(
      stored(
        quota({
          cpu: '1',
          memory: '1Gi',
          'requests.cpu': '500m',
          'requests.storage': '100Gi',
          pods: '20',
        }),
        { hard: { cpu: '1' }, used: { cpu: '0' } },
      ),
    );
    await expect(
      q.client.ensure(
        quota({
          cpu: '1000m',
          memory: '1024Mi',
          'requests.cpu': '0.5',
          'requests.storage': '102400Mi',
          pods: '20',
        }) as any,
      ),
    ).resolves.toBe('unchanged');
    expect(q.writes).toEqual([]);

    const l = clientWith(
      stored(
        limitRange({
          default: { cpu: '1', memory: '1Gi' },
          defaultRequest: { cpu: '500m', memory: '256Mi' },
          max: { cpu: '2', memory: '2Gi' },
          min: { cpu: '10m' },
          maxLimitRequestRatio: { cpu: '4' },
        }),
      ),
    );
    await expect(
      l.client.ensure(
        limitRange({
          default: { cpu: '1000m', memory: '1024Mi' },
          defaultRequest: { cpu: '0.5', memory: '0.25Gi' },
          max: { cpu: '2000m', memory: '2048Mi' },
          min: { cpu: '0.01' },
          maxLimitRequestRatio: { cpu: '4000m' },
        }),
      ),
    ).resolves.toBe('unchanged');
    expect(l.writes).toEqual([]);
  });

  it('does not re-apply objects whose container resources, PVC storage or emptyDir sizeLimit the server canonicalised', async () => {
    const deployment = (
      resources: Record<string, Record<string, string>>,
      sizeLimit: string,
    ) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta('web'),
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            containers: [{ name: 'web', image: 'nginx:1', resources }],
            volumes: [{ name: 'scratch', emptyDir: { sizeLimit } }],
          },
        },
      },
    });
    const d = clientWith(
      stored(
        deployment(
          {
            limits: { cpu: '1', memory: '1Gi' },
            requests: { cpu: '500m', memory: '512Mi' },
          },
          '1Gi',
        ),
      ),
    );
    await expect(
      d.client.applyIfChanged(
        deployment(
          {
            limits: { cpu: '1000m', memory: '1024Mi' },
            requests: { cpu: '0.5', memory: '0.5Gi' },
          },
          '1024Mi',
        ),
      ),
    ).resolves.toBe('unchanged');
    expect(d.writes).toEqual([]);

    const pvc = (storage: string) => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: meta('data'),
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage } },
      },
    });
    const p = clientWith(stored(pvc('1Gi')));
    await expect(p.client.applyIfChanged(pvc('1024Mi'))).resolves.toBe(
      'unchanged',
    );
    expect(p.writes).toEqual([]);
  });

  it('still updates a quantity that denotes another amount', async () => {
    const q = clientWith(stored(quota({ cpu: '1', memory: '1Gi' })));
    await expect(
      q.client.ensure(quota({ cpu: '2', memory: '1024Mi' }) as any),
    ).resolves.toBe('updated');
    expect(q.writes).toEqual(['replace ResourceQuota/kubechart-quota']);

    const l = clientWith(stored(limitRange({ max: { memory: '1Gi' } })));
    await expect(
      l.client.applyIfChanged(limitRange({ max: { memory: '1G' } })),
    ).resolves.toBe('updated');
    expect(l.writes).toEqual(['patch LimitRange/kubechart-limits']);
  });

  it('compares a string that only looks like a quantity, outside a quantity field, as written', async () => {
    // A label as written, and as it would read were it a quantity the server canonicalised.
    for (const [label, written, canonical] of [
      ['cpu', '1000m', '1'],
      ['sizeLimit', '1024Mi', '1Gi'],
      ['limits', '0.5', '500m'],
    ]) {
      const q = clientWith(stored(quota({ cpu: '1' }, { [label]: canonical })));
      await expect(
        q.client.ensure(quota({ cpu: '1000m' }, { [label]: written }) as any),
      ).resolves.toBe('updated');
      expect(q.writes).toEqual(['replace ResourceQuota/kubechart-quota']);
    }

    const configMap = (data: Record<string, string>) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta('settings'),
      data,
    });
    const c = clientWith(stored(configMap({ limits: '1', cpu: '1' })));
    await expect(
      c.client.applyIfChanged(configMap({ limits: '1000m', cpu: '1' })),
    ).resolves.toBe('updated');
    expect(c.writes).toEqual(['patch ConfigMap/settings']);
  });

  describe('with wholeSpec (an object KubeChart owns whole)', () => {
    const policy = (spec: Record<string, unknown>) => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: meta('kubechart-default-deny'),
      spec,
    });
    const denyAll = {
      podSelector: {},
      ingress: [{ from: [{ podSelector: {} }] }, { ports: [{ port: 8080 }] }],
    };

    it('leaves it alone when its spec is the one written, with what the server defaults and leaves out', async () => {
      const p = clientWith(
        stored(
          policy({
            podSelector: {},
            policyTypes: ['Ingress'],
            ingress: [
              { from: [{ podSelector: {} }] },
              { ports: [{ port: 8080, protocol: 'TCP' }] },
            ],
          }),
        ),
      );
      await expect(
        p.client.ensure(policy(denyAll), { wholeSpec: true }),
      ).resolves.toBe('unchanged');
      expect(p.writes).toEqual([]);

      // SetDefaults_LimitRangeItem: a Container item's default request is its default limit, then its min.
      const l = clientWith(
        stored(
          limitRange({
            default: { cpu: '1', memory: '1Gi' },
            defaultRequest: {
              cpu: '500m',
              memory: '1Gi',
              'ephemeral-storage': '1Gi',
            },
            min: { 'ephemeral-storage': '1Gi' },
          }),
        ),
      );
      await expect(
        l.client.ensure(
          limitRange({
            default: { cpu: '1000m', memory: '1024Mi' },
            defaultRequest: { cpu: '0.5' },
            min: { 'ephemeral-storage': '1Gi' },
            max: {},
          }),
          { wholeSpec: true },
        ),
      ).resolves.toBe('unchanged');
      expect(l.writes).toEqual([]);
    });

    it('replaces it when anything was added to its spec, an empty selector that opens it included', async () => {
      for (const opened of [
        // Every pod of every namespace.
        {
          ...denyAll,
          ingress: [
            { from: [{ podSelector: {}, namespaceSelector: {} }] },
            denyAll.ingress[1],
          ],
        },
        { ...denyAll, ingress: [...denyAll.ingress, {}] },
        { ...denyAll, policyTypes: ['Ingress', 'Egress'], egress: [{}] },
      ]) {
        const p = clientWith(stored(policy(opened)));
        await expect(
          p.client.ensure(policy(denyAll), { wholeSpec: true }),
        ).resolves.toBe('updated');
        expect(p.writes).toEqual([
          'replace NetworkPolicy/kubechart-default-deny',
        ]);
      }

      const q = clientWith(
        stored({
          ...quota({ cpu: '1' }),
          spec: { hard: { cpu: '1' }, scopes: ['NotTerminating'] },
        }),
      );
      await expect(
        q.client.ensure(quota({ cpu: '1000m' }) as any, { wholeSpec: true }),
      ).resolves.toBe('updated');
      expect(q.writes).toEqual(['replace ResourceQuota/kubechart-quota']);

      const l = clientWith(
        stored(limitRange({ default: { cpu: '1' }, max: { cpu: '100' } })),
      );
      await expect(
        l.client.ensure(limitRange({ default: { cpu: '1' } }), {
          wholeSpec: true,
        }),
      ).resolves.toBe('updated');
      expect(l.writes).toEqual(['replace LimitRange/kubechart-limits']);
    });
    it('takes out the labels and annotations drift reports as added, and nothing drift calls in sync', async () => {
      const created = '2026-12-06T09:00:00Z';
      const later = '2026-12-06T09:05:00Z';
      const ignoreAdded = [
        ...DEFAULT_IGNORED_ADDED_FIELDS,
        { path: 'metadata.labels.team' },
      ];
      /** The quota as stored after `manager` (at `time`) wrote its label or annotation `key`. */
      const live = (
        manager: string,
        time: string,
        map: 'labels' | 'annotations',
        key: string,
      ) => {
        const q = quota({ cpu: '1' });
        // In wire form: times are strings (client-node's typed models say Date).
        const metadata: Record<string, any> = {
          ...q.metadata,
          creationTimestamp: created,
          [map]: { ...(q.metadata as any)[map], [key]: 'x' },
          managedFields: [
            {
              manager: 'kubechart',
              operation: 'Update',
              apiVersion: 'v1',
              time: created,
              fieldsType: 'FieldsV1',
              fieldsV1: {
                'f:metadata': {
                  'f:labels': {
                    '.': {},
                    'f:app.kubernetes.io/managed-by': {},
                  },
                },
                'f:spec': { 'f:hard': { '.': {}, 'f:cpu': {} } },
              },
            },
            {
              manager,
              operation: 'Update',
              apiVersion: 'v1',
              time,
              fieldsType: 'FieldsV1',
              fieldsV1: {
                'f:metadata': { [`f:${map}`]: { [`f:${key}`]: {} } },
              },
            },
          ],
        };
        return stored({ ...q, metadata });
      };
      const cases = [
        // helm is one of the appliers drift reads, as KubeChart is.
        { live: live('helm', later, 'labels', 'chart'), drift: [] },
        // `kubechart.drift.ignoreAddedFields` covers it.
        { live: live('policy-ctl', later, 'labels', 'team'), drift: [] },
        // Stamped in the creation second: the creator's (a mutating webhook on KubeChart's create).
        { live: live('policy-ctl', created, 'labels', 'injected'), drift: [] },
        {
          live: live('kubectl-annotate', later, 'annotations', 'note'),
          drift: ['metadata.annotations.note'],
        },
        {
          live: live('policy-ctl', later, 'labels', 'owner'),
          drift: ['metadata.labels.owner'],
        },
      ];
      for (const c of cases) {
        const desired = quota({ cpu: '1' });
        // What drift reports of the live object, with its appliers and ignore rules.
        const wire = toWire(toTyped(c.live));
        const reported = addedFields(
          wire.metadata.managedFields,
          desired,
          wire,
          {
            appliers: runAppliers('kubechart'),
            ignore: readIgnoredAddedFields(ignoreAdded),
          },
        ).map(a => a.segments.map((s: any) => s.field).join('.'));
        expect(reported).toEqual(c.drift);

        const q = clientWith(c.live);
        const outcome = await q.client.ensure(desired as any, {
          wholeSpec: true,
          ignoreAdded,
        });
        const after = q.written[0]?.metadata ?? c.live.metadata;
        const keys = [
          ...Object.keys(after.labels ?? {}).map(k => `metadata.labels.${k}`),
          ...Object.keys(after.annotations ?? {}).map(
            k => `metadata.annotations.${k}`,
          ),
        ];
        const before = [
          ...Object.keys(c.live.metadata.labels ?? {}).map(
            k => `metadata.labels.${k}`,
          ),
          ...Object.keys((c.live.metadata as any).annotations ?? {}).map(
            k => `metadata.annotations.${k}`,
          ),
        ];
        expect({ outcome, keys }).toEqual({
          outcome: c.drift.length ? 'updated' : 'unchanged',
          keys: before.filter(k => !c.drift.includes(k)),
        });
      }
    });
  });
});

describe('KubeClient ensure, when another writer creates the object first', () => {
  const namespace = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: 'kubechart-deployers',
      labels: { 'app.kubernetes.io/managed-by': 'kubechart' },
    },
  };
  /** Reads answer 404 until the create, which answers 409: another run created it in between. */
  function racedClient(createAnswers: number[]) {
    const { client, writes } = clientWith(stored(namespace));
    let exists = false;
    const objects = (client as any).objects;
    Object.defineProperty(client, 'objects', {
      value: {
        ...objects,
        read: async (o: KubernetesObject) => {
          if (!exists)
            throw new ApiException(404, 'not found', { code: 404 }, {});
          return objects.read(o);
        },
        create: async () => {
          exists = true;
          const code = createAnswers.shift()!;
          throw new ApiException(
            code,
            'refused',
            { kind: 'Status', code, reason: 'AlreadyExists' },
            {},
          );
        },
      },
    });
    return { client, writes };
  }

  it('takes the object as it now is instead of failing the run with the 409', async () => {
    const { client, writes } = racedClient([409]);
    await expect(client.ensure(namespace)).resolves.toBe('unchanged');
    expect(writes).toEqual([]);
  });

  it('still fails on any other refusal of the create', async () => {
    const { client } = racedClient([403]);
    await expect(client.ensure(namespace)).rejects.toMatchObject({
      code: 403,
    });
  });
});
