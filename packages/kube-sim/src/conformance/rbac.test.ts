import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';
import {
  conformanceCluster,
  eventually,
  failure,
  TestCluster,
  uniqueName,
} from '../__testUtils__/cluster';
import { helmRunner } from '../__testUtils__/helm';
import { rawRequest, withToken } from '../__testUtils__/http';

// Generous: helm walks discovery on every call, and CI machines are shared.
jest.setTimeout(120_000);

const chart = resolve(__dirname, '../__fixtures__/tiny-chart');
const RBAC_V1 = '/apis/rbac.authorization.k8s.io/v1';
const AUTHZ_V1 = '/apis/authorization.k8s.io/v1';

const forbidden = (
  message: string,
  details: Record<string, string>,
): Record<string, unknown> => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason: 'Forbidden',
  details,
  code: 403,
});

const deployment = (name: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas: 0,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'app', image: 'nginx:1.25' }] },
    },
  },
});

// Runs against KUBECONFIG when set (a real cluster), otherwise against a fresh kube-sim.
// The answers it expects are those of a real v1.26 API server (../shared/reference/kube-api/rbac/).
describe('conformance: RBAC authorization and impersonation', () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  let rbac: RbacAuthorizationV1Api;
  let ns: string;
  let impersonator: string;
  /** The engine's identity: a ServiceAccount token whose only right is `impersonate`. */
  let engine: KubeConfig;
  /** A ServiceAccount token without any rights. */
  let nobody: KubeConfig;
  let sa: string;
  let asDeployer: Record<string, string>;

  const token = async (name: string) => {
    const tr = await core.createNamespacedServiceAccountToken({
      name,
      namespace: ns,
      body: { spec: { audiences: [], expirationSeconds: 3600 } },
    });
    return tr.status!.token;
  };

  beforeAll(async () => {
    cluster = await conformanceCluster({ tls: true });
    core = cluster.kc.makeApiClient(CoreV1Api);
    rbac = cluster.kc.makeApiClient(RbacAuthorizationV1Api);
    ns = uniqueName('conf-rbac');
    impersonator = `${ns}-impersonator`;
    sa = `system:serviceaccount:${ns}:deployer`;
    asDeployer = { 'Impersonate-User': sa };
    await core.createNamespace({ body: { metadata: { name: ns } } });
    for (const name of ['deployer', 'engine', 'nobody']) {
      await core.createNamespacedServiceAccount({
        namespace: ns,
        body: { metadata: { name } },
      });
    }
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'deployer-admin' },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'admin',
        },
        subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: ns }],
      },
    });
    await rbac.createClusterRole({
      body: {
        metadata: { name: impersonator },
        rules: [
          {
            apiGroups: [''],
            resources: ['serviceaccounts', 'users', 'groups'],
            verbs: ['impersonate'],
          },
        ],
      },
    });
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: impersonator },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: impersonator,
        },
        subjects: [{ kind: 'ServiceAccount', name: 'engine', namespace: ns }],
      },
    });
    engine = withToken(cluster.kc, await token('engine'));
    nobody = withToken(cluster.kc, await token('nobody'));
    // A real server's RBAC cache catches up asynchronously.
    await eventually(async () => {
      const r = await rawRequest(engine, 'GET', `/api/v1/namespaces/${ns}`, {
        headers: asDeployer,
      });
      return r.status === 200;
    });
  });

  afterAll(async () => {
    await rbac.deleteClusterRoleBinding({ name: impersonator }).catch(() => {});
    await rbac.deleteClusterRole({ name: impersonator }).catch(() => {});
    await core.deleteNamespace({ name: ns }).catch(() => {});
    await cluster.stop();
  });

  describe('a ServiceAccount bound to admin in its namespace, impersonated by the engine', () => {
    it('creates a Deployment in its namespace as itself', async () => {
      const r = await rawRequest(
        engine,
        'POST',
        `/apis/apps/v1/namespaces/${ns}/deployments`,
        { headers: asDeployer, body: deployment('by-sa') },
      );
      expect(r.status).toBe(201);
      expect(r.body.metadata.namespace).toBe(ns);
    });

    it('gets the exact 403 Status for a Deployment in kube-system', async () => {
      const r = await rawRequest(
        engine,
        'POST',
        '/apis/apps/v1/namespaces/kube-system/deployments',
        { headers: asDeployer, body: deployment('by-sa') },
      );
      expect(r.status).toBe(403);
      expect(r.body).toEqual(
        forbidden(
          `deployments.apps is forbidden: User "${sa}" cannot create resource "deployments" in API group "apps" in the namespace "kube-system"`,
          { group: 'apps', kind: 'deployments' },
        ),
      );
    });

    it('may not create a ClusterRoleBinding, list namespaces or list Secrets everywhere', async () => {
      const crb = await rawRequest(
        engine,
        'POST',
        `${RBAC_V1}/clusterrolebindings`,
        {
          headers: asDeployer,
          body: {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'ClusterRoleBinding',
            metadata: { name: `${ns}-escalate` },
            roleRef: {
              apiGroup: 'rbac.authorization.k8s.io',
              kind: 'ClusterRole',
              name: 'cluster-admin',
            },
            subjects: [
              { kind: 'ServiceAccount', name: 'deployer', namespace: ns },
            ],
          },
        },
      );
      expect(crb.body).toEqual(
        forbidden(
          `clusterrolebindings.rbac.authorization.k8s.io is forbidden: User "${sa}" cannot create resource "clusterrolebindings" in API group "rbac.authorization.k8s.io" at the cluster scope`,
          { group: 'rbac.authorization.k8s.io', kind: 'clusterrolebindings' },
        ),
      );
      const list = await rawRequest(engine, 'GET', '/api/v1/namespaces', {
        headers: asDeployer,
      });
      expect(list.body).toEqual(
        forbidden(
          `namespaces is forbidden: User "${sa}" cannot list resource "namespaces" in API group "" at the cluster scope`,
          { kind: 'namespaces' },
        ),
      );
      const secrets = await rawRequest(engine, 'GET', '/api/v1/secrets', {
        headers: asDeployer,
      });
      expect(secrets.body).toEqual(
        forbidden(
          `secrets is forbidden: User "${sa}" cannot list resource "secrets" in API group "" at the cluster scope`,
          { kind: 'secrets' },
        ),
      );
    });

    it('reads its own Namespace but may not delete it', async () => {
      const get = await rawRequest(engine, 'GET', `/api/v1/namespaces/${ns}`, {
        headers: asDeployer,
      });
      expect(get.status).toBe(200);
      expect(get.body.metadata.name).toBe(ns);
      const del = await rawRequest(
        engine,
        'DELETE',
        `/api/v1/namespaces/${ns}?dryRun=All`,
        { headers: asDeployer },
      );
      expect(del.body).toEqual(
        forbidden(
          `namespaces "${ns}" is forbidden: User "${sa}" cannot delete resource "namespaces" in API group "" in the namespace "${ns}"`,
          { name: ns, kind: 'namespaces' },
        ),
      );
    });

    it('gets 403 (not 404) for a missing object where it has no access, 404 where it has', async () => {
      const there = await rawRequest(
        engine,
        'GET',
        '/apis/apps/v1/namespaces/kube-system/deployments/nope',
        { headers: asDeployer },
      );
      expect(there.body).toEqual(
        forbidden(
          `deployments.apps "nope" is forbidden: User "${sa}" cannot get resource "deployments" in API group "apps" in the namespace "kube-system"`,
          { name: 'nope', group: 'apps', kind: 'deployments' },
        ),
      );
      const here = await rawRequest(
        engine,
        'GET',
        `/apis/apps/v1/namespaces/${ns}/deployments/nope`,
        { headers: asDeployer },
      );
      expect(here.status).toBe(404);
      expect(here.body.message).toBe('deployments.apps "nope" not found');
      const missingNs = await rawRequest(
        engine,
        'POST',
        `/api/v1/namespaces/${ns}-nope/configmaps`,
        {
          headers: asDeployer,
          body: {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: 'x' },
          },
        },
      );
      expect(missingNs.body).toEqual(
        forbidden(
          `configmaps is forbidden: User "${sa}" cannot create resource "configmaps" in API group "" in the namespace "${ns}-nope"`,
          { kind: 'configmaps' },
        ),
      );
    });

    it('is refused a server-side apply in kube-system with the verb patch', async () => {
      const r = await rawRequest(
        engine,
        'PATCH',
        '/apis/apps/v1/namespaces/kube-system/deployments/x?fieldManager=helm&fieldValidation=Strict&force=false',
        {
          headers: asDeployer,
          body: 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n',
          contentType: 'application/apply-patch+yaml',
        },
      );
      expect(r.body).toEqual(
        forbidden(
          `deployments.apps "x" is forbidden: User "${sa}" cannot patch resource "deployments" in API group "apps" in the namespace "kube-system"`,
          { name: 'x', group: 'apps', kind: 'deployments' },
        ),
      );
    });
  });

  describe('impersonation', () => {
    it('needs impersonate on serviceaccounts, users and groups', async () => {
      const nobodyName = `system:serviceaccount:${ns}:nobody`;
      const asSa = await rawRequest(
        nobody,
        'GET',
        `/api/v1/namespaces/${ns}/pods`,
        { headers: asDeployer },
      );
      expect(asSa.body).toEqual(
        forbidden(
          `serviceaccounts "deployer" is forbidden: User "${nobodyName}" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "${ns}"`,
          { name: 'deployer', kind: 'serviceaccounts' },
        ),
      );
      const asUser = await rawRequest(
        nobody,
        'GET',
        `/api/v1/namespaces/${ns}/pods`,
        {
          headers: {
            'Impersonate-User': 'someone',
            'Impersonate-Group': 'system:masters',
          },
        },
      );
      expect(asUser.body).toEqual(
        forbidden(
          `users "someone" is forbidden: User "${nobodyName}" cannot impersonate resource "users" in API group "" at the cluster scope`,
          { name: 'someone', kind: 'users' },
        ),
      );
      const anonymous = await rawRequest(
        withToken(cluster.kc),
        'GET',
        `/api/v1/namespaces/${ns}/pods`,
        { headers: asDeployer },
      );
      expect(anonymous.body).toEqual(
        forbidden(
          `serviceaccounts "deployer" is forbidden: User "system:anonymous" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "${ns}"`,
          { name: 'deployer', kind: 'serviceaccounts' },
        ),
      );
    });

    it('answers 500 text/plain for groups without a user', async () => {
      const r = await rawRequest(engine, 'GET', '/api/v1/namespaces', {
        headers: { 'Impersonate-Group': 'system:masters' },
      });
      expect(r.status).toBe(500);
      expect(r.contentType).toBe('text/plain; charset=utf-8');
      expect(r.text).toBe(
        'Internal Server Error: "/api/v1/namespaces": requested [{Group  system:masters    }] without impersonating a user\n',
      );
    });

    it('needs uids and userextras rights for Impersonate-Uid and Impersonate-Extra-*', async () => {
      const engineName = `system:serviceaccount:${ns}:engine`;
      const uid = await rawRequest(
        engine,
        'GET',
        `/api/v1/namespaces/${ns}/pods`,
        { headers: { ...asDeployer, 'Impersonate-Uid': '1234' } },
      );
      expect(uid.body).toEqual(
        forbidden(
          `uids.authentication.k8s.io "1234" is forbidden: User "${engineName}" cannot impersonate resource "uids" in API group "authentication.k8s.io" at the cluster scope`,
          { name: '1234', group: 'authentication.k8s.io', kind: 'uids' },
        ),
      );
      const extra = await rawRequest(
        engine,
        'GET',
        `/api/v1/namespaces/${ns}/pods`,
        { headers: { ...asDeployer, 'Impersonate-Extra-Scopes': 'view' } },
      );
      expect(extra.body).toEqual(
        forbidden(
          `userextras.authentication.k8s.io "view" is forbidden: User "${engineName}" cannot impersonate resource "userextras/scopes" in API group "authentication.k8s.io" at the cluster scope`,
          { name: 'view', group: 'authentication.k8s.io', kind: 'userextras' },
        ),
      );
    });

    it('allows a ServiceAccount that does not exist, which then has no rights', async () => {
      const r = await rawRequest(
        engine,
        'GET',
        `/api/v1/namespaces/${ns}/pods`,
        {
          headers: { 'Impersonate-User': `system:serviceaccount:${ns}:ghost` },
        },
      );
      expect(r.body).toEqual(
        forbidden(
          `pods is forbidden: User "system:serviceaccount:${ns}:ghost" cannot list resource "pods" in API group "" in the namespace "${ns}"`,
          { kind: 'pods' },
        ),
      );
    });

    it('leaves the engine without rights of its own, and honours an impersonated group', async () => {
      const own = await rawRequest(engine, 'GET', '/api/v1/namespaces');
      expect(own.body).toEqual(
        forbidden(
          `namespaces is forbidden: User "system:serviceaccount:${ns}:engine" cannot list resource "namespaces" in API group "" at the cluster scope`,
          { kind: 'namespaces' },
        ),
      );
      const masters = await rawRequest(engine, 'GET', '/api/v1/namespaces', {
        headers: { ...asDeployer, 'Impersonate-Group': 'system:masters' },
      });
      expect(masters.status).toBe(200);
      expect(masters.body.items.map((n: any) => n.metadata.name)).toContain(ns);
    });
  });

  describe('escalation prevention', () => {
    it('refuses a RoleBinding to a role with rights the author does not hold', async () => {
      const r = await rawRequest(
        engine,
        'POST',
        `${RBAC_V1}/namespaces/${ns}/rolebindings`,
        {
          headers: asDeployer,
          body: {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'RoleBinding',
            metadata: { name: 'esc' },
            roleRef: {
              apiGroup: 'rbac.authorization.k8s.io',
              kind: 'ClusterRole',
              name: 'cluster-admin',
            },
            subjects: [
              { kind: 'ServiceAccount', name: 'deployer', namespace: ns },
            ],
          },
        },
      );
      expect(r.body).toEqual(
        forbidden(
          `rolebindings.rbac.authorization.k8s.io "esc" is forbidden: user "${sa}" (groups=["system:serviceaccounts" "system:serviceaccounts:${ns}" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:["*"], Resources:["*"], Verbs:["*"]}\n{NonResourceURLs:["*"], Verbs:["*"]}`,
          {
            name: 'esc',
            group: 'rbac.authorization.k8s.io',
            kind: 'rolebindings',
          },
        ),
      );
    });

    it('refuses a Role granting more than its author holds, allows one within', async () => {
      const role = (name: string, rules: unknown[]) => ({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name },
        rules,
      });
      const tooMuch = await rawRequest(
        engine,
        'POST',
        `${RBAC_V1}/namespaces/${ns}/roles`,
        {
          headers: asDeployer,
          body: role('too-much', [
            { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list'] },
          ]),
        },
      );
      expect(tooMuch.body).toEqual(
        forbidden(
          `roles.rbac.authorization.k8s.io "too-much" is forbidden: user "${sa}" (groups=["system:serviceaccounts" "system:serviceaccounts:${ns}" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["nodes"], Verbs:["get" "list"]}`,
          {
            name: 'too-much',
            group: 'rbac.authorization.k8s.io',
            kind: 'roles',
          },
        ),
      );
      const within = await rawRequest(
        engine,
        'POST',
        `${RBAC_V1}/namespaces/${ns}/roles`,
        {
          headers: asDeployer,
          body: role('config-reader', [
            {
              apiGroups: [''],
              resources: ['configmaps'],
              verbs: ['get', 'list'],
            },
          ]),
        },
      );
      expect(within.status).toBe(201);
      const binding = await rawRequest(
        engine,
        'POST',
        `${RBAC_V1}/namespaces/${ns}/rolebindings`,
        {
          headers: asDeployer,
          body: {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'RoleBinding',
            metadata: { name: 'nobody-view' },
            roleRef: {
              apiGroup: 'rbac.authorization.k8s.io',
              kind: 'ClusterRole',
              name: 'view',
            },
            subjects: [
              { kind: 'ServiceAccount', name: 'nobody', namespace: ns },
            ],
          },
        },
      );
      expect(binding.status).toBe(201);
      // The binding takes effect: nobody may now list pods in the namespace.
      await eventually(async () => {
        const r = await rawRequest(
          nobody,
          'GET',
          `/api/v1/namespaces/${ns}/pods`,
        );
        return r.status === 200;
      });
    });

    /** Whether the deployer may now escalate the Role `special` (a real server's RBAC cache lags behind). */
    const mayEscalateSpecial = async () => {
      const r = await rawRequest(
        engine,
        'POST',
        `${AUTHZ_V1}/selfsubjectaccessreviews`,
        {
          headers: asDeployer,
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectAccessReview',
            spec: {
              resourceAttributes: {
                namespace: ns,
                verb: 'escalate',
                group: 'rbac.authorization.k8s.io',
                resource: 'roles',
                name: 'special',
              },
            },
          },
        },
      );
      return r.body?.status?.allowed === true;
    };
    const nodesRole = (name: string, resourceVersion?: string) => ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name, ...(resourceVersion ? { resourceVersion } : {}) },
      rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }],
    });

    // RoleEscalationAuthorized asks for `escalate` on the request's name, which a POST to the collection has not.
    it('checks escalate limited by resourceNames against the URL: a create is not covered, an update is', async () => {
      await rbac.createNamespacedRole({
        namespace: ns,
        body: {
          metadata: { name: 'escalate-special' },
          rules: [
            {
              apiGroups: ['rbac.authorization.k8s.io'],
              resources: ['roles'],
              verbs: ['escalate'],
              resourceNames: ['special'],
            },
          ],
        },
      });
      await rbac.createNamespacedRoleBinding({
        namespace: ns,
        body: {
          metadata: { name: 'deployer-escalate-special' },
          roleRef: {
            apiGroup: 'rbac.authorization.k8s.io',
            kind: 'Role',
            name: 'escalate-special',
          },
          subjects: [
            { kind: 'ServiceAccount', name: 'deployer', namespace: ns },
          ],
        },
      });
      try {
        await eventually(mayEscalateSpecial);
        const created = await rawRequest(
          engine,
          'POST',
          `${RBAC_V1}/namespaces/${ns}/roles`,
          { headers: asDeployer, body: nodesRole('special') },
        );
        expect(created.body).toEqual(
          forbidden(
            `roles.rbac.authorization.k8s.io "special" is forbidden: user "${sa}" (groups=["system:serviceaccounts" "system:serviceaccounts:${ns}" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}`,
            {
              name: 'special',
              group: 'rbac.authorization.k8s.io',
              kind: 'roles',
            },
          ),
        );
        await rbac.createNamespacedRole({
          namespace: ns,
          body: { metadata: { name: 'special' }, rules: [] },
        });
        const updated = await rawRequest(
          engine,
          'PUT',
          `${RBAC_V1}/namespaces/${ns}/roles/special`,
          { headers: asDeployer, body: nodesRole('special') },
        );
        expect(updated.status).toBe(200);
        expect(updated.body.rules).toEqual(nodesRole('special').rules);
      } finally {
        // Later tests read the deployer's rules (SelfSubjectRulesReview), which this binding would add to.
        await rbac
          .deleteNamespacedRoleBinding({
            name: 'deployer-escalate-special',
            namespace: ns,
          })
          .catch(() => {});
        await eventually(async () => !(await mayEscalateSpecial()));
      }
    });

    // The policy-based RoleBinding storage looks the role up through the registry, and answers its NotFound as is.
    it('answers 404 for a RoleBinding to a role that does not exist, naming the role resource', async () => {
      const dangling = async (kind: string, name: string) =>
        rawRequest(engine, 'POST', `${RBAC_V1}/namespaces/${ns}/rolebindings`, {
          headers: asDeployer,
          body: {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'RoleBinding',
            metadata: { name: `dangling-${kind.toLowerCase()}` },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind, name },
            subjects: [
              { kind: 'ServiceAccount', name: 'nobody', namespace: ns },
            ],
          },
        });
      const notFound = (plural: string, name: string) => ({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `${plural}.rbac.authorization.k8s.io "${name}" not found`,
        reason: 'NotFound',
        details: { name, group: 'rbac.authorization.k8s.io', kind: plural },
        code: 404,
      });
      const toClusterRole = await dangling('ClusterRole', `${ns}-no-such-role`);
      expect(toClusterRole.status).toBe(404);
      expect(toClusterRole.body).toEqual(
        notFound('clusterroles', `${ns}-no-such-role`),
      );
      const toRole = await dangling('Role', 'no-such-role');
      expect(toRole.body).toEqual(notFound('roles', 'no-such-role'));
    });

    it('lists the bindings it could not resolve, as the registry names them, with a refused grant', async () => {
      await rbac.createNamespacedRoleBinding({
        namespace: ns,
        body: {
          metadata: { name: 'deployer-gone' },
          roleRef: {
            apiGroup: 'rbac.authorization.k8s.io',
            kind: 'ClusterRole',
            name: `${ns}-gone`,
          },
          subjects: [
            { kind: 'ServiceAccount', name: 'deployer', namespace: ns },
          ],
        },
      });
      const attempt = () =>
        rawRequest(engine, 'POST', `${RBAC_V1}/namespaces/${ns}/roles`, {
          headers: asDeployer,
          body: nodesRole('unresolved'),
        });
      try {
        const refused = await eventually(async () => {
          const r = await attempt();
          return r.body?.message?.includes('resolution errors') ? r : undefined;
        });
        expect(refused.body.message).toBe(
          `roles.rbac.authorization.k8s.io "unresolved" is forbidden: user "${sa}" (groups=["system:serviceaccounts" "system:serviceaccounts:${ns}" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}; resolution errors: [clusterroles.rbac.authorization.k8s.io "${ns}-gone" not found]`,
        );
      } finally {
        // Later tests read the deployer's rules (SelfSubjectRulesReview), which this binding would leave incomplete.
        await rbac
          .deleteNamespacedRoleBinding({ name: 'deployer-gone', namespace: ns })
          .catch(() => {});
        await eventually(
          async () => !(await attempt()).body?.message?.includes('resolution'),
        );
      }
    });
  });

  describe('access reviews', () => {
    const ssar = (resourceAttributes: Record<string, string>) =>
      rawRequest(engine, 'POST', `${AUTHZ_V1}/selfsubjectaccessreviews`, {
        headers: asDeployer,
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes },
        },
      });

    it('answers SelfSubjectAccessReviews for the impersonated user', async () => {
      const allowed = await ssar({
        namespace: ns,
        verb: 'create',
        group: 'apps',
        resource: 'deployments',
      });
      expect(allowed.status).toBe(201);
      expect(allowed.body).toMatchObject({
        kind: 'SelfSubjectAccessReview',
        apiVersion: 'authorization.k8s.io/v1',
        metadata: { creationTimestamp: null },
        spec: {
          resourceAttributes: {
            namespace: ns,
            verb: 'create',
            group: 'apps',
            resource: 'deployments',
          },
        },
      });
      expect(allowed.body.status).toEqual({
        allowed: true,
        reason: `RBAC: allowed by RoleBinding "deployer-admin/${ns}" of ClusterRole "admin" to ServiceAccount "deployer/${ns}"`,
      });
      const denied = await ssar({
        namespace: 'kube-system',
        verb: 'create',
        group: 'apps',
        resource: 'deployments',
      });
      expect(denied.body.status).toEqual({ allowed: false });
      const cluster_ = await ssar({ verb: 'list', resource: 'namespaces' });
      expect(cluster_.body.status).toEqual({ allowed: false });
    });

    it('answers SelfSubjectRulesReviews with the rules of the namespace', async () => {
      const review = (spec: Record<string, string>) =>
        rawRequest(engine, 'POST', `${AUTHZ_V1}/selfsubjectrulesreviews`, {
          headers: asDeployer,
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectRulesReview',
            spec,
          },
        });
      const inNs = await review({ namespace: ns });
      expect(inNs.status).toBe(201);
      expect(inNs.body.spec).toEqual({});
      expect(inNs.body.status.incomplete).toBe(false);
      const rules = inNs.body.status.resourceRules;
      expect(rules).toHaveLength(26);
      expect(rules).toContainEqual({
        verbs: ['create'],
        apiGroups: ['authorization.k8s.io'],
        resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
      });
      expect(rules).toContainEqual({
        verbs: [
          'create',
          'delete',
          'deletecollection',
          'get',
          'list',
          'patch',
          'update',
          'watch',
        ],
        apiGroups: ['rbac.authorization.k8s.io'],
        resources: ['rolebindings', 'roles'],
      });
      expect(rules).toContainEqual({
        verbs: ['impersonate'],
        apiGroups: [''],
        resources: ['serviceaccounts'],
      });
      expect(inNs.body.status.nonResourceRules).toContainEqual({
        verbs: ['get'],
        nonResourceURLs: [
          '/api',
          '/api/*',
          '/apis',
          '/apis/*',
          '/healthz',
          '/livez',
          '/openapi',
          '/openapi/*',
          '/readyz',
          '/version',
          '/version/',
        ],
      });
      const kubeSystem = await review({ namespace: 'kube-system' });
      expect(kubeSystem.body.status.resourceRules).toEqual([
        {
          verbs: ['create'],
          apiGroups: ['authorization.k8s.io'],
          resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
        },
      ]);
      const noNs = await review({});
      expect(noNs.status).toBe(400);
      expect(noNs.body).toMatchObject({
        kind: 'Status',
        status: 'Failure',
        message: 'no namespace on request',
        reason: 'BadRequest',
        code: 400,
      });
    });

    it('answers a SubjectAccessReview for another user', async () => {
      const r = await rawRequest(
        cluster.kc,
        'POST',
        `${AUTHZ_V1}/subjectaccessreviews`,
        {
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SubjectAccessReview',
            spec: {
              user: sa,
              groups: [
                'system:serviceaccounts',
                `system:serviceaccounts:${ns}`,
                'system:authenticated',
              ],
              resourceAttributes: {
                namespace: 'kube-system',
                verb: 'create',
                group: 'apps',
                resource: 'deployments',
              },
            },
          },
        },
      );
      expect(r.status).toBe(201);
      expect(r.body.spec.user).toBe(sa);
      expect(r.body.status).toEqual({ allowed: false });
    });
  });

  describe('a ServiceAccount that may only watch', () => {
    /** A token for SA `watcher`, whose only right in the namespace is `watch` on ConfigMaps and Deployments. */
    let watcher: KubeConfig;
    let apps: AppsV1Api;
    const methodNotAllowed = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'the server does not allow this method on the requested resource',
      reason: 'MethodNotAllowed',
      details: {},
      code: 405,
    };
    const configMap = (name: string) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name },
      data: { a: '1' },
    });

    beforeAll(async () => {
      apps = cluster.kc.makeApiClient(AppsV1Api);
      await core.createNamespacedServiceAccount({
        namespace: ns,
        body: { metadata: { name: 'watcher' } },
      });
      await rbac.createNamespacedRole({
        namespace: ns,
        body: {
          metadata: { name: 'watch-only' },
          rules: [
            { apiGroups: [''], resources: ['configmaps'], verbs: ['watch'] },
            {
              apiGroups: ['apps'],
              resources: ['deployments'],
              verbs: ['watch'],
            },
          ],
        },
      });
      await rbac.createNamespacedRoleBinding({
        namespace: ns,
        body: {
          metadata: { name: 'watcher-watch-only' },
          roleRef: {
            apiGroup: 'rbac.authorization.k8s.io',
            kind: 'Role',
            name: 'watch-only',
          },
          subjects: [
            { kind: 'ServiceAccount', name: 'watcher', namespace: ns },
          ],
        },
      });
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: configMap('watched'),
      });
      await apps.createNamespacedDeployment({
        namespace: ns,
        body: deployment('watched-app') as any,
      });
      watcher = withToken(cluster.kc, await token('watcher'));
      await eventually(async () => {
        const r = await rawRequest(
          watcher,
          'GET',
          `/api/v1/watch/namespaces/${ns}/configmaps?timeoutSeconds=1`,
        );
        return r.status === 200;
      });
    });

    /** The events of a finished watch stream (one JSON object a line). */
    const events = (text: string) =>
      text
        .split('\n')
        .filter(line => line.trim())
        .map(line => JSON.parse(line));

    it('is authorized as watch and answered 405 for writes through the /watch/ URLs, which write nothing', async () => {
      const cmPath = `/api/v1/watch/namespaces/${ns}/configmaps`;
      const deployPath = `/apis/apps/v1/watch/namespaces/${ns}/deployments`;
      const writes: Array<[string, string, unknown, string?]> = [
        ['POST', cmPath, configMap('sneaky')],
        [
          'PUT',
          `${cmPath}/watched`,
          { ...configMap('watched'), data: { a: 'changed' } },
        ],
        [
          'PATCH',
          `${cmPath}/watched`,
          { data: { a: 'patched' } },
          'application/merge-patch+json',
        ],
        ['DELETE', `${cmPath}/watched`, undefined],
        ['DELETE', cmPath, undefined],
        ['POST', deployPath, deployment('sneaky-app')],
        [
          'PATCH',
          `${deployPath}/watched-app`,
          { spec: { replicas: 3 } },
          'application/merge-patch+json',
        ],
        ['DELETE', `${deployPath}/watched-app`, undefined],
        ['DELETE', deployPath, undefined],
      ];
      for (const [method, path, body, contentType] of writes) {
        const r = await rawRequest(watcher, method, path, {
          body,
          contentType,
        });
        expect({ method, path, status: r.status, body: r.body }).toEqual({
          method,
          path,
          status: 405,
          body: methodNotAllowed,
        });
      }
      // The same writes by the system:masters admin are refused alike.
      const admin = await rawRequest(cluster.kc, 'POST', cmPath, {
        body: configMap('sneaky'),
      });
      expect(admin.status).toBe(405);
      expect(admin.body).toEqual(methodNotAllowed);

      const cm = await core.readNamespacedConfigMap({
        name: 'watched',
        namespace: ns,
      });
      expect(cm.data).toEqual({ a: '1' });
      expect(
        (
          await failure(
            core.readNamespacedConfigMap({ name: 'sneaky', namespace: ns }),
          )
        ).code,
      ).toBe(404);
      const d = await apps.readNamespacedDeployment({
        name: 'watched-app',
        namespace: ns,
      });
      expect(d.spec?.replicas).toBe(0);
      expect(
        (
          await failure(
            apps.readNamespacedDeployment({
              name: 'sneaky-app',
              namespace: ns,
            }),
          )
        ).code,
      ).toBe(404);

      // Authorization comes first, with the verb watch: one without it gets 403, not 405.
      const denied = await rawRequest(
        withToken(cluster.kc),
        'DELETE',
        `${cmPath}/watched`,
      );
      expect(denied.body).toEqual(
        forbidden(
          `configmaps "watched" is forbidden: User "system:anonymous" cannot watch resource "configmaps" in API group "" in the namespace "${ns}"`,
          { name: 'watched', kind: 'configmaps' },
        ),
      );
    });

    it('watches with any watch value but false and 0, and never lists for one without list', async () => {
      for (const value of ['yes', 'True', '']) {
        const r = await rawRequest(
          watcher,
          'GET',
          `/api/v1/namespaces/${ns}/configmaps?watch=${value}&timeoutSeconds=1`,
        );
        expect({ value, status: r.status }).toEqual({ value, status: 200 });
        const seen = events(r.text);
        expect(seen.every(e => e.type === 'ADDED')).toBe(true);
        expect(seen.map(e => e.object.metadata.name)).toContain('watched');
      }
      for (const value of ['false', 'FALSE', '0']) {
        const r = await rawRequest(
          watcher,
          'GET',
          `/api/v1/namespaces/${ns}/configmaps?watch=${value}`,
        );
        expect(r.body).toEqual(
          forbidden(
            `configmaps is forbidden: User "system:serviceaccount:${ns}:watcher" cannot list resource "configmaps" in API group "" in the namespace "${ns}"`,
            { kind: 'configmaps' },
          ),
        );
      }
      // On a named object the parameter means nothing: a plain GET answers the object.
      const named = await rawRequest(
        cluster.kc,
        'GET',
        `/api/v1/namespaces/${ns}/configmaps/watched?watch=true&timeoutSeconds=1`,
      );
      expect(named.status).toBe(200);
      expect(named.body).toMatchObject({
        kind: 'ConfigMap',
        metadata: { name: 'watched' },
      });
    });
  });

  describe('binding roleRefs', () => {
    const RBAC_GROUP = 'rbac.authorization.k8s.io';
    const ref = (name: string) => ({
      apiGroup: RBAC_GROUP,
      kind: 'ClusterRole',
      name,
    });
    const cannotChange = (kind: string, name: string, roleName: string) => {
      const message = `Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", Name:"${roleName}"}: cannot change roleRef`;
      return {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `${kind}.rbac.authorization.k8s.io "${name}" is invalid: roleRef: ${message}`,
        reason: 'Invalid',
        details: {
          name,
          group: RBAC_GROUP,
          kind,
          causes: [{ reason: 'FieldValueInvalid', message, field: 'roleRef' }],
        },
        code: 422,
      };
    };
    const subjects = [
      { apiGroup: RBAC_GROUP, kind: 'User', name: 'pinned-user' },
    ];

    it('refuses to change the roleRef of a RoleBinding by patch, update or apply', async () => {
      const path = `${RBAC_V1}/namespaces/${ns}/rolebindings`;
      const created = await rawRequest(cluster.kc, 'POST', path, {
        body: {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'pinned' },
          roleRef: ref('admin'),
          subjects,
        },
      });
      expect(created.status).toBe(201);
      const patched = await rawRequest(cluster.kc, 'PATCH', `${path}/pinned`, {
        body: { roleRef: { name: 'view' } },
        contentType: 'application/merge-patch+json',
      });
      expect(patched.status).toBe(422);
      expect(patched.body).toEqual(
        cannotChange('RoleBinding', 'pinned', 'view'),
      );
      const updated = await rawRequest(cluster.kc, 'PUT', `${path}/pinned`, {
        body: { ...created.body, roleRef: ref('edit') },
      });
      expect(updated.body).toEqual(
        cannotChange('RoleBinding', 'pinned', 'edit'),
      );
      const applyBody = (roleName: string) =>
        [
          'apiVersion: rbac.authorization.k8s.io/v1',
          'kind: RoleBinding',
          'metadata:',
          '  name: pinned-applied',
          'roleRef:',
          '  apiGroup: rbac.authorization.k8s.io',
          '  kind: ClusterRole',
          `  name: ${roleName}`,
          'subjects:',
          '- apiGroup: rbac.authorization.k8s.io',
          '  kind: User',
          '  name: pinned-user',
          '',
        ].join('\n');
      const applyPath = `${path}/pinned-applied?fieldManager=conformance`;
      const first = await rawRequest(cluster.kc, 'PATCH', applyPath, {
        body: applyBody('admin'),
        contentType: 'application/apply-patch+yaml',
      });
      expect(first.status).toBe(201);
      const reapplied = await rawRequest(cluster.kc, 'PATCH', applyPath, {
        body: applyBody('view'),
        contentType: 'application/apply-patch+yaml',
      });
      expect(reapplied.body).toEqual(
        cannotChange('RoleBinding', 'pinned-applied', 'view'),
      );
      // Everything else about a binding may change.
      const newSubjects = await rawRequest(
        cluster.kc,
        'PATCH',
        `${path}/pinned`,
        {
          body: {
            subjects: [
              { apiGroup: RBAC_GROUP, kind: 'User', name: 'other-user' },
            ],
          },
          contentType: 'application/merge-patch+json',
        },
      );
      expect(newSubjects.status).toBe(200);
      const stored = await rbac.readNamespacedRoleBinding({
        name: 'pinned',
        namespace: ns,
      });
      expect(stored.roleRef).toEqual(ref('admin'));
      expect(stored.subjects).toEqual([
        { apiGroup: RBAC_GROUP, kind: 'User', name: 'other-user' },
      ]);
      const stillApplied = await rbac.readNamespacedRoleBinding({
        name: 'pinned-applied',
        namespace: ns,
      });
      expect(stillApplied.roleRef).toEqual(ref('admin'));
    });

    it('refuses to change the roleRef of a ClusterRoleBinding', async () => {
      const name = `${ns}-pinned`;
      await rbac.createClusterRoleBinding({
        body: { metadata: { name }, roleRef: ref('view'), subjects },
      });
      try {
        const patched = await rawRequest(
          cluster.kc,
          'PATCH',
          `${RBAC_V1}/clusterrolebindings/${name}`,
          {
            body: { roleRef: { name: 'edit' } },
            contentType: 'application/merge-patch+json',
          },
        );
        expect(patched.body).toEqual(
          cannotChange('ClusterRoleBinding', name, 'edit'),
        );
        expect((await rbac.readClusterRoleBinding({ name })).roleRef).toEqual(
          ref('view'),
        );
      } finally {
        await rbac.deleteClusterRoleBinding({ name }).catch(() => {});
      }
    });
  });

  describe('ClusterRole aggregation', () => {
    it('carries a role aggregated into edit on into admin', async () => {
      // A made-up resource, so the role grants nothing real while it exists.
      const resource = `${ns}-gadgets`;
      const name = `${ns}-aggregate-to-edit`;
      await rbac.createClusterRole({
        body: {
          metadata: {
            name,
            labels: { 'rbac.authorization.k8s.io/aggregate-to-edit': 'true' },
          },
          rules: [
            {
              apiGroups: ['example.com'],
              resources: [resource],
              verbs: ['list'],
            },
          ],
        },
      });
      try {
        const review = () =>
          rawRequest(engine, 'POST', `${AUTHZ_V1}/selfsubjectaccessreviews`, {
            headers: asDeployer,
            body: {
              apiVersion: 'authorization.k8s.io/v1',
              kind: 'SelfSubjectAccessReview',
              spec: {
                resourceAttributes: {
                  namespace: ns,
                  verb: 'list',
                  group: 'example.com',
                  resource,
                },
              },
            },
          });
        // The deployer is bound to admin, which aggregates edit, which aggregates the new role.
        const allowed = await eventually(async () => {
          const r = await review();
          return r.body?.status?.allowed === true ? r : undefined;
        }, 5000);
        expect(allowed.body.status).toEqual({
          allowed: true,
          reason: `RBAC: allowed by RoleBinding "deployer-admin/${ns}" of ClusterRole "admin" to ServiceAccount "deployer/${ns}"`,
        });
      } finally {
        await rbac.deleteClusterRole({ name }).catch(() => {});
      }
    });
  });

  describe.each(['helm3', 'helm4'] as const)(
    '%s with --kube-as-user',
    helmName => {
      let dir: string;
      let helm: (...args: string[]) => Promise<string>;
      const release = `${helmName}-rbac`;

      /** Runs helm and returns what it printed on failure (it must fail). */
      const helmFails = async (...args: string[]) => {
        try {
          await helm(...args);
        } catch (e) {
          return String((e as any).stderr ?? e);
        }
        throw new Error('expected helm to fail');
      };

      beforeAll(() => {
        dir = mkdtempSync(join(tmpdir(), 'kube-sim-rbac-helm-'));
        writeFileSync(join(dir, 'kubeconfig'), engine.exportConfig(), {
          mode: 0o600,
        });
        helm = helmRunner(helmName, dir);
      });

      afterAll(() => rmSync(dir, { recursive: true, force: true }));

      it('installs into the namespace the ServiceAccount administers', async () => {
        const out = await helm(
          'install',
          release,
          chart,
          '-n',
          ns,
          '--kube-as-user',
          sa,
        );
        expect(out).toContain('STATUS: deployed');
        const apps = cluster.kc.makeApiClient(AppsV1Api);
        const d = await apps.readNamespacedDeployment({
          name: `${release}-tiny`,
          namespace: ns,
        });
        expect(d.metadata?.annotations?.['meta.helm.sh/release-name']).toBe(
          release,
        );
      });

      it('gets 403 installing into kube-system', async () => {
        const err = await helmFails(
          'install',
          release,
          chart,
          '-n',
          'kube-system',
          '--kube-as-user',
          sa,
        );
        expect(err).toContain(
          `could not get information about the resource ConfigMap "${release}-cfg" in namespace "kube-system": configmaps "${release}-cfg" is forbidden: User "${sa}" cannot get resource "configmaps" in API group "" in the namespace "kube-system"`,
        );
        const err2 = await failure(
          core.readNamespacedConfigMap({
            name: `${release}-cfg`,
            namespace: 'kube-system',
          }),
        );
        expect(err2.code).toBe(404);
      });

      it('gets 403 for a ClusterRoleBinding in its chart', async () => {
        const crbChart = join(dir, 'crb-chart');
        mkdirSync(join(crbChart, 'templates'), { recursive: true });
        writeFileSync(
          join(crbChart, 'Chart.yaml'),
          'apiVersion: v2\nname: crb\nversion: 0.1.0\n',
        );
        const crbName = `${ns}-${helmName}-admin`;
        writeFileSync(
          join(crbChart, 'templates', 'crb.yaml'),
          [
            'apiVersion: rbac.authorization.k8s.io/v1',
            'kind: ClusterRoleBinding',
            'metadata:',
            `  name: ${crbName}`,
            'roleRef:',
            '  apiGroup: rbac.authorization.k8s.io',
            '  kind: ClusterRole',
            '  name: cluster-admin',
            'subjects:',
            '  - kind: ServiceAccount',
            '    name: deployer',
            `    namespace: ${ns}`,
            '',
          ].join('\n'),
        );
        const err = await helmFails(
          'install',
          `${helmName}-crb`,
          crbChart,
          '-n',
          ns,
          '--kube-as-user',
          sa,
        );
        expect(err).toContain(
          `clusterrolebindings.rbac.authorization.k8s.io "${crbName}" is forbidden: User "${sa}" cannot get resource "clusterrolebindings" in API group "rbac.authorization.k8s.io" at the cluster scope`,
        );
        const gone = await failure(
          rbac.readClusterRoleBinding({ name: crbName }),
        );
        expect(gone.code).toBe(404);
      });
    },
  );
});
