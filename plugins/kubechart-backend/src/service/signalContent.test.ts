import { TestDatabases, mockCredentials } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import request from 'supertest';
import { startSim, testConfig } from '../__testUtils__/setup';
import { startKubechartBackend } from '../__testUtils__/backend';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

type Published = {
  recipients: { type: string; entityRef?: string | string[] };
  channel: string;
  message: Record<string, unknown>;
};

describe('signals every signed-in user receives', () => {
  let sim: KubeSim;
  let server: any;
  let stop: () => Promise<void>;
  const published: Published[] = [];

  beforeAll(async () => {
    sim = await startSim();
    const backend = await startKubechartBackend({
      config: testConfig(sim, { health: { startOnBoot: false } }),
      knex: await databases.init('SQLITE_3'),
      onSignal: s => published.push(s as Published),
    });
    server = backend.server;
    stop = () => backend.stop();
  });
  afterAll(async () => {
    await stop?.();
    await sim?.stop();
  });

  it("name no tenant, entity, namespace or cluster of a team's run: only what to fetch again, through the API", async () => {
    const created = await request(server)
      .post('/api/kubechart/runs')
      .set('Authorization', mockCredentials.user.header('user:default/alice'))
      .send({
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'secret-project',
        releases: [],
      });
    expect(created.status).toBe(202);
    for (let i = 0; i < 200; i++) {
      if (
        published.some(
          p =>
            p.channel === 'kubechart:tenant-health' ||
            (p.message.status === 'failed' && p.channel === 'kubechart:runs'),
        )
      )
        break;
      await new Promise(r => setTimeout(r, 100));
    }
    const broadcast = published.filter(p => p.recipients.type === 'broadcast');
    expect(broadcast.map(p => p.channel)).toEqual(
      expect.arrayContaining([
        'kubechart:runs',
        `kubechart:run:${created.body.id}`,
        'kubechart:tenant-health',
        'kubechart:tenant-health:secret-project',
      ]),
    );
    const named = broadcast
      .map(p => p.channel)
      .filter(c => c.includes('secret-project'));
    expect(new Set(named)).toEqual(
      new Set(['kubechart:tenant-health:secret-project']),
    );
    // What a subscriber of a channel receives; a channel named for a tenant or entity is heard only
    // by who subscribes to it by name.
    const text = JSON.stringify(broadcast.map(p => p.message));
    for (const name of [
      'secret-project',
      'tenant-secret-project',
      'alice',
      'system:default',
    ])
      expect(text).not.toContain(name);
    expect(
      broadcast.find(p => p.channel === 'kubechart:runs')?.message,
    ).toEqual({
      type: 'run-updated',
      runId: created.body.id,
      status: expect.any(String),
    });
  });
});
