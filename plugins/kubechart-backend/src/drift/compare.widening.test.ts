import { compareObject } from './compare';
import { addedFields } from './fieldOwners';

/*
 * Changes the comparison let through although the manifest set the part of the object they are in
 * (found by an attack review): each reported "in sync".
 */
describe('drift compare of what widens access', () => {
  const created = '2026-12-03T09:00:00Z';
  const later = '2026-12-03T09:30:00Z';

  it('a RoleBinding subject moved to another namespace (atomic list item gains a key) is drift', () => {
    // A chart's RoleBinding granting its role to the namespace's own ServiceAccount `app`
    // (namespace omitted: the binding's namespace).
    const applied = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'app-edit', namespace: 'tenant-a' },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: 'app-edit',
      },
      subjects: [{ kind: 'ServiceAccount', name: 'app' }],
    };
    // `kubectl edit` adds `namespace: tenant-b`: the role is now granted to tenant-b's `app`.
    const live = {
      ...applied,
      metadata: {
        name: 'app-edit',
        namespace: 'tenant-a',
        creationTimestamp: created,
        managedFields: [
          {
            manager: 'helm',
            operation: 'Update',
            time: created,
            fieldsV1: { 'f:roleRef': {}, 'f:subjects': {} },
          },
          {
            manager: 'kubectl-edit',
            operation: 'Update',
            time: later,
            // subjects is `+listType=atomic`: the editor owns the list whole.
            fieldsV1: { 'f:subjects': {} },
          },
        ],
      },
      subjects: [
        { kind: 'ServiceAccount', name: 'app', namespace: 'tenant-b' },
      ],
    };
    const differences = compareObject(applied, live);
    const added = addedFields(
      live.metadata.managedFields as any,
      applied,
      live,
      {
        appliers: ['helm', 'kubechart'],
      },
    );
    // Safe behaviour: the changed subject is reported one way or the other.
    expect(differences.length + added.length).toBeGreaterThan(0);
  });

  it('a NetworkPolicy peer selector that lost an applied `key: ""` label (widened) is drift', () => {
    const policy = (matchLabels: Record<string, string>) => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'allow-canary', namespace: 'tenant-a' },
      spec: {
        podSelector: { matchLabels: { app: 'db' } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: { matchLabels } }] }],
      },
    });
    // Applied: only pods labelled app=web AND canary="" may reach the db; live: every app=web pod.
    const differences = compareObject(
      policy({ app: 'web', canary: '' }),
      policy({ app: 'web' }),
    );
    expect(differences.length).toBeGreaterThan(0);
  });

  it('a volume applied as `emptyDir: {}` that now mounts a hostPath is drift in the compared fields', () => {
    const pod = (volume: Record<string, unknown>) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'tenant-a' },
      spec: {
        template: {
          spec: {
            containers: [{ name: 'web', image: 'web:1' }],
            volumes: [{ name: 'scratch', ...volume }],
          },
        },
      },
    });
    // The API server keeps `emptyDir: {}` (a pointer to an empty struct): its absence means the
    // volume is now another source. For a recorded run (no added-field detection) this is all there is.
    const differences = compareObject(
      pod({ emptyDir: {} }),
      pod({ hostPath: { path: '/' } }),
    );
    expect(differences.length).toBeGreaterThan(0);
  });

  it('takes a subject the API server completed (apiGroup of a User) as in sync', () => {
    const binding = (subject: Record<string, string>) => ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'viewers', namespace: 'tenant-a' },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'view',
      },
      subjects: [subject],
    });
    expect(
      compareObject(
        binding({ kind: 'User', name: 'jane' }),
        binding({
          kind: 'User',
          name: 'jane',
          apiGroup: 'rbac.authorization.k8s.io',
        }),
      ),
    ).toEqual([]);
  });

  it('takes labels and annotations with empty values as in sync when they are kept', () => {
    const object = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'c',
        namespace: 'tenant-a',
        labels: { canary: '' },
        annotations: { note: '' },
      },
      data: { empty: '' },
    };
    expect(compareObject(object, structuredClone(object))).toEqual([]);
    // and a removed one as a difference
    const live = structuredClone(object);
    delete (live.metadata.labels as Record<string, string>).canary;
    expect(compareObject(object, live)).toHaveLength(1);
  });
});
