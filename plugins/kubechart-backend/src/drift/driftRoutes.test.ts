import type { Audited } from '../service/runsRecorded';
import { BackstageCredentials } from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockErrorHandler,
  mockServices,
} from '@backstage/backend-test-utils';
import { NotAllowedError, NotFoundError } from '@backstage/errors';
import {
  AuthorizeResult,
  BasicPermission,
} from '@backstage/plugin-permission-common';
import type { CreateRunRequest, Run } from '@kubechart/plugin-kubechart-common';
import express from 'express';
import Router from 'express-promise-router';
import request from 'supertest';
import { DriftRecord, DriftStore } from '../database/DriftStore';
import { ReadScopes } from '../service/readScope';
import { addDriftRoutes } from './driftRoutes';

const ALICE = 'user:default/alice';
const BOB = 'user:default/bob';

const run = (over: Partial<Run>): Run => ({
  id: 'r1',
  kind: 'chart',
  status: 'succeeded',
  actor: ALICE,
  entityRef: 'component:default/a',
  target: { cluster: 'dev', namespace: 'team-a', release: 'web' },
  input: {},
  transitions: [],
  createdAt: '2026-12-03T09:00:00.000Z',
  finishedAt: '2026-12-03T09:01:00.000Z',
  helmRevision: 3,
  policyReport: {
    mode: 'warn',
    passed: true,
    blocking: false,
    summary: { objects: 1, errors: 0, warnings: 0, infos: 0 },
    results: [],
    charts: [
      {
        release: 'web',
        chart: 'webapp',
        version: '1.0.0',
        digest: 'sha256:00',
        source: 'webapp',
      },
    ],
  },
  ...over,
});

const record = (over: Partial<DriftRecord>): DriftRecord => ({
  runId: 'r1',
  target: { cluster: 'dev', namespace: 'team-a', release: 'web' },
  entityRef: 'component:default/a',
  actor: ALICE,
  status: 'drifted',
  since: '2026-12-03T09:05:00.000Z',
  checkedAt: '2026-12-03T09:06:00.000Z',
  objects: [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: 'team-a',
      name: 'web',
      state: 'changed',
      fields: [
        { path: 'spec.replicas', expected: 2, actual: 5, manager: 'kubectl' },
      ],
    },
  ],
  ...over,
});

describe('drift routes', () => {
  const runs = new Map<string, Run>();
  const records = new Map<string, DriftRecord>();
  const submitted: CreateRunRequest[] = [];
  /** The releases whose `helm history` was read. */
  const historyRead: string[] = [];
  /** Namespace team-c is another owner's now: whoever deployed there before may not any more. */
  const notOurs = (namespace: string) =>
    `Namespace ${namespace} on cluster dev belongs to tenant c, owned by group:default/team-c; runs there need membership of that owner`;
  const audit: Array<{
    eventId: string;
    meta: Record<string, any>;
    outcome?: string;
  }> = [];
  /** Bob may read only component:default/b; alice owns component:default/a; bob lacks rollback. */
  const permissions = {
    async authorizeConditional(
      _requests: any[],
      { credentials }: { credentials: BackstageCredentials },
    ) {
      const user = (credentials.principal as any).userEntityRef;
      return [
        user === ALICE
          ? { result: AuthorizeResult.ALLOW }
          : {
              result: AuthorizeResult.CONDITIONAL,
              pluginId: 'catalog',
              resourceType: 'catalog-entity',
              conditions: {},
            },
      ];
    },
    async authorize(
      requests: any[],
      { credentials }: { credentials: BackstageCredentials },
    ) {
      const user = (credentials.principal as any).userEntityRef;
      return requests.map(r => ({
        result:
          user === ALICE || r.resourceRef === 'component:default/b'
            ? AuthorizeResult.ALLOW
            : AuthorizeResult.DENY,
      }));
    },
  };
  const httpAuth = mockServices.httpAuth();
  const scopes = new ReadScopes(httpAuth, permissions as any);
  const drift: DriftStore = {
    latestAppliedRuns: async () => [],
    adoptTargetOwner: async () => false,
    get: async id => records.get(id),
    list: async (f, readable = async heads => heads) => {
      const matching = [...records.values()].filter(
        r =>
          (!f.entityRef || r.entityRef === f.entityRef) &&
          (!f.cluster || r.target.cluster === f.cluster),
      );
      const kept = new Set(
        (
          await readable(
            matching.map(r => ({
              runId: r.runId,
              entityRef: r.entityRef,
              actor: r.actor,
            })),
          )
        ).map(h => h.runId),
      );
      return matching.filter(r => kept.has(r.runId));
    },
    put: async r => void records.set(r.runId, r),
    replaceAll: async () => [],
  };
  const router = Router();
  router.use(express.json());
  addDriftRoutes(router, {
    drift,
    scopes,
    // Revision 3 of web in team-a, as the chart run r1 left it.
    // Revision 3 of web in team-c is the new owner's, of another chart.
    history: async ({ namespace, release }) => {
      historyRead.push(`${namespace}/${release}`);
      if (release !== 'web') return [];
      if (namespace === 'team-a')
        return [
          {
            revision: 3,
            updated: '2026-12-03T09:00:40.000Z',
            chart: 'webapp-1.0.0',
          },
        ];
      if (namespace === 'team-c')
        return [
          {
            revision: 3,
            updated: '2027-01-10T10:00:00.000Z',
            chart: 'payroll-7.4.1',
          },
        ];
      return [];
    },
    async checkScope(_credentials, r) {
      if (r.target.namespace === 'team-c')
        throw new NotAllowedError(notOurs(r.target.namespace));
    },
    async readableRun(req, id) {
      const r = runs.get(id);
      if (!r) throw new NotFoundError(`Run ${id} not found`);
      const scope = await scopes.resolve(req, {
        name: 'kubechart.runs.read',
      } as any);
      if ((await scopes.filter(scope, [r])).length === 0)
        throw new NotFoundError(`Run ${id} not found`);
      return r;
    },
    async authorize(req, permission: BasicPermission) {
      const credentials = await httpAuth.credentials(req as any, {
        allow: ['user'],
      });
      if (
        (credentials.principal as any).userEntityRef !== ALICE &&
        permission.name === 'kubechart.runs.rollback'
      )
        throw new NotAllowedError(`Not allowed: ${permission.name}`);
      return credentials as any;
    },
    auditedRunRequest: () =>
      (async (_req, eventId, meta, fn, resultMeta) => {
        const event: {
          eventId: string;
          meta: Record<string, any>;
          outcome?: string;
        } = { eventId, meta };
        audit.push(event);
        try {
          const r = await fn();
          event.outcome = 'succeeded';
          event.meta = { ...meta, ...(resultMeta?.(r) ?? {}) };
          return r;
        } catch (e) {
          event.outcome = 'failed';
          throw e;
        }
      }) as Audited,
    async submit(_credentials, req) {
      submitted.push(req);
      return run({
        id: `new-${submitted.length}`,
        kind: req.kind,
        status: 'pending',
      });
    },
  });
  const app = express().use('/api/kubechart', router).use(mockErrorHandler());
  const as = (who: string) => mockCredentials.user.header(who);

  beforeEach(() => {
    runs.clear();
    records.clear();
    submitted.length = 0;
    audit.length = 0;
    historyRead.length = 0;
  });

  it('answers a run’s drift to a reader, without who started it; 404 when the run has none', async () => {
    runs.set('r1', run({}));
    records.set('r1', record({}));
    const ok = await request(app)
      .get('/api/kubechart/runs/r1/drift')
      .set('Authorization', as(ALICE));
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      runId: 'r1',
      status: 'drifted',
      objects: [
        {
          name: 'web',
          fields: [{ path: 'spec.replicas', manager: 'kubectl' }],
        },
      ],
    });
    expect(ok.body.actor).toBeUndefined();
    // A run the caller may not read is answered as one that does not exist.
    const hidden = await request(app)
      .get('/api/kubechart/runs/r1/drift')
      .set('Authorization', as(BOB));
    expect([hidden.status, hidden.body.error?.message]).toEqual([
      404,
      'Run r1 not found',
    ]);
    runs.set('r2', run({ id: 'r2' }));
    const none = await request(app)
      .get('/api/kubechart/runs/r2/drift')
      .set('Authorization', as(ALICE));
    expect(none.status).toBe(404);
    expect(none.body.error.message).toContain('no drift record');
  });

  it('lists drift by entity or cluster, only what the caller may read, and refuses a query without either', async () => {
    records.set('r1', record({}));
    records.set(
      'r2',
      record({
        runId: 'r2',
        entityRef: 'component:default/b',
        status: 'in-sync',
        objects: [],
      }),
    );
    const bob = await request(app)
      .get('/api/kubechart/drift?cluster=dev')
      .set('Authorization', as(BOB));
    expect(bob.body.items.map((d: any) => d.runId)).toEqual(['r2']);
    const alice = await request(app)
      .get('/api/kubechart/drift?entityRef=component:default/a')
      .set('Authorization', as(ALICE));
    expect(alice.body.items.map((d: any) => [d.runId, d.status])).toEqual([
      ['r1', 'drifted'],
    ]);
    const bad = await request(app)
      .get('/api/kubechart/drift')
      .set('Authorization', as(ALICE));
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('give entityRef, or cluster');
  });

  it('re-applies a chart run as a rollback to its revision, audited, and needs the rollback permission', async () => {
    runs.set('r1', run({}));
    const started = await request(app)
      .post('/api/kubechart/runs/r1/reapply')
      .set('Authorization', as(ALICE))
      .send({});
    expect(started.status).toBe(202);
    expect(started.body).toEqual({ id: 'new-1', status: 'pending' });
    expect(submitted).toEqual([
      {
        kind: 'rollback',
        cluster: 'dev',
        namespace: 'team-a',
        release: 'web',
        revision: 3,
        entityRef: 'component:default/a',
      },
    ]);
    expect(audit).toEqual([
      {
        eventId: 'run-reapply',
        outcome: 'succeeded',
        meta: expect.objectContaining({
          runId: 'r1',
          kind: 'chart',
          newRunId: 'new-1',
        }),
      },
    ]);

    runs.set('rb', run({ id: 'rb', entityRef: 'component:default/b' }));
    const denied = await request(app)
      .post('/api/kubechart/runs/rb/reapply')
      .set('Authorization', as(BOB))
      .send({});
    expect(denied.status).toBe(403);
    expect(submitted).toHaveLength(1);

    // Revision 3 of the release now holds another chart than the run applied: refused, audited.
    runs.set(
      'r2',
      run({
        id: 'r2',
        policyReport: {
          ...run({}).policyReport!,
          charts: [{ ...run({}).policyReport!.charts![0], version: '0.9.0' }],
        },
      }),
    );
    const conflict = await request(app)
      .post('/api/kubechart/runs/r2/reapply')
      .set('Authorization', as(ALICE))
      .send({});
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.message).toBe(
      'Revision 3 of release web in team-a is not the one run r2 left: it holds chart webapp-1.0.0, the run applied webapp-0.9.0; it cannot be applied again as that run',
    );
    expect(submitted).toHaveLength(1);
    expect(audit[audit.length - 1]).toMatchObject({
      eventId: 'run-reapply',
      outcome: 'failed',
    });
  });

  it('re-applies a manifests run with the create permission, and refuses (400, audited) a manifest with redacted values', async () => {
    runs.set(
      'm1',
      run({
        id: 'm1',
        kind: 'manifests',
        entityRef: 'component:default/b',
        target: { cluster: 'dev', namespace: 'team-b' },
        manifest:
          'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: s }\ndata: { color: blue }\n',
      }),
    );
    const ok = await request(app)
      .post('/api/kubechart/runs/m1/reapply')
      .set('Authorization', as(BOB))
      .send({});
    expect(ok.status).toBe(202);
    expect(submitted[0]).toMatchObject({
      kind: 'manifests',
      namespace: 'team-b',
      manifests: expect.stringContaining('color: blue'),
    });

    runs.set(
      'm2',
      run({
        id: 'm2',
        kind: 'manifests',
        target: { cluster: 'dev', namespace: 'team-a' },
        manifest:
          'apiVersion: v1\nkind: Secret\nmetadata: { name: s }\ndata: { password: "***" }\n',
      }),
    );
    const refused = await request(app)
      .post('/api/kubechart/runs/m2/reapply')
      .set('Authorization', as(ALICE))
      .send({});
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain('has redacted values');
    expect(submitted).toHaveLength(1);
    expect(audit.at(-1)).toMatchObject({
      eventId: 'run-reapply',
      outcome: 'failed',
    });
  });

  it('refuses (403, audited) to re-apply a run on a target the caller may no longer deploy to, before reading anything of the cluster', async () => {
    // Alice reads her old run; the namespace it deployed to is another owner's now.
    for (const id of ['c1', 'c2']) {
      runs.set(
        id,
        run({
          id,
          target: { cluster: 'dev', namespace: 'team-c', release: 'web' },
          ...(id === 'c2'
            ? { kind: 'tenant', input: { releases: [{ name: 'web' }] } }
            : {}),
        }),
      );
      const refused = await request(app)
        .post(`/api/kubechart/runs/${id}/reapply`)
        .set('Authorization', as(ALICE))
        .send({});
      expect({
        status: refused.status,
        message: refused.body.error?.message,
      }).toEqual({
        status: 403,
        message: notOurs('team-c'),
      });
      expect(audit.at(-1)).toMatchObject({
        eventId: 'run-reapply',
        outcome: 'failed',
        meta: { runId: id },
      });
    }
    // Nothing of the new owner's release was read, nor told, and nothing started.
    expect(historyRead).toEqual([]);
    expect(submitted).toEqual([]);
  });
  it("names the plugin that passed the caller's credentials on as relayedBy in the run-reapply event", async () => {
    runs.set('r1', run({}));
    const started = await request(app)
      .post('/api/kubechart/runs/r1/reapply')
      .set(
        'Authorization',
        `Bearer ${mockCredentials.user.token(ALICE, {
          actor: { subject: 'plugin:scaffolder' },
        })}`,
      )
      .send({});
    expect(started.status).toBe(202);
    expect(audit).toEqual([
      {
        eventId: 'run-reapply',
        outcome: 'succeeded',
        meta: expect.objectContaining({
          runId: 'r1',
          relayedBy: 'plugin:scaffolder',
          newRunId: 'new-1',
        }),
      },
    ]);
    // The user's own token: no relayedBy.
    audit.length = 0;
    await request(app)
      .post('/api/kubechart/runs/r1/reapply')
      .set('Authorization', as(ALICE))
      .send({});
    expect(audit[0].meta).not.toHaveProperty('relayedBy');
  });
});
