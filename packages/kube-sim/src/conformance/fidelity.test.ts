import { AppsV1Api, CoreV1Api, V1Deployment } from '@kubernetes/client-node';
import {
  conformanceCluster,
  eventually,
  failure,
  TestCluster,
  uniqueName,
} from '../__testUtils__/cluster';
import { rawRequest } from '../__testUtils__/http';

jest.setTimeout(60_000);

// Runs against KUBECONFIG when set (a real cluster), otherwise against a fresh kube-sim.
// Each expectation is a real v1.26 answer from ../shared/reference/kube-api/ (fields/, watch/, rollout/).
describe('conformance: empty maps, status codes, watch edges and Deployment generation', () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let ns: string;

  beforeAll(async () => {
    cluster = await conformanceCluster();
    core = cluster.kc.makeApiClient(CoreV1Api);
    apps = cluster.kc.makeApiClient(AppsV1Api);
    ns = uniqueName('conf-fidelity');
    await core.createNamespace({ body: { metadata: { name: ns } } });
  });

  afterAll(async () => {
    await core.deleteNamespace({ name: ns }).catch(() => {});
    await cluster.stop();
  });

  const post = (path: string, body: unknown, contentType?: string) =>
    rawRequest(cluster.kc, 'POST', path, { body, contentType });

  it("lists API groups in the server's priority order, built-in groups first", async () => {
    // The order of crd/06-discovery-apis-after.json (kubectl resolves a resource two groups serve by it).
    const order = [
      'apiregistration.k8s.io',
      'apps',
      'events.k8s.io',
      'authentication.k8s.io',
      'authorization.k8s.io',
      'autoscaling',
      'batch',
      'certificates.k8s.io',
      'networking.k8s.io',
      'policy',
      'rbac.authorization.k8s.io',
      'storage.k8s.io',
      'admissionregistration.k8s.io',
      'apiextensions.k8s.io',
      'scheduling.k8s.io',
      'coordination.k8s.io',
      'node.k8s.io',
      'discovery.k8s.io',
      'flowcontrol.apiserver.k8s.io',
    ];
    const r = await rawRequest(cluster.kc, 'GET', '/apis');
    expect(r.status).toBe(200);
    const names: string[] = r.body.groups.map((g: any) => g.name);
    const builtIn = names.filter(n => order.includes(n));
    expect(builtIn).toEqual(order.filter(n => builtIn.includes(n)));
    expect(builtIn).toEqual(expect.arrayContaining(['apps', 'batch']));
    // Every built-in group comes before any other (custom resources' groups).
    const lastBuiltIn = Math.max(...builtIn.map(n => names.indexOf(n)));
    expect(names.slice(0, lastBuiltIn + 1).every(n => order.includes(n))).toBe(
      true,
    );
  });

  it('gives the creator of a namespace its name label in managedFields', async () => {
    // fields/00-namespace-create.json: the label the server adds is the creator's.
    const created = await post('/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: uniqueName('conf-nsmf') },
    });
    expect(created.status).toBe(201);
    await core.deleteNamespace({ name: created.body.metadata.name });
    expect(created.body.metadata.managedFields).toHaveLength(1);
    expect(created.body.metadata.managedFields[0]).toMatchObject({
      operation: 'Update',
      apiVersion: 'v1',
      fieldsType: 'FieldsV1',
    });
    expect(created.body.metadata.managedFields[0].fieldsV1).toEqual({
      'f:metadata': {
        'f:labels': { '.': {}, 'f:kubernetes.io/metadata.name': {} },
      },
    });
  });

  it('gives a second Update manager the keys it adds to a map, not the map (no `.`)', async () => {
    // The creator made the labels map (`.`, as fields/00 and delete/07 record); a later writer only adds a key
    // to it, so its entry lists the key alone, as the real field manager records an Update's added fields
    // (crd/04-crd-get-established.json: no `.` on a list that existed before the write).
    const created = await post(
      `/api/v1/namespaces/${ns}/configmaps?fieldManager=creator`,
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'twomanagers', labels: { a: '1' } },
      },
    );
    expect(created.status).toBe(201);
    const patched = await rawRequest(
      cluster.kc,
      'PATCH',
      `/api/v1/namespaces/${ns}/configmaps/twomanagers?fieldManager=labeller`,
      {
        body: { metadata: { labels: { b: '2' } }, data: { k: 'v' } },
        contentType: 'application/merge-patch+json',
      },
    );
    expect(patched.status).toBe(200);
    const fieldsOf = (manager: string) =>
      patched.body.metadata.managedFields.find(
        (m: any) => m.manager === manager,
      ).fieldsV1;
    expect(fieldsOf('creator')).toEqual({
      'f:metadata': { 'f:labels': { '.': {}, 'f:a': {} } },
    });
    // `data` is new: the labeller made it, and owns it with its key.
    expect(fieldsOf('labeller')).toEqual({
      'f:data': { '.': {}, 'f:k': {} },
      'f:metadata': { 'f:labels': { 'f:b': {} } },
    });
  });

  it('replaces server-set metadata on create but keeps a generation set on a kind without one', async () => {
    // fields/13-create-with-uid-and-creationTimestamp.json
    const r = await post(`/api/v1/namespaces/${ns}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'withuid',
        uid: '00000000-0000-0000-0000-000000000001',
        creationTimestamp: '2020-01-01T00:00:00Z',
        generation: 7,
        selfLink: '/x',
        managedFields: [],
      },
      data: { a: 'b' },
    });
    expect(r.status).toBe(201);
    expect(r.body.metadata.uid).not.toBe(
      '00000000-0000-0000-0000-000000000001',
    );
    expect(r.body.metadata.creationTimestamp).not.toBe('2020-01-01T00:00:00Z');
    expect(r.body.metadata.selfLink).toBeUndefined();
    expect(r.body.metadata.generation).toBe(7);
    expect(r.body.metadata.managedFields).toHaveLength(1);
    expect(r.body.metadata.managedFields[0].fieldsV1).toEqual({
      'f:data': { '.': {}, 'f:a': {} },
    });
    const read = await core.readNamespacedConfigMap({
      name: 'withuid',
      namespace: ns,
    });
    expect(read.metadata?.generation).toBe(7);
  });

  it('omits empty maps and lists from stored objects, keeps empty strings', async () => {
    const cm = await post(`/api/v1/namespaces/${ns}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'empty', labels: {}, annotations: {}, finalizers: [] },
      data: {},
      binaryData: {},
    });
    expect(cm.status).toBe(201);
    expect(Object.keys(cm.body).sort()).toEqual([
      'apiVersion',
      'kind',
      'metadata',
    ]);
    expect(cm.body.metadata.labels).toBeUndefined();
    expect(cm.body.metadata.annotations).toBeUndefined();
    expect(cm.body.metadata.finalizers).toBeUndefined();
    const read = await core.readNamespacedConfigMap({
      name: 'empty',
      namespace: ns,
    });
    expect(read.data).toBeUndefined();
    const nulls = await post(`/api/v1/namespaces/${ns}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'nulldata', labels: null },
      data: null,
    });
    expect(nulls.body.data).toBeUndefined();
    expect(nulls.body.metadata.labels).toBeUndefined();
    const strings = await post(`/api/v1/namespaces/${ns}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'strings', labels: { x: '' } },
      data: { k: '' },
    });
    expect(strings.body.data).toEqual({ k: '' });
    expect(strings.body.metadata.labels).toEqual({ x: '' });
    const secret = await post(`/api/v1/namespaces/${ns}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'empty', labels: {}, annotations: {} },
      data: {},
      stringData: {},
    });
    expect(secret.status).toBe(201);
    expect(secret.body.type).toBe('Opaque');
    expect(secret.body.data).toBeUndefined();
    expect(secret.body.stringData).toBeUndefined();
    expect(secret.body.metadata.labels).toBeUndefined();
    // Its creator owns the defaulted type (fields/10-secret-empty-data.json).
    expect(secret.body.metadata.managedFields[0].fieldsV1).toEqual({
      'f:type': {},
    });
    // stringData is folded into data before ownership is taken: the creator owns data keys, not stringData
    // (fields/14-secret-stringData.json).
    const folded = await post(`/api/v1/namespaces/${ns}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'sd' },
      data: { a: 'YQ==' },
      stringData: { b: 'plain', a: 'override' },
    });
    expect(folded.status).toBe(201);
    expect(folded.body.data).toEqual({
      a: Buffer.from('override').toString('base64'),
      b: Buffer.from('plain').toString('base64'),
    });
    expect(folded.body.metadata.managedFields[0].fieldsV1).toEqual({
      'f:data': { '.': {}, 'f:a': {}, 'f:b': {} },
      'f:type': {},
    });
  });

  it('answers a create with resourceVersion set with 500 and no reason', async () => {
    const r = await post(`/api/v1/namespaces/${ns}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'withrv', resourceVersion: '12345' },
      data: { a: 'b' },
    });
    expect(r.status).toBe(500);
    expect(r.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'resourceVersion should not be set on objects to be created',
      code: 500,
    });
    expect(
      (
        await failure(
          core.readNamespacedConfigMap({ name: 'withrv', namespace: ns }),
        )
      ).code,
    ).toBe(404);
  });

  it('answers a Secret whose data is not base64 with 400', async () => {
    const r = await post(`/api/v1/namespaces/${ns}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'bad64' },
      data: { k: 'not base64!' },
    });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({
      reason: 'BadRequest',
      message:
        'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 3',
      code: 400,
    });
  });

  it('answers bodies in an unknown media type with 415', async () => {
    const xml = await post(
      `/api/v1/namespaces/${ns}/configmaps`,
      '<ConfigMap><metadata><name>x</name></metadata></ConfigMap>',
      'application/xml',
    );
    expect(xml.status).toBe(415);
    expect(xml.body).toMatchObject({
      reason: 'UnsupportedMediaType',
      message:
        'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf',
      code: 415,
    });
    await post(`/api/v1/namespaces/${ns}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'patchme' },
    });
    const patch = await rawRequest(
      cluster.kc,
      'PATCH',
      `/api/v1/namespaces/${ns}/configmaps/patchme`,
      { body: { data: { a: 'b' } }, contentType: 'application/json' },
    );
    expect(patch.status).toBe(415);
    expect(patch.body).toMatchObject({
      reason: 'UnsupportedMediaType',
      message: '415: Unsupported Media Type',
      details: {},
      code: 415,
    });
  });

  describe('deletes', () => {
    const replicaSetsOf = async (owner: string) =>
      (await apps.listNamespacedReplicaSet({ namespace: ns })).items.filter(
        rs => rs.metadata?.name?.startsWith(`${owner}-`),
      );
    const newDeployment = async (name: string) => {
      await apps.createNamespacedDeployment({
        namespace: ns,
        body: {
          metadata: { name },
          spec: {
            replicas: 0,
            selector: { matchLabels: { app: name } },
            template: {
              metadata: { labels: { app: name } },
              spec: { containers: [{ name: 'app', image: 'nginx:1.25' }] },
            },
          },
        },
      });
      await eventually(async () => (await replicaSetsOf(name)).length === 1);
    };
    const del = (path: string) => rawRequest(cluster.kc, 'DELETE', path);

    it('answers a Service DELETE with the Service', async () => {
      await core.createNamespacedService({
        namespace: ns,
        body: {
          metadata: { name: 'svc' },
          spec: { selector: { app: 'x' }, ports: [{ port: 80 }] },
        },
      });
      const r = await del(`/api/v1/namespaces/${ns}/services/svc`);
      expect(r.status).toBe(200);
      expect(r.body.kind).toBe('Service');
      // As delete/06-service-delete.json: the value struct `status.loadBalancer` is there on a ClusterIP
      // Service, and the creator owns what it sent and the decoding defaults, not the allocated cluster IPs.
      expect(r.body.status).toEqual({ loadBalancer: {} });
      expect(r.body.metadata.managedFields).toHaveLength(1);
      expect(r.body.metadata.managedFields[0].fieldsV1).toEqual({
        'f:spec': {
          'f:internalTrafficPolicy': {},
          'f:ports': {
            '.': {},
            'k:{"port":80,"protocol":"TCP"}': {
              '.': {},
              'f:port': {},
              'f:protocol': {},
              'f:targetPort': {},
            },
          },
          'f:selector': {},
          'f:sessionAffinity': {},
          'f:type': {},
        },
      });
      expect(r.body.metadata.name).toBe('svc');
      await eventually(async () => {
        const err = await failure(
          core.readNamespacedService({ name: 'svc', namespace: ns }),
        );
        return err.code === 404;
      });
    });

    it('holds an Orphan delete with the orphan finalizer, then leaves the ReplicaSet ownerless', async () => {
      await newDeployment('orph');
      const r = await del(
        `/apis/apps/v1/namespaces/${ns}/deployments/orph?propagationPolicy=Orphan`,
      );
      expect(r.status).toBe(200);
      expect(r.body.kind).toBe('Deployment');
      expect(r.body.metadata.finalizers).toEqual(['orphan']);
      expect(r.body.metadata.deletionTimestamp).toBeTruthy();
      // Being marked deleted bumps the generation (delete/02-deployment-delete-orphan.json: 1 → 2).
      expect(r.body.metadata.generation).toBe(2);
      expect(r.body.metadata.deletionGracePeriodSeconds).toBe(0);
      await eventually(async () => {
        const err = await failure(
          apps.readNamespacedDeployment({ name: 'orph', namespace: ns }),
        );
        return err.code === 404;
      });
      const rs = await eventually(async () => {
        const list = await replicaSetsOf('orph');
        return list.length === 1 && !list[0].metadata?.ownerReferences
          ? list
          : undefined;
      });
      expect(rs).toHaveLength(1);
    });

    it('holds a Foreground delete with the foregroundDeletion finalizer until dependents are gone', async () => {
      await newDeployment('fg');
      const r = await rawRequest(
        cluster.kc,
        'DELETE',
        `/apis/apps/v1/namespaces/${ns}/deployments/fg`,
        {
          body: {
            kind: 'DeleteOptions',
            apiVersion: 'v1',
            propagationPolicy: 'Foreground',
          },
        },
      );
      expect(r.status).toBe(200);
      expect(r.body.kind).toBe('Deployment');
      expect(r.body.metadata.finalizers).toEqual(['foregroundDeletion']);
      expect(r.body.metadata.generation).toBe(2);
      await eventually(async () => {
        const err = await failure(
          apps.readNamespacedDeployment({ name: 'fg', namespace: ns }),
        );
        return err.code === 404 && (await replicaSetsOf('fg')).length === 0;
      });
    });

    it('keeps a Foreground-deleted owner until a blocking dependent held by a finalizer is gone', async () => {
      // delete/01-deployment-delete-foreground-sequence.json: the garbage collector deletes the dependents and
      // removes the owner's foregroundDeletion finalizer only once no dependent with blockOwnerDeletion is left.
      const owner = await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'fg-owner' } },
      });
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: {
          metadata: {
            name: 'fg-dependent',
            finalizers: ['example.com/hold'],
            ownerReferences: [
              {
                apiVersion: 'v1',
                kind: 'ConfigMap',
                name: 'fg-owner',
                uid: owner.metadata!.uid!,
                blockOwnerDeletion: true,
              },
            ],
          },
        },
      });
      const r = await rawRequest(
        cluster.kc,
        'DELETE',
        `/api/v1/namespaces/${ns}/configmaps/fg-owner`,
        {
          body: {
            kind: 'DeleteOptions',
            apiVersion: 'v1',
            propagationPolicy: 'Foreground',
          },
        },
      );
      expect(r.status).toBe(200);
      expect(r.body.metadata.finalizers).toEqual(['foregroundDeletion']);
      const dependent = await eventually(async () => {
        const d = await core.readNamespacedConfigMap({
          name: 'fg-dependent',
          namespace: ns,
        });
        return d.metadata?.deletionTimestamp ? d : undefined;
      });
      expect(dependent.metadata?.finalizers).toEqual(['example.com/hold']);
      const held = await core.readNamespacedConfigMap({
        name: 'fg-owner',
        namespace: ns,
      });
      expect(held.metadata?.deletionTimestamp).toBeTruthy();
      expect(held.metadata?.finalizers).toEqual(['foregroundDeletion']);

      await core.patchNamespacedConfigMap({
        name: 'fg-dependent',
        namespace: ns,
        body: [{ op: 'remove', path: '/metadata/finalizers' }],
      });
      await eventually(async () => {
        const errs = await Promise.all(
          ['fg-owner', 'fg-dependent'].map(name =>
            failure(core.readNamespacedConfigMap({ name, namespace: ns })),
          ),
        );
        return errs.every(e => e.code === 404);
      });
    });

    it('refuses a create in a Terminating namespace with a NamespaceTerminating cause', async () => {
      const doomed = uniqueName('conf-term');
      await core.createNamespace({ body: { metadata: { name: doomed } } });
      await core.deleteNamespace({ name: doomed });
      const r = await post(`/api/v1/namespaces/${doomed}/configmaps`, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'new' },
      });
      expect(r.status).toBe(403);
      expect(r.body).toMatchObject({
        reason: 'Forbidden',
        message: `configmaps "new" is forbidden: unable to create new content in namespace ${doomed} because it is being terminated`,
        details: {
          name: 'new',
          kind: 'configmaps',
          causes: [
            {
              reason: 'NamespaceTerminating',
              message: `namespace ${doomed} is being terminated`,
              field: 'metadata.namespace',
            },
          ],
        },
      });
    });
  });

  describe('watch', () => {
    const watch = (query: string) =>
      rawRequest(
        cluster.kc,
        'GET',
        `/api/v1/namespaces/${ns}/configmaps?watch=true&timeoutSeconds=1&${query}`,
      );

    it('answers a resourceVersion older than the watch cache with one 410 ERROR event at once', async () => {
      // An hour's watch: that the answer ends at all shows the 410 ended it (a watch kept open
      // after it runs into the test's timeout).
      const r = await rawRequest(
        cluster.kc,
        'GET',
        `/api/v1/namespaces/${ns}/configmaps?watch=true&timeoutSeconds=3600&resourceVersion=1`,
      );
      expect(r.status).toBe(200);
      const lines = r.text
        .trim()
        .split('\n')
        .map(l => JSON.parse(l));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        type: 'ERROR',
        object: {
          kind: 'Status',
          status: 'Failure',
          reason: 'Expired',
          code: 410,
        },
      });
      expect(lines[0].object.message).toMatch(
        /^too old resource version: 1 \(\d+\)$/,
      );
    }, 20_000);

    it('answers a resourceVersion that is not a number with 500', async () => {
      const r = await watch('resourceVersion=abc');
      expect(r.status).toBe(500);
      expect(r.body).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message:
          'resourceVersion: Invalid value: "abc": strconv.ParseUint: parsing "abc": invalid syntax',
        code: 500,
      });
    });

    it('refuses resourceVersionMatch on a watch with 422', async () => {
      const list = await core.listNamespacedConfigMap({ namespace: ns });
      const r = await watch(
        `resourceVersion=${
          list.metadata!.resourceVersion
        }&resourceVersionMatch=Exact`,
      );
      expect(r.status).toBe(422);
      expect(r.body.message).toBe(
        'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch',
      );
      expect(r.body.details).toEqual({
        group: 'meta.k8s.io',
        kind: 'ListOptions',
        causes: [
          {
            reason: 'FieldValueForbidden',
            message: 'Forbidden: resourceVersionMatch is forbidden for watch',
            field: 'resourceVersionMatch',
          },
        ],
      });
    });

    it('treats sendInitialEvents alone as a plain watch (v1.26): initial ADDED events, no bookmark', async () => {
      const r = await watch(
        'sendInitialEvents=true&labelSelector=order%3Dnone',
      );
      expect(r.status).toBe(200);
      expect(r.text.trim()).toBe('');
      const all = await watch(
        'sendInitialEvents=true&allowWatchBookmarks=false',
      );
      const types = all.text
        .trim()
        .split('\n')
        .map(l => JSON.parse(l).type);
      expect(types.length).toBeGreaterThan(0);
      expect(new Set(types)).toEqual(new Set(['ADDED']));
    });
  });

  it('bumps a Deployment generation on annotation changes but not on label-only or no-op changes', async () => {
    const body: V1Deployment = {
      metadata: { name: 'web' },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'app', image: 'nginx:1.25' }] },
        },
      },
    };
    await apps.createNamespacedDeployment({ namespace: ns, body });
    // The controller writes its revision annotation with a status update: no generation bump.
    const synced = await eventually(async () => {
      const d = await apps.readNamespacedDeployment({
        name: 'web',
        namespace: ns,
      });
      return d.status?.observedGeneration === 1 &&
        d.metadata?.annotations?.['deployment.kubernetes.io/revision'] === '1'
        ? d
        : undefined;
    });
    expect(synced.metadata?.generation).toBe(1);
    // The annotation is the controller's status entry's, the spec the creator's (rollout/02-*).
    const controllerEntry = synced.metadata?.managedFields?.find(
      m => m.manager === 'kube-controller-manager',
    );
    expect(controllerEntry?.subresource).toBe('status');
    expect(
      (controllerEntry?.fieldsV1 as any)['f:metadata']['f:annotations'],
    ).toEqual({ '.': {}, 'f:deployment.kubernetes.io/revision': {} });
    const creatorEntry = synced.metadata?.managedFields?.find(
      m => m.manager !== 'kube-controller-manager',
    );
    expect((creatorEntry?.fieldsV1 as any)['f:metadata']).toBeUndefined();
    const mergePatch = (patch: unknown) =>
      rawRequest(
        cluster.kc,
        'PATCH',
        `/apis/apps/v1/namespaces/${ns}/deployments/web`,
        {
          body: patch,
          contentType: 'application/merge-patch+json',
        },
      );
    const annotated = await mergePatch({
      metadata: { annotations: { 'example.com/note': 'hello' } },
    });
    expect(annotated.body.metadata.generation).toBe(2);
    const labelled = await mergePatch({
      metadata: { labels: { 'example.com/tier': 'front' } },
    });
    expect(labelled.body.metadata.generation).toBe(2);
    // The controller writes the status of generation 2 (a stale PUT would be a 409): PUT over what is stored
    // after that.
    const current = await eventually(async () => {
      const d = await rawRequest(
        cluster.kc,
        'GET',
        `/apis/apps/v1/namespaces/${ns}/deployments/web`,
      );
      return d.body.status?.observedGeneration === 2 ? d.body : undefined;
    });
    expect(current.metadata.labels).toEqual({ 'example.com/tier': 'front' });
    current.metadata.annotations['example.com/note2'] = 'x';
    const put = await rawRequest(
      cluster.kc,
      'PUT',
      `/apis/apps/v1/namespaces/${ns}/deployments/web`,
      {
        body: current,
      },
    );
    expect(put.status).toBe(200);
    expect(put.body.metadata.generation).toBe(3);
    const noop = await mergePatch({ spec: { replicas: 0 } });
    expect(noop.body.metadata.generation).toBe(3);
  });

  it('answers a Deployment create with status: {} and copies its annotations to its ReplicaSet', async () => {
    const created = await post(`/apis/apps/v1/namespaces/${ns}/deployments`, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'annotated',
        annotations: {
          'example.com/note': 'hello',
          'kubectl.kubernetes.io/last-applied-configuration': '{}',
        },
      },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'annotated' } },
        template: {
          metadata: { labels: { app: 'annotated' } },
          spec: { containers: [{ name: 'app', image: 'nginx:1.25' }] },
        },
      },
    });
    expect(created.status).toBe(201);
    // rollout/01-deployment-create.json: the empty status struct is encoded, not left out.
    expect(created.body.status).toEqual({});
    const replicaSet = (note2?: string) =>
      eventually(async () => {
        const { items } = await apps.listNamespacedReplicaSet({
          namespace: ns,
          labelSelector: 'app=annotated',
        });
        const annotations = items[0]?.metadata?.annotations ?? {};
        return annotations['example.com/note2'] === note2 &&
          annotations['deployment.kubernetes.io/revision']
          ? annotations
          : undefined;
      });
    expect(await replicaSet()).toEqual({
      'deployment.kubernetes.io/desired-replicas': '0',
      'deployment.kubernetes.io/max-replicas': '0',
      'deployment.kubernetes.io/revision': '1',
      'example.com/note': 'hello',
    });
    // A later annotation reaches the ReplicaSet too (rollout/09-replicasets-after-rollout.json).
    await rawRequest(
      cluster.kc,
      'PATCH',
      `/apis/apps/v1/namespaces/${ns}/deployments/annotated`,
      {
        body: { metadata: { annotations: { 'example.com/note2': 'x' } } },
        contentType: 'application/merge-patch+json',
      },
    );
    expect((await replicaSet('x'))['example.com/note']).toBe('hello');
  });

  it('answers an unknown Accept with 406, a body that does not parse with the decoder summary, a bad propagationPolicy with 422 before the lookup', async () => {
    const xml = await rawRequest(
      cluster.kc,
      'GET',
      `/api/v1/namespaces/${ns}/configmaps`,
      { headers: { Accept: 'application/xml' } },
    );
    expect(xml.status).toBe(406);
    expect(xml.body).toMatchObject({
      reason: 'NotAcceptable',
      message:
        '406: Not Acceptable\n\nAvailable representations: application/json, application/yaml, application/vnd.kubernetes.protobuf',
      details: {},
    });

    const truncated = await post(
      `/api/v1/namespaces/${ns}/configmaps`,
      '{"apiVersion":"v1","kind":"ConfigMap","metadata":{',
    );
    expect(truncated.status).toBe(400);
    expect(truncated.body.message).toBe(
      'the object provided is unrecognized (must be of type ConfigMap): couldn\'t get version/kind; json parse error: unexpected end of JSON input ({"apiVersion":"v1","kind":"Con ...)',
    );

    const sideways = await rawRequest(
      cluster.kc,
      'DELETE',
      `/apis/apps/v1/namespaces/${ns}/deployments/missing?propagationPolicy=Sideways`,
    );
    expect(sideways.status).toBe(422);
    expect(sideways.body).toMatchObject({
      reason: 'Invalid',
      message:
        'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "Sideways": supported values: "Foreground", "Background", "Orphan", "nil"',
      details: {
        group: 'meta.k8s.io',
        kind: 'DeleteOptions',
        causes: [
          {
            reason: 'FieldValueNotSupported',
            field: 'propagationPolicy',
          },
        ],
      },
    });
    expect(sideways.body.details.name).toBeUndefined();
  });

  it('lists storageVersionHash in discovery as the API server computes it (api-v1.json)', async () => {
    const res = await rawRequest(cluster.kc, 'GET', '/api/v1');
    const hash = (name: string) =>
      res.body.resources.find((r: any) => r.name === name)?.storageVersionHash;
    expect(hash('configmaps')).toBe('qFsyl6wFWjQ=');
    expect(hash('events')).toBe('r2yiGXH7wu8=');
    expect(hash('namespaces')).toBe('Q3oi5N2YM8M=');
  });

  it('answers Accept: application/yaml in YAML, keys sorted as the API server writes them (fields/15-accept-yaml.json)', async () => {
    await post(`/api/v1/namespaces/${ns}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'yamlcm' },
      data: { a: 'b' },
    });
    const res = await rawRequest(
      cluster.kc,
      'GET',
      `/api/v1/namespaces/${ns}/configmaps/yamlcm`,
      { headers: { Accept: 'application/yaml' } },
    );
    expect(res.status).toBe(200);
    expect(res.contentType).toBe('application/yaml');
    expect(res.text).toMatch(
      /^apiVersion: v1\ndata:\n {2}a: b\nkind: ConfigMap\nmetadata:\n {2}creationTimestamp: "[^"]+"\n {2}managedFields:\n {2}- apiVersion: v1\n/,
    );
    expect(res.text).toMatch(/\n {2}resourceVersion: "\d+"\n/);
  });
});
