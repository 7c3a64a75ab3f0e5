import { NotAllowedError } from '@backstage/errors';
import { guardReason, refuseGuarded } from './guardedTargets';
import { KubeObject } from './tables';

const DEPLOYER_NAME = 'shop-deployer';
const DEPLOYER = {
  serviceAccount: DEPLOYER_NAME,
  namespace: 'kubechart-deployers',
};

const deployment = (podSpec: object = {}): KubeObject =>
  ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'inventory-service', namespace: 'shop' },
    spec: {
      replicas: 2,
      template: {
        metadata: { labels: { app: 'inventory-service' } },
        spec: {
          serviceAccountName: 'default',
          containers: [{ name: 'app', image: 'inventory:2.3.0' }],
          ...podSpec,
        },
      },
    },
  } as KubeObject);

/** The Secrets of namespace shop as the cluster answers a read of them (404 for any other). */
const secrets: Record<string, KubeObject> = {
  'shop-deployer-token': {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: 'shop-deployer-token',
      namespace: 'shop',
      annotations: { 'kubernetes.io/service-account.name': DEPLOYER_NAME },
    },
    type: 'kubernetes.io/service-account-token',
  } as KubeObject,
  'web-token': {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: 'web-token',
      namespace: 'shop',
      annotations: { 'kubernetes.io/service-account.name': 'web' },
    },
    type: 'kubernetes.io/service-account-token',
  } as KubeObject,
  db: {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'db', namespace: 'shop' },
    type: 'Opaque',
  } as KubeObject,
};

function cluster() {
  const reads: string[] = [];
  const readSecret = async (namespace: string, name: string) => {
    reads.push(`${namespace}/${name}`);
    const found = namespace === 'shop' ? secrets[name] : undefined;
    if (!found) throw Object.assign(new Error('not found'), { code: 404 });
    return found;
  };
  return { reads, readSecret };
}

const podSpecPatch = (spec: object) => ({ spec: { template: { spec } } });

async function refusal(
  kind: string,
  target: KubeObject,
  change: object | undefined,
  readSecret?: (namespace: string, name: string) => Promise<KubeObject>,
): Promise<Error | undefined> {
  try {
    await refuseGuarded(kind, [target], DEPLOYER, change, readSecret);
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

describe('refuseGuarded: a workload made to hold the deployer identity', () => {
  it.each<[string, object]>([
    ['serviceAccountName', podSpecPatch({ serviceAccountName: DEPLOYER_NAME })],
    [
      'the older serviceAccount field',
      podSpecPatch({ serviceAccount: DEPLOYER_NAME }),
    ],
  ])(
    'refuses a patch that runs the pods as the deployer (%s)',
    async (_, change) => {
      const { readSecret } = cluster();
      const error = await refusal(
        'Deployment',
        deployment(),
        change,
        readSecret,
      );
      expect(error).toBeInstanceOf(NotAllowedError);
      expect(error!.message).toBe(
        'The assistant does not change Deployment inventory-service in shop: after this change, it runs its pods as ServiceAccount shop-deployer, the identity KubeChart deploys with in this namespace, which only KubeChart holds. Nothing was changed.',
      );
      expect((error as any).guardedTargets).toEqual([
        {
          kind: 'Deployment',
          name: 'inventory-service',
          namespace: 'shop',
          reason: expect.stringMatching(/^after this change, it runs its pods/),
        },
      ]);
    },
  );

  it('finds the pod spec of a CronJob, a Pod and a StatefulSet', async () => {
    const cron = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'nightly', namespace: 'shop' },
      spec: {
        schedule: '0 1 * * *',
        jobTemplate: {
          spec: { template: { spec: { containers: [{ name: 'c' }] } } },
        },
      },
    } as KubeObject;
    await expect(
      refuseGuarded('CronJob', [cron], DEPLOYER, {
        spec: {
          jobTemplate: {
            spec: { template: { spec: { serviceAccountName: DEPLOYER_NAME } } },
          },
        },
      }),
    ).rejects.toThrow(
      /CronJob nightly in shop: after this change, it runs its pods as ServiceAccount shop-deployer/,
    );
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'shop' },
      spec: { containers: [{ name: 'c' }] },
    } as KubeObject;
    await expect(
      refuseGuarded('Pod', [pod], DEPLOYER, {
        spec: { serviceAccountName: DEPLOYER_NAME },
      }),
    ).rejects.toThrow(/Pod p in shop: after this change, it runs its pods/);
    const set = { ...deployment(), kind: 'StatefulSet' } as KubeObject;
    await expect(
      refuseGuarded(
        'StatefulSet',
        [set],
        DEPLOYER,
        podSpecPatch({ serviceAccount: DEPLOYER_NAME }),
      ),
    ).rejects.toThrow(
      /StatefulSet inventory-service in shop: after this change/,
    );
  });

  it('refuses a change of a workload that already runs as the deployer (a scale adds pods with its rights)', async () => {
    await expect(
      refuseGuarded(
        'Deployment',
        [deployment({ serviceAccountName: DEPLOYER_NAME })],
        DEPLOYER,
        { spec: { replicas: 5 } },
      ),
    ).rejects.toThrow(
      /after this change, it runs its pods as ServiceAccount shop-deployer/,
    );
  });

  it.each<[string, object, string]>([
    [
      'a secret volume',
      podSpecPatch({
        volumes: [{ name: 't', secret: { secretName: 'shop-deployer-token' } }],
      }),
      'a secret volume',
    ],
    [
      'a projected volume',
      podSpecPatch({
        volumes: [
          {
            name: 't',
            projected: {
              sources: [
                { configMap: { name: 'settings' } },
                { secret: { name: 'shop-deployer-token' } },
              ],
            },
          },
        ],
      }),
      'a projected volume',
    ],
    [
      'an env secretKeyRef',
      podSpecPatch({
        containers: [
          {
            name: 'app',
            env: [
              {
                name: 'T',
                valueFrom: {
                  secretKeyRef: { name: 'shop-deployer-token', key: 'token' },
                },
              },
            ],
          },
        ],
      }),
      'an env secretKeyRef',
    ],
    [
      'an envFrom secretRef of an init container',
      podSpecPatch({
        initContainers: [
          {
            name: 'init',
            envFrom: [{ secretRef: { name: 'shop-deployer-token' } }],
          },
        ],
      }),
      'an envFrom secretRef',
    ],
    [
      'an envFrom secretRef of an ephemeral container',
      podSpecPatch({
        ephemeralContainers: [
          {
            name: 'debug',
            envFrom: [{ secretRef: { name: 'shop-deployer-token' } }],
          },
        ],
      }),
      'an envFrom secretRef',
    ],
  ])(
    'refuses a patch that gives the pods a deployer token through %s',
    async (_, change, how) => {
      const { readSecret, reads } = cluster();
      const error = await refusal(
        'Deployment',
        deployment(),
        change,
        readSecret,
      );
      expect(error).toBeInstanceOf(NotAllowedError);
      expect(error!.message).toBe(
        `The assistant does not change Deployment inventory-service in shop: after this change, its pods hold Secret shop-deployer-token (through ${how}), a token of KubeChart's deployer (type kubernetes.io/service-account-token for ServiceAccount shop-deployer), which carries the deployer's rights. Nothing was changed.`,
      );
      expect(reads).toEqual(['shop/shop-deployer-token']);
    },
  );

  it("lets a patch mount the team's own Secrets", async () => {
    const { readSecret, reads } = cluster();
    const change = podSpecPatch({
      volumes: [
        { name: 'a', secret: { secretName: 'web-token' } },
        { name: 'b', secret: { secretName: 'db' } },
      ],
      containers: [
        {
          name: 'app',
          env: [
            {
              name: 'P',
              valueFrom: { secretKeyRef: { name: 'db', key: 'password' } },
            },
          ],
        },
      ],
    });
    expect(
      await refusal('Deployment', deployment(), change, readSecret),
    ).toBeUndefined();
    // Each Secret read once.
    expect(reads.sort()).toEqual(['shop/db', 'shop/web-token']);
  });

  it.each<[string, object, string]>([
    [
      'an optional env secretKeyRef',
      podSpecPatch({
        containers: [
          {
            name: 'app',
            env: [
              {
                name: 'T',
                valueFrom: {
                  secretKeyRef: {
                    name: 'shop-deployer-token-2',
                    key: 'token',
                    optional: true,
                  },
                },
              },
            ],
          },
        ],
      }),
      'an env secretKeyRef',
    ],
    [
      'an optional secret volume',
      podSpecPatch({
        volumes: [
          {
            name: 't',
            secret: { secretName: 'shop-deployer-token-2', optional: true },
          },
        ],
      }),
      'a secret volume',
    ],
  ])(
    'refuses a patch that gives the pods a Secret that does not exist yet, through %s',
    async (_, change, how) => {
      // Created later (a token of the deployer, say), it would reach the pods unchecked.
      const { readSecret, reads } = cluster();
      const error = await refusal(
        'Deployment',
        deployment(),
        change,
        readSecret,
      );
      expect(error).toBeInstanceOf(NotAllowedError);
      expect(error!.message).toBe(
        `The assistant does not change Deployment inventory-service in shop: after this change, its pods hold Secret shop-deployer-token-2 (through ${how}): Secret shop-deployer-token-2 does not exist in shop; create it first (the assistant checks a Secret before it gives it to pods). Nothing was changed.`,
      );
      expect(reads).toEqual(['shop/shop-deployer-token-2']);
    },
  );

  it('reads only the Secrets the change adds: one the pods already hold is not read again', async () => {
    const { readSecret, reads } = cluster();
    const target = deployment({
      volumes: [{ name: 'a', secret: { secretName: 'db' } }],
    });
    expect(
      await refusal(
        'Deployment',
        target,
        { spec: { template: { metadata: { annotations: { x: 'y' } } } } },
        readSecret,
      ),
    ).toBeUndefined();
    expect(reads).toEqual([]);
  });

  it('refuses when a Secret the change adds cannot be read, saying so', async () => {
    const forbidden = async () => {
      throw Object.assign(new Error('secrets "db" is forbidden'), {
        code: 403,
      });
    };
    const change = podSpecPatch({
      volumes: [{ name: 'a', secret: { secretName: 'db' } }],
    });
    const error = await refusal('Deployment', deployment(), change, forbidden);
    expect(error).toBeInstanceOf(NotAllowedError);
    expect(error!.message).toBe(
      "The assistant does not change Deployment inventory-service in shop: after this change, its pods hold Secret db (through a secret volume), which could not be read to tell whether it is a token of KubeChart's deployer (HTTP 403). Nothing was changed.",
    );
    // Without a way to read Secrets at all, the same.
    await expect(
      refuseGuarded('Deployment', [deployment()], DEPLOYER, change),
    ).rejects.toThrow(
      /its pods hold Secret db \(through a secret volume\), which could not be read/,
    );
  });

  it('leaves a delete alone: it gives no pod anything', async () => {
    const { readSecret, reads } = cluster();
    expect(
      await refusal(
        'Deployment',
        deployment({ serviceAccountName: DEPLOYER_NAME }),
        undefined,
        readSecret,
      ),
    ).toBeUndefined();
    expect(reads).toEqual([]);
  });
});

describe('guardReason: bindings of the deployer', () => {
  const binding = (subjects: object[]) =>
    ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'extra', namespace: 'shop' },
      roleRef: { kind: 'ClusterRole', name: 'admin' },
      subjects,
    } as KubeObject);

  it('names the deployer by its user name too', () => {
    expect(
      guardReason(
        'RoleBinding',
        binding([
          { kind: 'User', name: 'system:serviceaccount:shop:shop-deployer' },
        ]),
        DEPLOYER,
      ),
    ).toMatch(
      /gives KubeChart's deployer \(ServiceAccount shop-deployer\) its rights/,
    );
    expect(
      guardReason(
        'ClusterRoleBinding',
        binding([
          {
            kind: 'User',
            apiGroup: 'rbac.authorization.k8s.io',
            name: 'system:serviceaccount:other:shop-deployer',
          },
        ]),
        DEPLOYER,
      ),
    ).toMatch(/ClusterRoleBinding that gives KubeChart's deployer/);
  });

  it.each([
    'system:serviceaccount:shop:web',
    'system:serviceaccount:shop-deployer',
    'system:serviceaccount:shop:shop-deployer:x',
    'shop-deployer',
  ])('leaves a binding of user %s alone', name => {
    expect(
      guardReason('RoleBinding', binding([{ kind: 'User', name }]), DEPLOYER),
    ).toBeUndefined();
  });
});

describe("guardReason: the deployers' namespace", () => {
  const binding = (subjects: object[]) =>
    ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'extra', namespace: 'shop' },
      roleRef: { kind: 'ClusterRole', name: 'admin' },
      subjects,
    } as KubeObject);

  it('guards every object in it, and the namespace itself', () => {
    for (const [kind, name] of [
      ['ServiceAccount', 'kubechart-deployer-shop'],
      ['Secret', 'anything'],
      ['Pod', 'runner'],
    ]) {
      expect(
        guardReason(
          kind,
          { metadata: { name, namespace: 'kubechart-deployers' } },
          DEPLOYER,
        ),
      ).toBe(
        'it is in namespace kubechart-deployers, where KubeChart keeps the deployer of every namespace it deploys into (kubechart.tenant.deployer.namespace), which only KubeChart writes',
      );
    }
    expect(
      guardReason(
        'Namespace',
        { metadata: { name: 'kubechart-deployers' } },
        DEPLOYER,
      ),
    ).toMatch(/^it is the namespace where KubeChart keeps the deployer/);
  });

  it.each([
    [{ kind: 'Group', name: 'system:serviceaccounts:kubechart-deployers' }],
    [
      {
        kind: 'ServiceAccount',
        name: 'kubechart-deployer-rival',
        namespace: 'kubechart-deployers',
      },
    ],
    [
      {
        kind: 'User',
        name: 'system:serviceaccount:kubechart-deployers:kubechart-deployer-rival',
      },
    ],
  ])('guards a binding that grants rights to %j', subject => {
    expect(guardReason('RoleBinding', binding([subject]), DEPLOYER)).toBe(
      'it grants rights to ServiceAccounts of namespace kubechart-deployers, where KubeChart keeps the deployer of every namespace it deploys into (kubechart.tenant.deployer.namespace), which only KubeChart grants rights',
    );
  });

  it('refuses a change that would add such a subject, and leaves other namespaces alone', async () => {
    const target = binding([{ kind: 'ServiceAccount', name: 'web' }]);
    await expect(
      refuseGuarded('RoleBinding', [target], DEPLOYER, {
        subjects: [
          { kind: 'Group', name: 'system:serviceaccounts:kubechart-deployers' },
        ],
      }),
    ).rejects.toThrow(
      /RoleBinding extra in shop: after this change, it grants rights to ServiceAccounts of namespace kubechart-deployers/,
    );
    expect(
      guardReason(
        'RoleBinding',
        binding([
          { kind: 'Group', name: 'system:serviceaccounts:builds' },
          { kind: 'ServiceAccount', name: 'ci', namespace: 'builds' },
        ]),
        DEPLOYER,
      ),
    ).toBeUndefined();
  });
});
