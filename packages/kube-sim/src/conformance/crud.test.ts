import { CoreV1Api, KubeConfig, V1ConfigMap } from '@kubernetes/client-node';
import {
  conformanceCluster,
  failure,
  TestCluster,
  uniqueName,
} from '../__testUtils__/cluster';
import { rawRequest } from '../__testUtils__/http';

// Generous: these talk to a server over HTTP, and CI machines are shared.
jest.setTimeout(30_000);

// Runs against KUBECONFIG when set (a real cluster), otherwise against a fresh kube-sim.
describe('conformance: CRUD, lists, selectors and Status errors', () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  let namespace: string;

  beforeAll(async () => {
    cluster = await conformanceCluster();
    core = cluster.kc.makeApiClient(CoreV1Api);
    namespace = uniqueName('conf-crud');
    await core.createNamespace({ body: { metadata: { name: namespace } } });
  });

  afterAll(async () => {
    await core.deleteNamespace({ name: namespace }).catch(() => {});
    await cluster.stop();
  });

  const cm = (
    name: string,
    data: Record<string, string>,
    labels?: Record<string, string>,
  ) => ({ metadata: { name, labels }, data } as V1ConfigMap);

  it('creates a namespace with its name label, finalizer and Active phase', async () => {
    const ns = await core.readNamespace({ name: namespace });
    expect(ns.metadata?.labels?.['kubernetes.io/metadata.name']).toBe(
      namespace,
    );
    expect(ns.spec?.finalizers).toEqual(['kubernetes']);
    expect(ns.status?.phase).toBe('Active');
    expect(ns.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('creates, reads, updates and deletes a ConfigMap with increasing resourceVersions', async () => {
    const created = await core.createNamespacedConfigMap({
      namespace,
      body: cm('c1', { a: '1' }),
    });
    expect(created.metadata?.uid).toBeTruthy();
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    const rv1 = Number(created.metadata?.resourceVersion);

    const read = await core.readNamespacedConfigMap({ name: 'c1', namespace });
    expect(read.data).toEqual({ a: '1' });
    expect(read.metadata?.resourceVersion).toBe(
      created.metadata?.resourceVersion,
    );

    read.data = { a: '2' };
    const updated = await core.replaceNamespacedConfigMap({
      name: 'c1',
      namespace,
      body: read,
    });
    expect(updated.data).toEqual({ a: '2' });
    expect(Number(updated.metadata?.resourceVersion)).toBeGreaterThan(rv1);
    expect(updated.metadata?.uid).toBe(created.metadata?.uid);

    const status = await core.deleteNamespacedConfigMap({
      name: 'c1',
      namespace,
    });
    expect(status).toMatchObject({ kind: 'Status', status: 'Success' });
    const gone = await failure(
      core.readNamespacedConfigMap({ name: 'c1', namespace }),
    );
    expect(gone).toMatchObject({
      code: 404,
      reason: 'NotFound',
      details: { name: 'c1', kind: 'configmaps' },
    });
    expect(gone.message).toBe('configmaps "c1" not found');
  });

  it('answers a stale update with 409 Conflict', async () => {
    const first = await core.createNamespacedConfigMap({
      namespace,
      body: cm('stale', { a: '1' }),
    });
    await core.replaceNamespacedConfigMap({
      name: 'stale',
      namespace,
      body: { ...first, data: { a: '2' } },
    });
    const err = await failure(
      core.replaceNamespacedConfigMap({
        name: 'stale',
        namespace,
        body: { ...first, data: { a: '3' } },
      }),
    );
    expect(err).toMatchObject({
      code: 409,
      reason: 'Conflict',
      details: { name: 'stale', kind: 'configmaps' },
    });
    expect(err.message).toContain('the object has been modified');
  });

  it('answers a duplicate create with 409 AlreadyExists', async () => {
    await core.createNamespacedConfigMap({ namespace, body: cm('dup', {}) });
    const err = await failure(
      core.createNamespacedConfigMap({ namespace, body: cm('dup', {}) }),
    );
    expect(err).toMatchObject({ code: 409, reason: 'AlreadyExists' });
    expect(err.message).toBe('configmaps "dup" already exists');
  });

  it('answers a name that is not DNS-1123 with 422 Invalid and its causes', async () => {
    const err = await failure(
      core.createNamespacedConfigMap({ namespace, body: cm('Bad_Name', {}) }),
    );
    expect(err).toMatchObject({
      code: 422,
      reason: 'Invalid',
      details: { name: 'Bad_Name', kind: 'ConfigMap' },
    });
    expect(err.details.causes[0]).toMatchObject({
      reason: 'FieldValueInvalid',
      field: 'metadata.name',
    });
    expect(err.message).toContain('RFC 1123 subdomain');
  });

  it('honours delete preconditions', async () => {
    const created = await core.createNamespacedConfigMap({
      namespace,
      body: cm('pre', {}),
    });
    const wrongUid = await failure(
      core.deleteNamespacedConfigMap({
        name: 'pre',
        namespace,
        body: {
          preconditions: { uid: '00000000-0000-0000-0000-000000000000' },
        },
      }),
    );
    expect(wrongUid).toMatchObject({
      code: 409,
      reason: 'Conflict',
      details: { name: 'pre', kind: 'ConfigMap' },
    });
    expect(wrongUid.message).toBe(
      `Operation cannot be fulfilled on ConfigMap "pre": the UID in the precondition (00000000-0000-0000-0000-000000000000) does not match the UID in record (${
        created.metadata!.uid
      }). The object might have been deleted and then recreated`,
    );
    const staleRv = await failure(
      core.deleteNamespacedConfigMap({
        name: 'pre',
        namespace,
        body: { preconditions: { resourceVersion: '1' } },
      }),
    );
    expect(staleRv).toMatchObject({
      code: 409,
      details: { name: 'pre', kind: 'ConfigMap' },
    });
    expect(staleRv.message).toBe(
      `Operation cannot be fulfilled on ConfigMap "pre": the ResourceVersion in the precondition (1) does not match the ResourceVersion in record (${
        created.metadata!.resourceVersion
      }). The object might have been modified`,
    );
    await core.deleteNamespacedConfigMap({
      name: 'pre',
      namespace,
      body: {
        preconditions: {
          uid: created.metadata!.uid,
          resourceVersion: created.metadata!.resourceVersion,
        },
      },
    });
    expect(
      (await failure(core.readNamespacedConfigMap({ name: 'pre', namespace })))
        .code,
    ).toBe(404);
  });

  it('runs a dry-run create without storing anything', async () => {
    const dry = await core.createNamespacedConfigMap({
      namespace,
      body: cm('dry', { a: '1' }),
      dryRun: 'All',
    });
    expect(dry.metadata?.name).toBe('dry');
    expect(dry.data).toEqual({ a: '1' });
    expect(
      (await failure(core.readNamespacedConfigMap({ name: 'dry', namespace })))
        .code,
    ).toBe(404);
  });

  it('refuses dryRun values other than All with 422, writing nothing', async () => {
    const unsupported = (
      kind: string,
      values: string[],
    ): Record<string, unknown> => {
      const message = `Unsupported value: []string{${values
        .map(v => JSON.stringify(v))
        .join(', ')}}: supported values: "All"`;
      return {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `${kind}.meta.k8s.io "" is invalid: dryRun: ${message}`,
        reason: 'Invalid',
        details: {
          group: 'meta.k8s.io',
          kind,
          causes: [
            { reason: 'FieldValueNotSupported', message, field: 'dryRun' },
          ],
        },
        code: 422,
      };
    };
    const base = `/api/v1/namespaces/${namespace}/configmaps`;
    const body = (name: string, a: string) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name },
      data: { a },
    });
    const created = await rawRequest(
      cluster.kc,
      'POST',
      `${base}?dryRun=true`,
      {
        body: body('dry-true', '1'),
      },
    );
    expect(created.status).toBe(422);
    expect(created.body).toEqual(unsupported('CreateOptions', ['true']));
    const mixed = await rawRequest(
      cluster.kc,
      'POST',
      `${base}?dryRun=All&dryRun=server`,
      { body: body('dry-true', '1') },
    );
    expect(mixed.body).toEqual(unsupported('CreateOptions', ['All', 'server']));
    expect(
      (
        await failure(
          core.readNamespacedConfigMap({ name: 'dry-true', namespace }),
        )
      ).code,
    ).toBe(404);

    await core.createNamespacedConfigMap({
      namespace,
      body: cm('dry-kept', { a: '1' }),
    });
    const put = await rawRequest(
      cluster.kc,
      'PUT',
      `${base}/dry-kept?dryRun=1`,
      { body: body('dry-kept', '2') },
    );
    expect(put.body).toEqual(unsupported('UpdateOptions', ['1']));
    const patch = await rawRequest(
      cluster.kc,
      'PATCH',
      `${base}/dry-kept?dryRun=all`,
      {
        body: { data: { a: '3' } },
        contentType: 'application/merge-patch+json',
      },
    );
    expect(patch.body).toEqual(unsupported('PatchOptions', ['all']));
    const del = await rawRequest(
      cluster.kc,
      'DELETE',
      `${base}/dry-kept?dryRun=true`,
    );
    expect(del.body).toEqual(unsupported('DeleteOptions', ['true']));
    const delBody = await rawRequest(cluster.kc, 'DELETE', `${base}/dry-kept`, {
      body: { kind: 'DeleteOptions', apiVersion: 'v1', dryRun: ['yes'] },
    });
    expect(delBody.body).toEqual(unsupported('DeleteOptions', ['yes']));
    const delCollection = await rawRequest(
      cluster.kc,
      'DELETE',
      `${base}?dryRun=true`,
    );
    expect(delCollection.body).toEqual(unsupported('DeleteOptions', ['true']));
    const kept = await core.readNamespacedConfigMap({
      name: 'dry-kept',
      namespace,
    });
    expect(kept.data).toEqual({ a: '1' });

    // dryRun in a DeleteOptions body is honoured like the query parameter.
    const dryDelete = await rawRequest(
      cluster.kc,
      'DELETE',
      `${base}/dry-kept`,
      { body: { kind: 'DeleteOptions', apiVersion: 'v1', dryRun: ['All'] } },
    );
    expect(dryDelete.status).toBe(200);
    expect(
      (await core.readNamespacedConfigMap({ name: 'dry-kept', namespace }))
        .data,
    ).toEqual({ a: '1' });
  });

  it('fills in generateName', async () => {
    const created = await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { generateName: 'gen-' } },
    });
    expect(created.metadata?.name).toMatch(/^gen-[a-z0-9]{5}$/);
    expect(created.metadata?.generateName).toBe('gen-');
  });

  it('pages lists with limit/continue; remainingItemCount only without selectors', async () => {
    const ns = uniqueName('conf-page');
    await core.createNamespace({ body: { metadata: { name: ns } } });
    try {
      for (const n of ['p1', 'p2', 'p3', 'p4', 'p5']) {
        await core.createNamespacedConfigMap({
          namespace: ns,
          body: cm(n, {}, { paged: 'yes' }),
        });
      }
      const page1 = await core.listNamespacedConfigMap({
        namespace: ns,
        labelSelector: 'paged',
        limit: 2,
      });
      expect(page1.items.map(i => i.metadata?.name)).toEqual(['p1', 'p2']);
      expect(page1.metadata?._continue).toBeTruthy();
      expect(page1.metadata?.remainingItemCount).toBeUndefined();
      // Without a selector the count is there (kube-root-ca.crt is in the namespace too).
      const all = await core.listNamespacedConfigMap({ namespace: ns });
      const unfiltered = await core.listNamespacedConfigMap({
        namespace: ns,
        limit: 2,
      });
      expect(unfiltered.items.map(i => i.metadata?.name)).toEqual(
        all.items.slice(0, 2).map(i => i.metadata?.name),
      );
      expect(unfiltered.metadata?.remainingItemCount).toBe(
        all.items.length - 2,
      );
      const page2 = await core.listNamespacedConfigMap({
        namespace: ns,
        labelSelector: 'paged',
        limit: 2,
        _continue: page1.metadata?._continue,
      });
      expect(page2.items.map(i => i.metadata?.name)).toEqual(['p3', 'p4']);
      const page3 = await core.listNamespacedConfigMap({
        namespace: ns,
        labelSelector: 'paged',
        limit: 2,
        _continue: page2.metadata?._continue,
      });
      expect(page3.items.map(i => i.metadata?.name)).toEqual(['p5']);
      expect(page3.metadata?._continue).toBeFalsy();
    } finally {
      await core.deleteNamespace({ name: ns });
    }
  });

  it('filters by label selectors (=, !=, in, notin, exists, !exists)', async () => {
    const ns = uniqueName('conf-sel');
    await core.createNamespace({ body: { metadata: { name: ns } } });
    try {
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: cm('red', {}, { color: 'red', tier: 'web' }),
      });
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: cm('blue', {}, { color: 'blue' }),
      });
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: cm('none', {}),
      });
      const names = async (labelSelector: string) =>
        (
          await core.listNamespacedConfigMap({ namespace: ns, labelSelector })
        ).items
          .map(i => i.metadata!.name)
          .filter(n => n !== 'kube-root-ca.crt')
          .sort();
      expect(await names('color=red')).toEqual(['red']);
      expect(await names('color==blue')).toEqual(['blue']);
      expect(await names('color!=red')).toEqual(['blue', 'none']);
      expect(await names('color in (red,blue)')).toEqual(['blue', 'red']);
      expect(await names('color notin (red)')).toEqual(['blue', 'none']);
      expect(await names('tier')).toEqual(['red']);
      expect(await names('!color')).toEqual(['none']);
      expect(await names('color,tier=web')).toEqual(['red']);
      const empty = await core.listNamespacedConfigMap({
        namespace: ns,
        labelSelector: 'color=green',
      });
      expect(empty.items).toEqual([]);
      expect(empty.metadata?.resourceVersion).toBeTruthy();

      const bad = await failure(
        core.listNamespacedConfigMap({
          namespace: ns,
          labelSelector: 'a in (',
        }),
      );
      expect(bad).toMatchObject({ code: 400, reason: 'BadRequest' });
    } finally {
      await core.deleteNamespace({ name: ns });
    }
  });

  it('filters by field selectors', async () => {
    await core.createNamespacedConfigMap({
      namespace,
      body: cm('field-a', {}),
    });
    const byName = await core.listNamespacedConfigMap({
      namespace,
      fieldSelector: 'metadata.name=field-a',
    });
    expect(byName.items.map(i => i.metadata?.name)).toEqual(['field-a']);
    const notName = await core.listNamespacedConfigMap({
      namespace,
      fieldSelector: 'metadata.name!=field-a',
    });
    expect(notName.items.map(i => i.metadata?.name)).not.toContain('field-a');
    const all = await core.listConfigMapForAllNamespaces({
      fieldSelector: `metadata.namespace=${namespace}`,
    });
    expect(all.items.every(i => i.metadata?.namespace === namespace)).toBe(
      true,
    );
    expect(all.items.length).toBeGreaterThan(0);
    const unsupported = await failure(
      core.listNamespacedConfigMap({ namespace, fieldSelector: 'data.a=1' }),
    );
    expect(unsupported).toMatchObject({ code: 400, reason: 'BadRequest' });
  });

  it('deletes a collection by label selector', async () => {
    await core.createNamespacedConfigMap({
      namespace,
      body: cm('col-1', {}, { sweep: 'me' }),
    });
    await core.createNamespacedConfigMap({
      namespace,
      body: cm('col-2', {}, { sweep: 'me' }),
    });
    await core.createNamespacedConfigMap({
      namespace,
      body: cm('col-keep', {}, { sweep: 'no' }),
    });
    await core.deleteCollectionNamespacedConfigMap({
      namespace,
      labelSelector: 'sweep=me',
    });
    const left = await core.listNamespacedConfigMap({
      namespace,
      labelSelector: 'sweep',
    });
    expect(left.items.map(i => i.metadata?.name)).toEqual(['col-keep']);
  });

  it('refuses to create in a namespace that does not exist', async () => {
    const err = await failure(
      core.createNamespacedConfigMap({
        namespace: 'no-such-namespace-here',
        body: cm('x', {}),
      }),
    );
    expect(err).toMatchObject({
      code: 404,
      reason: 'NotFound',
      details: { name: 'no-such-namespace-here', kind: 'namespaces' },
    });
  });

  it('forbids a caller without credentials', async () => {
    const anonymous = new KubeConfig();
    const cluster_ = cluster.kc.getCurrentCluster()!;
    anonymous.loadFromOptions({
      clusters: [cluster_],
      users: [{ name: 'anonymous' }],
      contexts: [
        { name: 'anonymous', cluster: cluster_.name, user: 'anonymous' },
      ],
      currentContext: 'anonymous',
    });
    const err = await failure(
      anonymous.makeApiClient(CoreV1Api).listNamespace(),
    );
    expect(err).toMatchObject({
      code: 403,
      reason: 'Forbidden',
      details: { kind: 'namespaces' },
    });
    expect(err.message).toBe(
      'namespaces is forbidden: User "system:anonymous" cannot list resource "namespaces" in API group "" at the cluster scope',
    );
  });

  it('keeps Secret data base64 and folds stringData into data', async () => {
    const s = await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 's1' }, stringData: { password: 'hunter2' } },
    });
    expect(s.type).toBe('Opaque');
    expect(s.data).toEqual({
      password: Buffer.from('hunter2').toString('base64'),
    });
    expect((s as any).stringData).toBeUndefined();
  });
});
