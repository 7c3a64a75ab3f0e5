/*
 * Seeds the deployment history of one entity for the browser benchmark (`yarn bench:web`). Not a
 * test and not part of the plugin: run by scripts/bench-web.sh before the production backend starts.
 *
 *   KUBECHART_SEED_DB=postgresql://…/<the kubechart plugin's database> \
 *   KUBECHART_SEED_ENTITY=component:default/inventory-service KUBECHART_SEED_RUNS=10000 \
 *     node --require @backstage/cli/config/nodeTransform.cjs src/benchSeed.ts
 *
 * Runs the plugin's migrations, records one chart run through DatabaseRunStore exactly as the engine
 * does (created, running, values, manifest, events, finished), then copies its row and events with
 * bulk inserts under new ids and times, so every seeded run is in the format the store writes.
 */
import knexFactory from 'knex';
import { randomUUID } from 'node:crypto';
import { DatabaseRunStore } from './database/DatabaseRunStore';

const DB = process.env.KUBECHART_SEED_DB;
const ENTITY =
  process.env.KUBECHART_SEED_ENTITY ?? 'component:default/inventory-service';
const RUNS = Number(process.env.KUBECHART_SEED_RUNS ?? 10_000);
/** One run every ten minutes, the newest a minute ago. */
const SPACING_MS = 10 * 60_000;

async function main() {
  if (!DB)
    throw new Error('KUBECHART_SEED_DB (a connection string) is required');
  const knex = knexFactory({
    client: DB.startsWith('postgres') ? 'pg' : 'better-sqlite3',
    connection: DB.startsWith('postgres') ? DB : { filename: DB },
    useNullAsDefault: true,
    pool: { min: 0, max: 2 },
  });
  try {
    const store = await DatabaseRunStore.create({
      database: { getClient: async () => knex },
    });
    const [, name] = /^[^:]+:[^/]+\/(.+)$/.exec(ENTITY) ?? [];
    const template = randomUUID();
    await store.createRun(
      {
        id: template,
        kind: 'chart',
        status: 'pending',
        entityRef: ENTITY,
        actor: 'user:default/guest',
        template: 'template:default/kubechart-chart',
        target: { cluster: 'kube-sim', namespace: 'shop', release: name },
        input: { chart: 'web', release: name, values: { replicaCount: 2 } },
      },
      [],
    );
    await store.claimRun(template, 'bench-seed');
    await store.appendEvents(template, [
      {
        type: 'step',
        level: 'info',
        step: 'policy',
        stepStatus: 'started',
        message: 'Checking the chart policy',
      },
      {
        type: 'step',
        level: 'info',
        step: 'policy',
        stepStatus: 'succeeded',
        message: '32 rules passed',
      },
      {
        type: 'step',
        level: 'info',
        step: 'helm',
        stepStatus: 'started',
        message: `helm upgrade --install ${name}`,
      },
      {
        type: 'log',
        level: 'info',
        message: `Release "${name}" has been upgraded. Happy Helming!`,
      },
      {
        type: 'step',
        level: 'info',
        step: 'helm',
        stepStatus: 'succeeded',
        message: 'revision applied',
      },
    ]);
    await store.finishRun(template, 'succeeded', {
      values: { replicaCount: 2, image: { repository: 'nginx', tag: '1.27' } },
      manifest: [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata:',
        `  name: ${name}`,
        '  namespace: shop',
        'spec:',
        '  replicas: 2',
      ].join('\n'),
      helmRevision: 1,
    });

    const row = await knex('kubechart_runs').where({ id: template }).first();
    const events = await knex('kubechart_run_events')
      .where({ run_id: template })
      .orderBy('seq');
    const newest = Date.now() - 60_000;
    const BATCH = 500;
    const started = Date.now();
    for (let done = 0; done < RUNS; done += BATCH) {
      const runs = [];
      const runEvents = [];
      for (let i = done; i < Math.min(RUNS, done + BATCH); i++) {
        // Run i is i spacings older than the newest; one in twenty failed.
        const created = newest - i * SPACING_MS;
        const failed = i % 20 === 7;
        const id = randomUUID();
        const status = failed ? 'failed' : 'succeeded';
        const at = (ms: number) => new Date(ms).toISOString();
        runs.push({
          ...row,
          id,
          status,
          helm_revision: failed ? null : RUNS - i,
          failure_reason: failed
            ? 'helm upgrade failed: timed out waiting for the condition'
            : null,
          transitions: JSON.stringify([
            { status: 'pending', at: at(created) },
            { status: 'running', at: at(created + 500) },
            { status, at: at(created + 42_000) },
          ]),
          created_at: created,
          started_at: created + 500,
          finished_at: created + 42_000,
          heartbeat_at: created + 42_000,
          // History, audited when it ended: the outcome pass does not emit run-finished for it.
          outcome_audited_at: created + 42_000,
        });
        for (const event of events) {
          runEvents.push({
            ...event,
            run_id: id,
            at: created + 500 + Number(event.seq) * 1_000,
          });
        }
      }
      await knex.batchInsert('kubechart_runs', runs, 100);
      await knex.batchInsert('kubechart_run_events', runEvents, 200);
    }
    // The template run itself is not one of the runs the benchmark asked for.
    await knex('kubechart_runs').where({ id: template }).delete();
    const [{ n }] = await knex('kubechart_runs')
      .where({ entity_ref: ENTITY })
      .count<{ n: string | number }[]>('id as n');
    if (Number(n) !== RUNS) {
      throw new Error(`seeded ${n} runs for ${ENTITY}, expected ${RUNS}`);
    }
    console.log(
      `kubechart seed: ${Number(n).toLocaleString(
        'en-US',
      )} runs for ${ENTITY} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  } finally {
    await knex.destroy();
  }
}

main().catch(error => {
  console.error(error);
  process.exitCode = 1;
});
