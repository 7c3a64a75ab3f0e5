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

  /** A tenant run of alice's, once it has ended (its tenant's channels heard of it). */
  let runId: string;
  beforeAll(async () => {
    const created = await request(server)
      .post('/api/kubechart/runs')
      .set('Authorization', mockCredentials.user.header('user:default/alice'))
      .send({
        kind: 'tenant',
        cluster: 'dev',
        tenant: 'secret-project',
        entityRef: 'component:default/secret-project',
        releases: [],
      });
    if (created.status !== 202)
      throw new Error(`Run not created: ${created.status} ${created.text}`);
    runId = created.body.id;
    for (let i = 0; i < 200; i++) {
      if (
        published.some(
          p => p.channel === 'kubechart:tenant-health:secret-project',
        )
      )
        break;
      await new Promise(r => setTimeout(r, 100));
    }
  });

  it("name no tenant, entity, namespace or cluster of a team's run: only what to fetch again, through the API", async () => {
    const broadcast = published.filter(p => p.recipients.type === 'broadcast');
    expect(broadcast.map(p => p.channel)).toEqual(
      expect.arrayContaining([
        'kubechart:runs',
        `kubechart:run:${runId}`,
        'kubechart:runs:component:default/secret-project',
        'kubechart:tenant-health',
        'kubechart:tenant-health:secret-project',
      ]),
    );
    const named = broadcast
      .map(p => p.channel)
      .filter(c => c.includes('secret-project'));
    // The entity's drift channel too, once the drift pass compared the tenant's baseline (when, depends
    // on the pass's schedule): every channel named for the tenant or entity is one of these.
    expect(named).toEqual(
      expect.arrayContaining([
        'kubechart:runs:component:default/secret-project',
        'kubechart:tenant-health:secret-project',
      ]),
    );
    for (const channel of named)
      expect([
        'kubechart:runs:component:default/secret-project',
        'kubechart:tenant-health:secret-project',
        'kubechart:drift:component:default/secret-project',
      ]).toContain(channel);
    // What a subscriber of a channel receives; a channel named for a tenant or entity is heard only
    // by who subscribes to it by name.
    const text = JSON.stringify(broadcast.map(p => p.message));
    for (const name of [
      'secret-project',
      'tenant-secret-project',
      'alice',
      'component:default',
    ])
      expect(text).not.toContain(name);
    // The common channels are heard by every signed-in user: they tell no run, nor how it went.
    const common = broadcast.filter(
      p => p.channel === 'kubechart:runs' || p.channel === 'kubechart:drift',
    );
    expect(common.map(p => p.channel)).toContain('kubechart:runs');
    for (const p of common)
      expect({ channel: p.channel, message: p.message }).toEqual({
        channel: p.channel,
        message: { type: 'refetch' },
      });
    expect(JSON.stringify(common)).not.toContain(runId);
  });

  it("tell a tenant's or entity's own channel only to fetch again, not how its runs went", async () => {
    // Backstage lets any signed-in user subscribe to any channel by name, also one who may not read
    // the tenant or entity: what these channels carry is only that there is something to fetch
    // again, through the API that checks who may read it.
    const onNamedChannels = published.filter(p =>
      /^kubechart:(tenant-health|runs|drift):./.test(p.channel),
    );
    expect(onNamedChannels.map(p => p.channel)).toEqual(
      expect.arrayContaining([
        'kubechart:runs:component:default/secret-project',
        'kubechart:tenant-health:secret-project',
      ]),
    );
    for (const p of onNamedChannels)
      expect({ channel: p.channel, message: p.message }).toEqual({
        channel: p.channel,
        message: { type: 'refetch' },
      });
    // The common channel of tenant health names no tenant, and no outcome either: a run that
    // succeeded is not a tenant that is healthy.
    for (const p of published.filter(
      q => q.channel === 'kubechart:tenant-health',
    ))
      expect(p.message).toEqual({ type: 'refetch' });
  });
});
