import { TestDatabases, mockCredentials } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import request from 'supertest';
import { CapturedAuditEvent, capturingAuditor } from '../__testUtils__/capture';
import { startSim, testConfig } from '../__testUtils__/setup';
import { startKubechartBackend } from '../__testUtils__/backend';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const NS = 'tenant-nul';

/**
 * A NUL in a run request (YAML's `"\0"` escape is U+0000) must neither leave a run `running`
 * holding its namespace's lock (PostgreSQL refuses a NUL in text) nor go unaudited: names are
 * refused with a 400 before any run is recorded, and any other text is stored with U+FFFD.
 */
describe.each(databases.eachSupportedId())(
  'a NUL in a run request on %p',
  databaseId => {
    let sim: KubeSim;
    let server: any;
    let stop: () => Promise<void>;
    const audit: CapturedAuditEvent[] = [];

    const post = (body: object) =>
      request(server)
        .post('/api/kubechart/runs')
        .set('Authorization', mockCredentials.user.header())
        .send(body);

    /** Starts a run and waits for its `run-finished` audit event. */
    const runToTheEnd = async (body: object) => {
      const started = await post(body);
      expect(started.status).toBe(202);
      const id = started.body.id;
      let finished: CapturedAuditEvent | undefined;
      for (let i = 0; i < 600 && !finished; i++) {
        finished = audit.find(
          e => e.eventId === 'run-finished' && e.meta.runId === id,
        );
        if (!finished) await new Promise(r => setTimeout(r, 100));
      }
      const run = await request(server)
        .get(`/api/kubechart/runs/${id}`)
        .set('Authorization', mockCredentials.user.header());
      const events = await request(server)
        .get(`/api/kubechart/runs/${id}/events`)
        .set('Authorization', mockCredentials.user.header());
      return { finished, run: run.body, events: events.body };
    };
    const runsIn = async (namespace: string) => {
      const page = await request(server)
        .get('/api/kubechart/runs')
        .query({ kind: 'manifests' })
        .set('Authorization', mockCredentials.user.header());
      expect(page.status).toBe(200);
      return page.body.items.filter(
        (r: any) => r.target.namespace === namespace,
      );
    };
    const configMap = (name: string, namespace: string) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\ndata:\n  color: blue\n`;

    beforeAll(async () => {
      sim = await startSim();
      const backend = await startKubechartBackend({
        config: testConfig(sim, { health: { startOnBoot: false } }),
        knex: await databases.init(databaseId),
        features: [capturingAuditor(audit)],
      });
      server = backend.server;
      stop = () => backend.stop();
      const tenant = await runToTheEnd({
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'nul',
        releases: [{ name: 'web', chart: 'webapp' }],
      });
      if (tenant.run.status !== 'succeeded')
        throw new Error(`tenant run ${tenant.run.status}`);
    });
    afterAll(async () => {
      await stop?.();
      await sim?.stop();
    });

    it.each([
      [
        'metadata.namespace',
        configMap('a', '"other\\0x"'),
        '"other\\u0000x" holds the control character U+0000',
      ],
      [
        'metadata.name',
        configMap('"a\\0b"', NS),
        '"a\\u0000b" holds the control character U+0000',
      ],
      [
        'metadata.name',
        configMap('"a\\tb"', NS),
        '"a\\tb" holds the control character U+0009',
      ],
      [
        'kind',
        configMap('a', NS).replace('ConfigMap', '"Config\\x01Map"'),
        '"Config\\u0001Map" holds the control character U+0001',
      ],
      [
        'metadata.namespace',
        configMap('a', '"other\\ud800"'),
        '"other\\ud800" holds the lone surrogate U+D800',
      ],
    ])(
      'refuses with a 400 a manifests run whose %s holds a control character or lone surrogate, recording no run',
      async (field, manifests, shown) => {
        const before = (await runsIn(NS)).length;
        const res = await post({
          kind: 'manifests',
          cluster: 'dev',
          namespace: NS,
          manifests,
        });
        expect(res.status).toBe(400);
        expect(res.body.error.message).toBe(
          `Manifest object 1: ${field} ${shown}; Kubernetes names, namespaces and kinds never do`,
        );
        expect(await runsIn(NS)).toHaveLength(before);
        // The namespace is free: the next run there is not refused with a 409.
        const next = await runToTheEnd({
          kind: 'manifests',
          cluster: 'dev',
          namespace: NS,
          manifests: configMap('plain', NS),
        });
        expect(next.run.status).toBe('succeeded');
      },
    );

    it('fails a run whose failure reason names a NUL it was sent, releasing its lock and auditing its outcome', async () => {
      const { finished, run, events } = await runToTheEnd({
        kind: 'manifests',
        cluster: 'dev',
        namespace: NS,
        manifests: `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: evil\n  namespace: ${NS}\nspec:\n  selector: { matchLabels: { app: evil } }\n  template:\n    metadata: { labels: { app: evil } }\n    spec:\n      containers:\n        - name: web\n          image: "docker.io/evil\\0/web:1"\n`,
      });
      expect(run.status).toBe('failed');
      expect(run.failureReason).toContain(
        'image "docker.io/evil\ufffd/web:1" is from untrusted registry',
      );
      expect(events.items.at(-1).message).toContain(
        'docker.io/evil\ufffd/web:1',
      );
      expect(finished).toMatchObject({
        status: 'failed',
        meta: { outcome: 'refused' },
      });
      // Its lock is released.
      const next = await runToTheEnd({
        kind: 'manifests',
        cluster: 'dev',
        namespace: NS,
        manifests: configMap('after', NS),
      });
      expect(next.run.status).toBe('succeeded');
    });
  },
);
