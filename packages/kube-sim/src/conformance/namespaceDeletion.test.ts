import { CoreV1Api } from '@kubernetes/client-node';
import {
  conformanceCluster,
  eventually,
  failure,
  TestCluster,
  uniqueName,
} from '../__testUtils__/cluster';

jest.setTimeout(90_000);

// Runs against KUBECONFIG when set (a real cluster), otherwise against a fresh kube-sim. The expectations are the
// real v1.26 namespace controller's, from ../shared/reference/kube-api/delete/namespace/ (04-*, 05-*, 06-*).
describe('conformance: a namespace held by an object with a finalizer', () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  let ns: string;

  beforeAll(async () => {
    cluster = await conformanceCluster({ namespaceDeletionDelayMs: 1000 });
    core = cluster.kc.makeApiClient(CoreV1Api);
    ns = uniqueName('conf-nsdel');
    await core.createNamespace({ body: { metadata: { name: ns } } });
  });

  afterAll(async () => {
    await core
      .patchNamespacedConfigMap({
        name: 'held',
        namespace: ns,
        body: [{ op: 'replace', path: '/metadata/finalizers', value: [] }],
      })
      .catch(() => {});
    await cluster.stop();
  });

  it('stays Terminating with the five deletion conditions until the finalizer goes, then is gone', async () => {
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: {
        metadata: { name: 'held', finalizers: ['example.com/hold'] },
        data: { a: 'b' },
      },
    });
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'plain' } },
    });

    const deleted = await core.deleteNamespace({ name: ns });
    expect((deleted as any).status?.phase).toBe('Terminating');
    // The namespace controller deletes the content later (the recorded one after about 5 s): right after the
    // DELETE it is all there, untouched (delete/namespace/05-namespace-terminating-sequence.json at 28 ms).
    const rightAfter = await core.listNamespacedConfigMap({ namespace: ns });
    expect(rightAfter.items.map(c => c.metadata?.name).sort()).toEqual(
      expect.arrayContaining(['held', 'plain']),
    );
    expect(
      rightAfter.items.find(c => c.metadata?.name === 'plain')?.metadata
        ?.deletionTimestamp,
    ).toBeUndefined();

    const terminating = await eventually(async () => {
      const n = await core.readNamespace({ name: ns });
      return (n.status?.conditions ?? []).length === 5 ? n : undefined;
    }, 30_000);
    expect(terminating.spec?.finalizers).toEqual(['kubernetes']);
    expect(
      terminating.status?.conditions?.map(c => [
        c.type,
        c.status,
        c.reason,
        c.message,
      ]),
    ).toEqual([
      [
        'NamespaceDeletionDiscoveryFailure',
        'False',
        'ResourcesDiscovered',
        'All resources successfully discovered',
      ],
      [
        'NamespaceDeletionGroupVersionParsingFailure',
        'False',
        'ParsedGroupVersions',
        'All legacy kube types successfully parsed',
      ],
      [
        'NamespaceDeletionContentFailure',
        'False',
        'ContentDeleted',
        'All content successfully deleted, may be waiting on finalization',
      ],
      [
        'NamespaceContentRemaining',
        'True',
        'SomeResourcesRemain',
        'Some resources are remaining: configmaps. has 1 resource instances',
      ],
      [
        'NamespaceFinalizersRemaining',
        'True',
        'SomeFinalizersRemain',
        'Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances',
      ],
    ]);
    const left = await core.listNamespacedConfigMap({ namespace: ns });
    expect(left.items.map(c => c.metadata?.name)).toEqual(['held']);
    expect(left.items[0].metadata?.deletionTimestamp).toBeDefined();

    await core.patchNamespacedConfigMap({
      name: 'held',
      namespace: ns,
      body: [{ op: 'remove', path: '/metadata/finalizers' }],
    });
    await eventually(async () => {
      const gone = await failure(core.readNamespace({ name: ns }));
      return gone.code === 404;
    }, 30_000);
  });
});
