import { KubeSim, startKubeSim } from '@internal/kube-sim';
import { TableResult } from '@kubechart/plugin-assistant-common';
import { ConfigReader } from '@backstage/config';
import { ClusterRegistry } from './clusters';
import { impersonatedUser, readImpersonationPrefixes } from './impersonation';
import { PlanExecutor } from './PlanExecutor';

jest.setTimeout(60_000);

describe('requests impersonating the signed-in user', () => {
  let sim: KubeSim;
  let registry: ClusterRegistry;
  const executor = new PlanExecutor({ maxRows: 200 });

  beforeAll(async () => {
    sim = await startKubeSim({
      seed: 'demo',
      tls: true,
      objects: [
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'Role',
          metadata: { name: 'pod-reader', namespace: 'shop' },
          rules: [
            { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
          ],
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'alice-reads-pods', namespace: 'shop' },
          roleRef: {
            apiGroup: 'rbac.authorization.k8s.io',
            kind: 'Role',
            name: 'pod-reader',
          },
          subjects: [
            {
              apiGroup: 'rbac.authorization.k8s.io',
              kind: 'User',
              name: 'alice',
            },
          ],
        },
      ],
    });
    registry = new ClusterRegistry([
      {
        name: 'sim',
        url: sim.url,
        serviceAccountToken: sim.token,
        caData: sim.caData,
        skipTLSVerify: false,
      },
    ]);
  });
  afterAll(() => sim?.stop());

  it("lets the cluster's RBAC decide for the user", async () => {
    const asAlice = registry.kubeConfig('sim', { impersonateUser: 'alice' });
    const shop = (await executor.execute(
      { verb: 'get', resource: 'pods', namespace: 'shop' },
      asAlice,
    )) as TableResult;
    expect(shop.type).toBe('table');
    expect(shop.rows.length).toBeGreaterThan(0);
    await expect(
      executor.execute(
        { verb: 'get', resource: 'pods', namespace: 'payments' },
        asAlice,
      ),
    ).rejects.toThrow(/The cluster refused: .*forbidden/i);
    await expect(
      executor.execute(
        {
          verb: 'scale',
          resource: 'deployments',
          name: 'checkout-web',
          namespace: 'shop',
          replicas: 2,
        },
        asAlice,
      ),
    ).rejects.toThrow(/forbidden/i);
    // Without impersonation the assistant's own identity is used.
    const own = (await executor.execute(
      { verb: 'get', resource: 'pods', namespace: 'payments' },
      registry.kubeConfig('sim'),
    )) as TableResult;
    expect(own.rows.length).toBeGreaterThan(0);
  });
});

describe('the Kubernetes user a catalog user is impersonated as', () => {
  const prefixes = { 'team-b': 'team-b/', ops: 'ops:' };

  it('keeps the bare name in the default namespace and a prefix where one is configured', () => {
    expect(impersonatedUser('user:default/alice', prefixes)).toEqual({
      user: 'alice',
    });
    expect(impersonatedUser('user:alice', prefixes)).toEqual({ user: 'alice' });
    expect(impersonatedUser('user:team-b/alice', prefixes)).toEqual({
      user: 'team-b/alice',
    });
    expect(impersonatedUser('user:ops/alice', prefixes)).toEqual({
      user: 'ops:alice',
    });
  });

  it('refuses users no name is safe for, rather than let two users meet', () => {
    for (const ref of [
      'user:team-a/alice',
      'user:default/system:masters',
      'user:default/a/b',
      'group:default/admins',
      'not a ref',
    ]) {
      expect(impersonatedUser(ref, prefixes).refusal).toMatch(
        /^With kubeAssistant.impersonation the assistant acts on the cluster as the signed-in user, and /,
      );
    }
  });

  it('refuses at start-up prefixes under which two namespaces could meet', () => {
    const read = (map: object) =>
      readImpersonationPrefixes(
        new ConfigReader({ kubeAssistant: { impersonationUserPrefixes: map } }),
      );
    expect(read({ 'team-b': 'team-b/' })).toEqual({ 'team-b': 'team-b/' });
    expect(readImpersonationPrefixes(new ConfigReader({}))).toEqual({});
    expect(() => read({ a: 'same/', b: 'same/' })).toThrow(
      /namespaces a and b have the same prefix "same\/"/,
    );
    expect(() => read({ 'team-b': '' })).toThrow(/team-b/);
    for (const bad of ['team-b', 'system:', 'a/b/', 'team b/']) {
      expect(() => read({ 'team-b': bad })).toThrow(
        /impersonationUserPrefixes.team-b must be/,
      );
    }
  });
});
