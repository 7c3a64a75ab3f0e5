import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startSim } from '../__testUtils__/setup';
import { KubeClient } from './KubeClient';

jest.setTimeout(60_000);

/**
 * A namespaced object that names no namespace (none, or `""`) is refused by the client: client-node
 * would send it to its default namespace (`default`), a namespace no caller meant, with whatever
 * identity the client has (the engine's, for drift).
 */
describe('KubeClient: a namespaced object without a namespace', () => {
  let sim: KubeSim;
  let kc: KubeConfig;
  let client: KubeClient;
  let core: CoreV1Api;

  beforeAll(async () => {
    sim = await startSim();
    kc = new KubeConfig();
    kc.loadFromString(sim.kubeconfig);
    client = new KubeClient(kc);
    core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'platform' }, data: { secret: 'DEFAULT-NS' } },
    });
  });
  afterAll(async () => {
    await sim?.stop();
  });

  const configMap = (namespace?: string) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'platform',
      ...(namespace !== undefined ? { namespace } : {}),
    },
    data: { secret: 'changed' },
  });
  const refusal =
    /ConfigMap\/platform \(v1\) is namespaced but names no namespace/;

  it.each([
    ['no namespace', undefined],
    ['namespace ""', ''],
  ])('refuses to read, write or delete it (%s)', async (_, namespace) => {
    await expect(client.read(configMap(namespace))).rejects.toThrow(refusal);
    await expect(client.apply(configMap(namespace))).rejects.toThrow(refusal);
    await expect(client.ensure(configMap(namespace))).rejects.toThrow(refusal);
    await expect(client.applyIfChanged(configMap(namespace))).rejects.toThrow(
      refusal,
    );
    await expect(client.createAsIs(configMap(namespace))).rejects.toThrow(
      refusal,
    );
    await expect(client.delete(configMap(namespace))).rejects.toThrow(refusal);
    // Nothing reached namespace default.
    const live = await core.readNamespacedConfigMap({
      namespace: 'default',
      name: 'platform',
    });
    expect(live.data).toEqual({ secret: 'DEFAULT-NS' });
  });

  it('still reads a namespaced object in its namespace, and a cluster-scoped one without any', async () => {
    expect((await client.read<any>(configMap('default')))?.data).toEqual({
      secret: 'DEFAULT-NS',
    });
    expect(
      (
        await client.read<any>({
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: 'default' },
        })
      )?.metadata?.name,
    ).toBe('default');
  });
});
