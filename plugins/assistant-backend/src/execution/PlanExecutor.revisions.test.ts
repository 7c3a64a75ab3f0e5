import { KubeSim, startKubeSim } from '@internal/kube-sim';
import { AppsV1Api } from '@kubernetes/client-node';
import { Plan, TableResult } from '@kubechart/plugin-assistant-common';
import { ClusterRegistry } from './clusters';
import { PlanExecutor } from './PlanExecutor';

jest.setTimeout(60_000);

const labels = { app: 'web' };

/**
 * A deployment's revisions are the ReplicaSets it owns (by uid) among those its selector picks, as
 * kubectl reads them: a ReplicaSet that only claims its name is not one, and a namespace with more
 * ReplicaSets than one answer reads is refused, not answered from the first ones.
 */
describe('PlanExecutor rollout revisions', () => {
  let sim: KubeSim;
  let registry: ClusterRegistry;
  const executor = new PlanExecutor({ maxRows: 200 });
  const run = (plan: Plan, e = executor) =>
    e.execute(plan, registry.kubeConfig('sim'));
  const history: Plan = {
    verb: 'rollout',
    rolloutAction: 'history',
    resource: 'deployments',
    name: 'web',
    namespace: 'rev',
  };

  beforeAll(async () => {
    sim = await startKubeSim({
      tls: true,
      objects: [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'rev' } },
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'web', namespace: 'rev', labels },
          spec: {
            replicas: 0,
            selector: { matchLabels: labels },
            template: {
              metadata: { labels },
              spec: { containers: [{ name: 'web', image: 'nginx:1.26' }] },
            },
          },
        },
      ] as any,
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
    const apps = registry.kubeConfig('sim').makeApiClient(AppsV1Api);
    // Revision 2: another image, patched as the assistant patches.
    await run({
      verb: 'patch',
      resource: 'deployments',
      name: 'web',
      namespace: 'rev',
      patch:
        '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.27"}]}}}}',
    });
    const deadline = Date.now() + 20_000;
    for (;;) {
      const sets = await apps.listNamespacedReplicaSet({ namespace: 'rev' });
      if (sets.items.length >= 2) break;
      if (Date.now() > deadline) throw new Error('no revision 2');
      await new Promise(r => setTimeout(r, 100));
    }
    // A ReplicaSet that claims the deployment by name (not by its uid), with a higher revision.
    await apps.createNamespacedReplicaSet({
      namespace: 'rev',
      body: {
        metadata: {
          name: 'web-claimant',
          labels,
          annotations: { 'deployment.kubernetes.io/revision': '99' },
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              name: 'web',
              uid: '00000000-0000-0000-0000-000000000099',
            },
          ],
        },
        spec: {
          replicas: 0,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: { containers: [{ name: 'web', image: 'claimant:1' }] },
          },
        },
      },
    });
  });
  afterAll(() => sim?.stop());

  it('lists only the revisions the deployment owns', async () => {
    const table = (await run(history)) as TableResult;
    expect(table.rows.map(r => [r[1], r[3]])).toEqual([
      ['1', 'nginx:1.26'],
      ['2', 'nginx:1.27'],
    ]);
  });

  it('refuses a history it cannot read whole', async () => {
    const small = new PlanExecutor({ maxRows: 200, maxListed: 2 });
    const error = await run(history, small).catch(e => e);
    expect(error.name).toBe('InputError');
    expect(error.message).toBe(
      'More than 2 replicasets match app=web in rev, the most the assistant reads for one answer: ask about fewer (a name, a namespace or a label selector), or use kubectl',
    );
  });

  it('rolls back to the revision before the current one of those it owns', async () => {
    const result = await run({
      ...history,
      rolloutAction: 'undo',
    });
    expect(result).toEqual({
      type: 'message',
      text: 'deployment/web in rev rolled back to revision 1',
    });
    const apps = registry.kubeConfig('sim').makeApiClient(AppsV1Api);
    const web = await apps.readNamespacedDeployment({
      name: 'web',
      namespace: 'rev',
    });
    expect(web.spec?.template.spec?.containers[0].image).toBe('nginx:1.26');
  });
});
