import { TestDatabases, mockCredentials } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { Knex } from 'knex';
import request from 'supertest';
import { startSim, testConfig } from '../__testUtils__/setup';
import { startKubechartBackend } from '../__testUtils__/backend';
import { tableDump } from '../__testUtils__/tableDump';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

/**
 * helm's output reaches the run log line by line. A value under a secret-looking key that runs over
 * lines (a quoted value with line breaks, a YAML block) is hidden whole, its later lines included,
 * though the run does not know it as a secret: here the chart's NOTES print a connection text the
 * run was given under an ordinary key (fixture chart `notesecret`).
 */
describe('helm output with a secret value over several lines', () => {
  let sim: KubeSim;
  let knex: Knex;
  let server: any;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    sim = await startSim();
    knex = await databases.init('SQLITE_3');
    const backend = await startKubechartBackend({
      config: testConfig(sim, { health: { startOnBoot: false } }),
      knex,
    });
    server = backend.server;
    stop = () => backend.stop();
  });
  afterAll(async () => {
    await stop?.();
    await sim?.stop();
  });

  const alice = mockCredentials.user.header('user:default/alice');

  /** Runs the chart `notesecret` with `values` as alice; returns the finished run and its log. */
  async function runNotes(tenant: string, values: Record<string, unknown>) {
    const created = await request(server)
      .post('/api/kubechart/runs')
      .set('Authorization', alice)
      .send({
        kind: 'tenant',
        cluster: 'dev',
        tenant,
        releases: [{ name: 'notes', chart: 'notesecret', values }],
      });
    expect(created.status).toBe(202);
    let run: any;
    for (let i = 0; i < 600; i++) {
      run = (
        await request(server)
          .get(`/api/kubechart/runs/${created.body.id}`)
          .set('Authorization', alice)
      ).body;
      if (run.status === 'succeeded' || run.status === 'failed') break;
      await new Promise(r => setTimeout(r, 200));
    }
    const events = await request(server)
      .get(`/api/kubechart/runs/${created.body.id}/events`)
      .set('Authorization', alice);
    expect(events.status).toBe(200);
    const log = (events.body.items as Array<{ message: string }>).map(
      e => e.message,
    );
    return { run, log };
  }

  /**
   * Which of `secrets` the run's failure reason or log holds, as served and as stored. (The run's
   * input keeps the text as given, its key being no secret's: it is not searched.)
   */
  async function leaks(
    run: { id: string; failureReason?: string },
    log: string[],
    secrets: string[],
  ) {
    const stored = [
      await tableDump(knex, 'kubechart_run_events'),
      JSON.stringify(
        await knex('kubechart_runs')
          .where({ id: run.id })
          .select('failure_reason'),
      ),
    ];
    const texts = [run.failureReason ?? '', ...log, ...stored];
    return secrets.filter(s => texts.some(t => t.includes(s)));
  }

  it('shows none of its lines in the run events or the stored log, and the lines around it as they are', async () => {
    const connection = [
      'user: app',
      'password: "Quoted-First-1a',
      'Quoted-Second-2b',
      'Quoted-Third-3c"',
      'private-key: |',
      '  Block-First-4d',
      '',
      '  Block-Second-5e',
      'host: db.example',
    ].join('\n');
    const { run, log } = await runNotes('notes', { connection });
    expect({ status: run.status, reason: run.failureReason }).toEqual({
      status: 'succeeded',
      reason: undefined,
    });
    // helm printed the NOTES: the lines around the secret values are shown as they are.
    expect(log).toEqual(
      expect.arrayContaining([
        '[notes]   user: app',
        '[notes]   host: db.example',
      ]),
    );
    const secrets = [
      'Quoted-First-1a',
      'Quoted-Second-2b',
      'Quoted-Third-3c',
      'Block-First-4d',
      'Block-Second-5e',
    ];
    expect(await leaks(run, log, secrets)).toEqual([]);
  });

  it("keeps the lines of a secret value over lines out of a failed helm call's reason", async () => {
    // helm's error names the last lines of its stderr: the value's key is on a line before them.
    const refuse = [
      'password: "Fail-First-6f',
      'Fail-Second-7g',
      'Fail-Third-8h',
      'Fail-Fourth-9i',
      'Fail-Fifth-0j',
      'Fail-Sixth-1k"',
    ].join('\n');
    const { run, log } = await runNotes('refused', { refuse });
    expect(run.status).toBe('failed');
    expect(run.failureReason).toContain('helm template failed: ');
    expect(log.join('\n')).toContain('Run failed: helm template failed: ');
    expect(
      await leaks(run, log, [
        'Fail-Second-7g',
        'Fail-Third-8h',
        'Fail-Fourth-9i',
        'Fail-Fifth-0j',
        'Fail-Sixth-1k',
      ]),
    ).toEqual([]);
  });
});
