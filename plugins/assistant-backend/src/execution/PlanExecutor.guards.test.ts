import { KubeSim, startKubeSim } from '@internal/kube-sim';
import { NotAllowedError } from '@backstage/errors';
import { Plan } from '@kubechart/plugin-assistant-common';
import {
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
} from '@kubernetes/client-node';
import { recordingProxy } from '../__testUtils__/recordingProxy';
import { ClusterRegistry } from './clusters';
import { PlanExecutor } from './PlanExecutor';

jest.setTimeout(60_000);

const TENANT = { 'kubechart.io/tenant': 'acme' };
const GUARDRAIL = { 'kubechart.io/tenant-resource': 'true' };

/**
 * What a KubeChart tenant run leaves in a tenant namespace (its guardrails, its deployer, a Helm
 * release record), and a namespace KubeChart assigned to an owner.
 */
const objects = [
  {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: 'tenant-acme',
      labels: { ...TENANT, 'app.kubernetes.io/managed-by': 'kubechart' },
      annotations: { 'kubechart.io/owner': 'group:default/team-acme' },
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: 'assigned',
      annotations: { 'kubechart.io/owner': 'group:default/team-b' },
    },
  },
  {
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: {
      name: 'kubechart-quota',
      namespace: 'tenant-acme',
      labels: TENANT,
      annotations: GUARDRAIL,
    },
    spec: { hard: { pods: '10' } },
  },
  {
    apiVersion: 'v1',
    kind: 'LimitRange',
    metadata: {
      name: 'kubechart-limits',
      namespace: 'tenant-acme',
      labels: TENANT,
      annotations: GUARDRAIL,
    },
    spec: {
      limits: [{ type: 'Container', default: { cpu: '500m' } }],
    },
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: {
      name: 'kubechart-default-deny',
      namespace: 'tenant-acme',
      labels: TENANT,
      annotations: GUARDRAIL,
    },
    spec: { podSelector: {}, policyTypes: ['Ingress'] },
  },
  // The team's own policy, with the same label: a selector matches both.
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'allow-web', namespace: 'tenant-acme', labels: TENANT },
    spec: { podSelector: {}, policyTypes: ['Ingress'] },
  },
  {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: {
      name: 'kubechart-deployer',
      namespace: 'tenant-acme',
      labels: TENANT,
    },
  },
  {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'web', namespace: 'tenant-acme', labels: TENANT },
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: {
      name: 'kubechart-deployer',
      namespace: 'tenant-acme',
      labels: TENANT,
    },
    roleRef: {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'admin',
    },
    subjects: [
      {
        kind: 'ServiceAccount',
        name: 'kubechart-deployer',
        namespace: 'tenant-acme',
      },
    ],
  },
  // Another binding giving the deployer more rights.
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'extra-rights', namespace: 'tenant-acme' },
    roleRef: {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'view',
    },
    subjects: [
      {
        kind: 'ServiceAccount',
        name: 'kubechart-deployer',
        namespace: 'tenant-acme',
      },
    ],
  },
  {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: 'sh.helm.release.v1.web.v1',
      namespace: 'tenant-acme',
      labels: { owner: 'helm', name: 'web', status: 'deployed', version: '1' },
    },
    type: 'helm.sh/release.v1',
    data: { release: 'ZTMwPQ==' },
  },
  // Helm's ConfigMap storage: no type, only the label.
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'web-record',
      namespace: 'tenant-acme',
      labels: { owner: 'helm', name: 'web' },
    },
    data: { release: 'x' },
  },
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'web-settings', namespace: 'tenant-acme' },
    data: { mode: 'fast' },
  },
  {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'platform-deployer', namespace: 'tenant-acme' },
  },
  // A long-lived token of the deployer: whoever holds it deploys as KubeChart.
  {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: 'deployer-token',
      namespace: 'tenant-acme',
      annotations: {
        'kubernetes.io/service-account.name': 'kubechart-deployer',
      },
    },
    type: 'kubernetes.io/service-account-token',
    data: { token: 'ZGVwbG95ZXI=' },
  },
  // A token of the team's own ServiceAccount.
  {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: 'web-token',
      namespace: 'tenant-acme',
      annotations: { 'kubernetes.io/service-account.name': 'web' },
    },
    type: 'kubernetes.io/service-account-token',
    data: { token: 'd2Vi' },
  },
  // A binding naming the deployer by its user name.
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'by-user-name', namespace: 'tenant-acme' },
    roleRef: {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'view',
    },
    subjects: [
      {
        kind: 'User',
        apiGroup: 'rbac.authorization.k8s.io',
        name: 'system:serviceaccount:tenant-acme:kubechart-deployer',
      },
    ],
  },
  // The team's own workloads; the first revision of `legacy` ran as the deployer.
  workload('web-app', 'default'),
  workload('legacy', 'kubechart-deployer'),
];

function workload(name: string, serviceAccountName: string) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'tenant-acme', labels: { app: name } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          serviceAccountName,
          containers: [{ name: 'app', image: 'example/app:1' }],
        },
      },
    },
  };
}

describe('PlanExecutor: KubeChart tenant guardrails are never changed', () => {
  let sim: KubeSim;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let registry: ClusterRegistry;
  let admin: KubernetesObjectApi;
  const executor = new PlanExecutor({ maxRows: 200 });
  const run = (plan: Plan, with_ = executor) =>
    with_.execute(plan, registry.kubeConfig('sim'));

  beforeAll(async () => {
    sim = await startKubeSim({ seed: 'demo', objects: objects as any });
    proxy = await recordingProxy(sim.url);
    registry = new ClusterRegistry([
      {
        name: 'sim',
        url: proxy.url,
        serviceAccountToken: sim.token,
        // The recording proxy speaks plain HTTP; test only.
        skipTLSVerify: true,
      },
    ]);
    const kc = new KubeConfig();
    kc.loadFromString(sim.kubeconfig);
    admin = KubernetesObjectApi.makeApiClient(kc);
  });
  afterAll(async () => {
    await proxy?.close();
    await sim?.stop();
  });
  beforeEach(() => {
    proxy.sent.length = 0;
  });

  const read = (
    apiVersion: string,
    kind: string,
    name: string,
    namespace?: string,
  ) =>
    admin.read({
      apiVersion,
      kind,
      metadata: { name, namespace },
    }) as Promise<any>;

  it.each<[string, Plan, RegExp]>([
    [
      'a patch of the tenant quota',
      {
        verb: 'patch',
        resource: 'resourcequotas',
        name: 'kubechart-quota',
        namespace: 'tenant-acme',
        patch: '{"spec":{"hard":{"pods":"9999"}}}',
      },
      /^The assistant does not change ResourceQuota kubechart-quota in tenant-acme: it is a tenant guardrail KubeChart keeps \(annotated kubechart\.io\/tenant-resource\), which only a KubeChart tenant run changes\. Nothing was changed\.$/,
    ],
    [
      'a label on the tenant quota',
      {
        verb: 'label',
        resource: 'resourcequotas',
        name: 'kubechart-quota',
        namespace: 'tenant-acme',
        labels: { 'kubechart.io/tenant': 'other' },
      },
      /ResourceQuota kubechart-quota in tenant-acme: it is a tenant guardrail/,
    ],
    [
      'the deletion of the tenant network policy',
      {
        verb: 'delete',
        resource: 'networkpolicies',
        name: 'kubechart-default-deny',
        namespace: 'tenant-acme',
      },
      /NetworkPolicy kubechart-default-deny in tenant-acme: it is a tenant guardrail/,
    ],
    [
      'an annotation on the tenant limits',
      {
        verb: 'annotate',
        resource: 'limitranges',
        name: 'kubechart-limits',
        namespace: 'tenant-acme',
        annotations: { note: 'x' },
      },
      /LimitRange kubechart-limits in tenant-acme: it is a tenant guardrail/,
    ],
    [
      'a patch of a Helm release record Secret',
      {
        verb: 'patch',
        resource: 'secrets',
        name: 'sh.helm.release.v1.web.v1',
        namespace: 'tenant-acme',
        patch: '{"metadata":{"labels":{"status":"superseded"}}}',
      },
      /Secret sh\.helm\.release\.v1\.web\.v1 in tenant-acme: it is a Helm release record \(type helm\.sh\/release\.v1, a name sh\.helm\.release\.v1\.…, or the label owner=helm\), which only helm writes and which helm and rollbacks trust\./,
    ],
    [
      'the deletion of a Helm record ConfigMap',
      {
        verb: 'delete',
        resource: 'configmaps',
        name: 'web-record',
        namespace: 'tenant-acme',
      },
      /ConfigMap web-record in tenant-acme: it is a Helm release record/,
    ],
    [
      'the deletion of the deployer ServiceAccount',
      {
        verb: 'delete',
        resource: 'serviceaccounts',
        name: 'kubechart-deployer',
        namespace: 'tenant-acme',
      },
      /ServiceAccount kubechart-deployer in tenant-acme: it is the ServiceAccount KubeChart deploys with in this namespace \(kubechart\.tenant\.deployer\.serviceAccount\), which only KubeChart writes\./,
    ],
    [
      'a patch of the deployer RoleBinding',
      {
        verb: 'patch',
        resource: 'rolebindings',
        name: 'kubechart-deployer',
        namespace: 'tenant-acme',
        patch:
          '{"subjects":[{"kind":"User","name":"mallory","apiGroup":"rbac.authorization.k8s.io"}]}',
      },
      /RoleBinding kubechart-deployer in tenant-acme: it is the RoleBinding that gives KubeChart's deployer \(ServiceAccount kubechart-deployer\) its rights, which only KubeChart writes\./,
    ],
    [
      'the deletion of another binding naming the deployer',
      {
        verb: 'delete',
        resource: 'rolebindings',
        name: 'extra-rights',
        namespace: 'tenant-acme',
      },
      /RoleBinding extra-rights in tenant-acme: it is the RoleBinding that gives KubeChart's deployer/,
    ],
    [
      'a label on a tenant Namespace',
      {
        verb: 'label',
        resource: 'namespaces',
        name: 'tenant-acme',
        labels: { 'pod-security.kubernetes.io/enforce': 'privileged' },
      },
      /^The assistant does not change Namespace tenant-acme: it is the namespace of KubeChart tenant acme, which only KubeChart changes\. Nothing was changed\.$/,
    ],
    [
      'the deletion of a Namespace assigned to an owner',
      { verb: 'delete', resource: 'namespaces', name: 'assigned' },
      /Namespace assigned: it is assigned to group:default\/team-b \(annotated kubechart\.io\/owner\), which only the platform changes/,
    ],
    [
      'the deletion of a token Secret of the deployer',
      {
        verb: 'delete',
        resource: 'secrets',
        name: 'deployer-token',
        namespace: 'tenant-acme',
      },
      /^The assistant does not change Secret deployer-token in tenant-acme: it is a token of KubeChart's deployer \(type kubernetes\.io\/service-account-token for ServiceAccount kubechart-deployer\), which carries the deployer's rights and which only KubeChart writes\. Nothing was changed\.$/,
    ],
    [
      'a patch of a token Secret of the deployer',
      {
        verb: 'patch',
        resource: 'secrets',
        name: 'deployer-token',
        namespace: 'tenant-acme',
        patch: '{"data":{"token":null}}',
      },
      /Secret deployer-token in tenant-acme: it is a token of KubeChart's deployer/,
    ],
    [
      'an annotation that makes a token Secret name the deployer (the token controller would mint a deployer token)',
      {
        verb: 'annotate',
        resource: 'secrets',
        name: 'web-token',
        namespace: 'tenant-acme',
        annotations: {
          'kubernetes.io/service-account.name': 'kubechart-deployer',
        },
      },
      /^The assistant does not change Secret web-token in tenant-acme: after this change, it is a token of KubeChart's deployer \(type kubernetes\.io\/service-account-token for ServiceAccount kubechart-deployer\)/,
    ],
    [
      'a patch that makes a token Secret name the deployer',
      {
        verb: 'patch',
        resource: 'secrets',
        name: 'web-token',
        namespace: 'tenant-acme',
        patch:
          '{"metadata":{"annotations":{"kubernetes.io/service-account.name":"kubechart-deployer","kubernetes.io/service-account.uid":null}},"data":{"token":null}}',
      },
      /Secret web-token in tenant-acme: after this change, it is a token of KubeChart's deployer/,
    ],
    [
      'the deletion of a binding naming the deployer by its user name',
      {
        verb: 'delete',
        resource: 'rolebindings',
        name: 'by-user-name',
        namespace: 'tenant-acme',
      },
      /RoleBinding by-user-name in tenant-acme: it is the RoleBinding that gives KubeChart's deployer/,
    ],
    [
      'a patch that runs a workload as the deployer',
      {
        verb: 'patch',
        resource: 'deployments',
        name: 'web-app',
        namespace: 'tenant-acme',
        patch:
          '{"spec":{"template":{"spec":{"serviceAccountName":"kubechart-deployer"}}}}',
      },
      /^The assistant does not change Deployment web-app in tenant-acme: after this change, it runs its pods as ServiceAccount kubechart-deployer, the identity KubeChart deploys with in this namespace, which only KubeChart holds\. Nothing was changed\.$/,
    ],
    [
      'a patch that mounts a token of the deployer in a workload',
      {
        verb: 'patch',
        resource: 'deployments',
        name: 'web-app',
        namespace: 'tenant-acme',
        patch:
          '{"spec":{"template":{"spec":{"volumes":[{"name":"t","secret":{"secretName":"deployer-token"}}]}}}}',
      },
      /^The assistant does not change Deployment web-app in tenant-acme: after this change, its pods hold Secret deployer-token \(through a secret volume\), a token of KubeChart's deployer/,
    ],
    [
      'a patch that gives a workload a Secret that does not exist yet (a token created later would reach its pods unchecked)',
      {
        verb: 'patch',
        resource: 'deployments',
        name: 'web-app',
        namespace: 'tenant-acme',
        patch:
          '{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"example/app:1","env":[{"name":"T","valueFrom":{"secretKeyRef":{"name":"deployer-token-2","key":"token","optional":true}}}]}]}}}}',
      },
      /^The assistant does not change Deployment web-app in tenant-acme: after this change, its pods hold Secret deployer-token-2 \(through an env secretKeyRef\): Secret deployer-token-2 does not exist in tenant-acme; create it first \(the assistant checks a Secret before it gives it to pods\)\. Nothing was changed\.$/,
    ],
  ])('refuses %s, sending no change', async (_, plan, message) => {
    const error = await run(plan).catch(e => e);
    expect(error).toBeInstanceOf(NotAllowedError);
    expect(error.message).toMatch(message);
    // The refusal says which objects, for the audit trail.
    expect(error.guardedTargets).toEqual([
      expect.objectContaining({ name: plan.name, reason: expect.any(String) }),
    ]);
    expect(proxy.sent).toEqual([]);
  });

  it('refuses a selector change as a whole when one matched object is guarded', async () => {
    const error = await run({
      verb: 'delete',
      resource: 'networkpolicies',
      namespace: 'tenant-acme',
      labelSelector: 'kubechart.io/tenant=acme',
    }).catch(e => e);
    expect(error).toBeInstanceOf(NotAllowedError);
    expect(error.message).toBe(
      'The assistant does not change NetworkPolicy kubechart-default-deny in tenant-acme: it is a tenant guardrail KubeChart keeps (annotated kubechart.io/tenant-resource), which only a KubeChart tenant run changes. The plan matches 2 objects and changes none of them: narrow it to leave this one out.',
    );
    expect(proxy.sent).toEqual([]);
    // Both policies are still there, the team's own included.
    for (const name of ['kubechart-default-deny', 'allow-web']) {
      await expect(
        read('networking.k8s.io/v1', 'NetworkPolicy', name, 'tenant-acme'),
      ).resolves.toBeTruthy();
    }
  });

  it('leaves the guarded objects as they were', async () => {
    await run({
      verb: 'patch',
      resource: 'resourcequotas',
      name: 'kubechart-quota',
      namespace: 'tenant-acme',
      patch: '{"spec":{"hard":{"pods":"9999"}}}',
    }).catch(() => undefined);
    const quota = await read(
      'v1',
      'ResourceQuota',
      'kubechart-quota',
      'tenant-acme',
    );
    expect(quota.spec.hard.pods).toBe('10');
    const namespace = await read('v1', 'Namespace', 'tenant-acme');
    expect(
      namespace.metadata.labels['pod-security.kubernetes.io/enforce'],
    ).toBeUndefined();
  });

  it('guards the deployer by the name KubeChart is configured with', async () => {
    const configured = new PlanExecutor({
      maxRows: 200,
      deployerServiceAccount: 'platform-deployer',
    });
    await expect(
      run(
        {
          verb: 'delete',
          resource: 'serviceaccounts',
          name: 'platform-deployer',
          namespace: 'tenant-acme',
        },
        configured,
      ),
    ).rejects.toThrow(
      /ServiceAccount platform-deployer in tenant-acme: it is the ServiceAccount KubeChart deploys with/,
    );
    expect(proxy.sent).toEqual([]);
  });

  it('guards the token Secrets of the deployer by the name KubeChart is configured with', async () => {
    const configured = new PlanExecutor({
      maxRows: 200,
      deployerServiceAccount: 'platform-deployer',
    });
    await expect(
      run(
        {
          verb: 'annotate',
          resource: 'secrets',
          name: 'web-token',
          namespace: 'tenant-acme',
          annotations: {
            'kubernetes.io/service-account.name': 'platform-deployer',
          },
        },
        configured,
      ),
    ).rejects.toThrow(
      /Secret web-token in tenant-acme: after this change, it is a token of KubeChart's deployer \(type kubernetes\.io\/service-account-token for ServiceAccount platform-deployer\)/,
    );
    expect(proxy.sent).toEqual([]);
    const token = await read('v1', 'Secret', 'web-token', 'tenant-acme');
    expect(
      token.metadata.annotations['kubernetes.io/service-account.name'],
    ).toBe('web');
  });

  it('refuses to roll a workload back to a revision that ran as the deployer', async () => {
    const revisions = async () =>
      (
        await admin.list(
          'apps/v1',
          'ReplicaSet',
          'tenant-acme',
          undefined,
          undefined,
          undefined,
          undefined,
          'app=legacy',
        )
      ).items
        .map(
          rs => rs.metadata?.annotations?.['deployment.kubernetes.io/revision'],
        )
        .sort();
    // The deployment controller records each revision as a ReplicaSet.
    const until = async (expected: string[]) => {
      for (let i = 0; i < 600; i++) {
        if (JSON.stringify(await revisions()) === JSON.stringify(expected))
          return;
        await new Promise(r => setTimeout(r, 50));
      }
      throw new Error(`revisions ${await revisions()}, not ${expected}`);
    };
    await until(['1']);
    await admin.patch(
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'legacy', namespace: 'tenant-acme' },
        spec: { template: { spec: { serviceAccountName: 'default' } } },
      } as any,
      undefined,
      undefined,
      undefined,
      undefined,
      PatchStrategy.MergePatch,
    );
    await until(['1', '2']);
    proxy.sent.length = 0;
    const error = await run({
      verb: 'rollout',
      rolloutAction: 'undo',
      resource: 'deployments',
      name: 'legacy',
      namespace: 'tenant-acme',
    }).catch(e => e);
    expect(error).toBeInstanceOf(NotAllowedError);
    expect(error.message).toBe(
      'The assistant does not change Deployment legacy in tenant-acme: after this change, it runs its pods as ServiceAccount kubechart-deployer, the identity KubeChart deploys with in this namespace, which only KubeChart holds. Nothing was changed.',
    );
    expect(proxy.sent).toEqual([]);
    const legacy = await read('apps/v1', 'Deployment', 'legacy', 'tenant-acme');
    expect(legacy.spec.template.spec.serviceAccountName).toBe('default');
  });

  it("mounts the team's own Secrets in a workload", async () => {
    const patched = await run({
      verb: 'patch',
      resource: 'deployments',
      name: 'web-app',
      namespace: 'tenant-acme',
      patch:
        '{"spec":{"template":{"spec":{"volumes":[{"name":"t","secret":{"secretName":"web-token"}}]}}}}',
    });
    expect(patched).toEqual({
      type: 'message',
      text: 'deployment/web-app in tenant-acme patched',
    });
    expect(proxy.sent.map(s => [s.method, s.path])).toEqual([
      ['PATCH', '/apis/apps/v1/namespaces/tenant-acme/deployments/web-app'],
    ]);
  });

  it("still changes the team's own objects beside them", async () => {
    const labelled = await run({
      verb: 'label',
      resource: 'configmaps',
      name: 'web-settings',
      namespace: 'tenant-acme',
      labels: { tier: 'web' },
    });
    expect(labelled).toEqual({
      type: 'message',
      text: 'configmap/web-settings in tenant-acme labeled',
    });
    const deleted = await run({
      verb: 'delete',
      resource: 'serviceaccounts',
      name: 'web',
      namespace: 'tenant-acme',
    });
    expect(deleted).toEqual({
      type: 'message',
      text: 'serviceaccount/web in tenant-acme deleted',
    });
    // A token of the team's own ServiceAccount stays theirs to change.
    const annotated = await run({
      verb: 'annotate',
      resource: 'secrets',
      name: 'web-token',
      namespace: 'tenant-acme',
      annotations: { note: 'rotate soon' },
    });
    expect(annotated).toEqual({
      type: 'message',
      text: 'secret/web-token in tenant-acme annotated',
    });
    expect(proxy.sent.map(s => [s.method, s.path])).toEqual([
      ['PATCH', '/api/v1/namespaces/tenant-acme/configmaps/web-settings'],
      ['DELETE', '/api/v1/namespaces/tenant-acme/serviceaccounts/web'],
      ['PATCH', '/api/v1/namespaces/tenant-acme/secrets/web-token'],
    ]);
  });
});
