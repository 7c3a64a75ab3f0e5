import { EventsV1Api, Watch } from '@kubernetes/client-node';
import {
  conformanceNamespace,
  eventually,
  TestNamespace,
} from '../__testUtils__/cluster';
import { rawRequest } from '../__testUtils__/http';

jest.setTimeout(60_000);

// Runs against KUBECONFIG when set (a real cluster), otherwise against a fresh kube-sim.
// Each expectation is a real v1.26 answer from ../shared/reference/kube-api/metadata/06-*.json and 07-*.json.
describe('conformance: events.k8s.io/v1 and core/v1 Events are one object seen through two APIs', () => {
  let cluster: TestNamespace;
  let ns: string;
  const v1Events = () => `/apis/events.k8s.io/v1/namespaces/${ns}/events`;
  const coreEvents = () => `/api/v1/namespaces/${ns}/events`;
  const request = (method: string, path: string, body?: unknown) =>
    rawRequest(cluster.kc, method, path, { body });
  const regarding = () => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    namespace: ns,
    name: 'web',
  });
  const newEvent = (name: string, extra: Record<string, unknown> = {}) => ({
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name },
    eventTime: '2026-01-01T00:00:00.000000Z',
    reportingController: 'example.com/engine',
    reportingInstance: 'engine-1',
    action: 'Deploy',
    reason: 'Deployed',
    type: 'Normal',
    note: 'deployed web',
    regarding: regarding(),
    ...extra,
  });
  const coreEvent = (name: string) => ({
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name },
    involvedObject: regarding(),
    reason: 'Deployed',
    message: 'deployed web',
    type: 'Normal',
    source: { component: 'engine' },
    firstTimestamp: '2026-01-01T00:00:00Z',
    lastTimestamp: '2026-01-01T00:00:00Z',
    count: 1,
  });

  beforeAll(async () => {
    cluster = await conformanceNamespace('conf-events');
    ns = cluster.ns;
  });

  afterAll(async () => {
    await cluster.stop();
  });

  it('is served in discovery', async () => {
    const res = await request('GET', '/apis/events.k8s.io/v1');
    expect(res.status).toBe(200);
    const events = res.body.resources.find((r: any) => r.name === 'events');
    expect(events).toMatchObject({ namespaced: true, kind: 'Event' });
    expect(events.verbs).toEqual(
      expect.arrayContaining(['create', 'get', 'list', 'watch', 'delete']),
    );
  });

  it('creates an events.k8s.io/v1 Event, which the core API shows as the same Event', async () => {
    const created = await request(
      'POST',
      `${v1Events()}?fieldManager=engine`,
      newEvent('web.manual1'),
    );
    expect(created.status).toBe(201);
    const { metadata, ...rest } = created.body;
    expect(rest).toEqual({
      kind: 'Event',
      apiVersion: 'events.k8s.io/v1',
      eventTime: '2026-01-01T00:00:00.000000Z',
      reportingController: 'example.com/engine',
      reportingInstance: 'engine-1',
      action: 'Deploy',
      reason: 'Deployed',
      regarding: regarding(),
      note: 'deployed web',
      type: 'Normal',
      deprecatedSource: {},
      deprecatedFirstTimestamp: null,
      deprecatedLastTimestamp: null,
    });
    // `regarding` is an atomic ObjectReference in events.k8s.io/v1: one leaf, as metadata/07-events-k8s-io-v1-create
    expect(metadata.managedFields).toEqual([
      expect.objectContaining({
        manager: 'engine',
        operation: 'Update',
        apiVersion: 'events.k8s.io/v1',
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:action': {},
          'f:eventTime': {},
          'f:note': {},
          'f:reason': {},
          'f:regarding': {},
          'f:reportingController': {},
          'f:reportingInstance': {},
          'f:type': {},
        },
      }),
    ]);

    const core = await request('GET', `${coreEvents()}/web.manual1`);
    expect(core.status).toBe(200);
    expect(core.body.metadata.uid).toBe(metadata.uid);
    expect(core.body.metadata.resourceVersion).toBe(metadata.resourceVersion);
    const { metadata: _m, ...coreRest } = core.body;
    expect(coreRest).toEqual({
      kind: 'Event',
      apiVersion: 'v1',
      involvedObject: regarding(),
      reason: 'Deployed',
      message: 'deployed web',
      source: {},
      firstTimestamp: null,
      lastTimestamp: null,
      type: 'Normal',
      eventTime: '2026-01-01T00:00:00.000000Z',
      action: 'Deploy',
      reportingComponent: 'example.com/engine',
      reportingInstance: 'engine-1',
    });
  });

  it('patches an events.k8s.io/v1 Event in its own shape (merge and JSON patch); the core API shows the change', async () => {
    await request('POST', v1Events(), newEvent('web.patched'));
    const patch = (contentType: string, body: unknown) =>
      rawRequest(cluster.kc, 'PATCH', `${v1Events()}/web.patched`, {
        body,
        contentType,
      });
    const merged = await patch('application/merge-patch+json', {
      note: 'rolled out web',
    });
    expect(merged.status).toBe(200);
    expect(merged.body).toMatchObject({
      kind: 'Event',
      apiVersion: 'events.k8s.io/v1',
      note: 'rolled out web',
    });
    const replaced = await patch('application/json-patch+json', [
      { op: 'replace', path: '/reason', value: 'RolledOut' },
    ]);
    expect(replaced.status).toBe(200);
    expect(replaced.body.reason).toBe('RolledOut');
    const core = await request('GET', `${coreEvents()}/web.patched`);
    expect(core.body).toMatchObject({
      message: 'rolled out web',
      reason: 'RolledOut',
    });
  });

  it('shows a core/v1 Event through events.k8s.io/v1 with the deprecated fields', async () => {
    const created = await request(
      'POST',
      coreEvents(),
      coreEvent('web.manual3'),
    );
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      eventTime: null,
      reportingComponent: '',
      reportingInstance: '',
      count: 1,
    });

    const view = await request('GET', `${v1Events()}/web.manual3`);
    expect(view.status).toBe(200);
    const { metadata, ...rest } = view.body;
    expect(metadata.uid).toBe(created.body.metadata.uid);
    expect(rest).toEqual({
      kind: 'Event',
      apiVersion: 'events.k8s.io/v1',
      eventTime: null,
      reason: 'Deployed',
      regarding: regarding(),
      note: 'deployed web',
      type: 'Normal',
      deprecatedSource: { component: 'engine' },
      deprecatedFirstTimestamp: '2026-01-01T00:00:00Z',
      deprecatedLastTimestamp: '2026-01-01T00:00:00Z',
      deprecatedCount: 1,
    });
  });

  it('refuses an events.k8s.io/v1 Event without eventTime (422)', async () => {
    const body = newEvent('web.manual2', { note: 'x' });
    delete (body as any).eventTime;
    const res = await request('POST', v1Events(), body);
    expect(res.status).toBe(422);
    expect(res.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Event "web.manual2" is invalid: eventTime: Required value',
      reason: 'Invalid',
      details: {
        name: 'web.manual2',
        kind: 'Event',
        causes: [
          {
            reason: 'FieldValueRequired',
            message: 'Required value',
            field: 'eventTime',
          },
        ],
      },
      code: 422,
    });
  });

  it('filters by regarding.* (events.k8s.io) and involvedObject.* (core) alike', async () => {
    await request('POST', v1Events(), newEvent('web.sel1'));
    await request('POST', v1Events(), {
      ...newEvent('other.sel2'),
      regarding: { ...regarding(), name: 'other' },
    });
    const client = cluster.kc.makeApiClient(EventsV1Api);
    const viaView = await client.listNamespacedEvent({
      namespace: ns,
      fieldSelector: 'regarding.name=web,regarding.kind=Deployment',
    });
    const viaCore = await request(
      'GET',
      `${coreEvents()}?fieldSelector=${encodeURIComponent(
        'involvedObject.name=web,involvedObject.kind=Deployment',
      )}`,
    );
    const names = (items: any[]) => items.map(e => e.metadata.name).sort();
    expect(names(viaView.items)).toEqual(
      expect.arrayContaining(['web.manual1', 'web.manual3', 'web.sel1']),
    );
    expect(names(viaView.items)).not.toContain('other.sel2');
    expect(names(viaCore.body.items)).toEqual(names(viaView.items));
    expect(viaView.items.every(e => e.regarding?.name === 'web')).toBe(true);
  });

  it('watches through events.k8s.io/v1 and sees a core/v1 Event in the new shape', async () => {
    const seen: any[] = [];
    const watch = new Watch(cluster.kc);
    const list = await request('GET', v1Events());
    const req = await watch.watch(
      v1Events(),
      { resourceVersion: list.body.metadata.resourceVersion },
      (type, obj) => seen.push({ type, obj }),
      () => {},
    );
    try {
      await request('POST', coreEvents(), coreEvent('web.watched'));
      const added = await eventually(async () =>
        seen.find(e => e.obj?.metadata?.name === 'web.watched'),
      );
      expect(added.type).toBe('ADDED');
      expect(added.obj).toMatchObject({
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        note: 'deployed web',
        regarding: regarding(),
        deprecatedCount: 1,
      });
      expect(added.obj.message).toBeUndefined();
    } finally {
      req.abort();
    }
  });
});
