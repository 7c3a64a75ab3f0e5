import { formatPath } from './compare';
import {
  DEFAULT_IGNORED_ADDED_FIELDS,
  ManagedFieldsEntry,
  addedFields,
  readIgnoredAddedFields,
} from './fieldOwners';

const appliers = ['kubechart', 'helm'];

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
  const live = {
    ...applied,
    data: { mode: 'fast', old: '1', new: '2' },
  };
  const paths = (managedFields: ManagedFieldsEntry[]) =>
    addedFields(managedFields, applied, live, { appliers }).map(a =>
      formatPath(a.segments),
    );

  it('counts only entries written after the run’s managers last wrote the object, by server time', () => {
    // The creator (kubectl apply) owns what it set before the run took the object over.
    expect(
      paths([
        other('kubectl-client-side-apply', '2026-12-03T09:00:00Z', ['old']),
        ours('2026-12-03T09:01:00Z'),
        other('kubectl-edit', '2026-12-03T09:02:00Z', ['new']),
      ]),
    ).toEqual(['data.new']);
    // The same second as the run's write is taken as before it.
    expect(
      paths([
        ours('2026-12-03T09:01:00Z'),
        other('kubectl-edit', '2026-12-03T09:01:00Z', ['new']),
      ]),
    ).toEqual([]);
    // No entry of the run's managers: nothing is known to be added after it.
    expect(
      paths([other('kubectl-edit', '2026-12-03T09:02:00Z', ['new'])]),
    ).toEqual([]);
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

  it('finds 40,000 added keys in linear time', () => {
    const keys = Array.from({ length: 40_000 }, (_, i) => `key${i}`);
    const big = {
      ...applied,
      data: {
        mode: 'fast',
        ...Object.fromEntries(keys.map(k => [k, 'v'])),
      },
    };
    const started = Date.now();
    const found = addedFields(
      [
        ours('2026-12-03T09:01:00Z'),
        other('kubectl-patch', '2026-12-03T09:02:00Z', keys),
      ],
      applied,
      big,
      { appliers },
    );
    expect(found).toHaveLength(40_000);
    // Quadratic, this took 18 s; linear, well under a second.
    expect(Date.now() - started).toBeLessThan(4000);
  });
});
