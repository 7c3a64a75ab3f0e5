import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { runDiff } from '../service/runDiff';
import { createTestEngine, startSim } from '../__testUtils__/setup';
import { plainCaller } from './scope';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const ALICE = 'user:default/alice';

/**
 * A rollback ends as a chart run does: `succeeded` only once the workloads of the revision it
 * returns to are Ready, and it records what it applied, that revision's hooks included.
 */
describe.each(databases.eachSupportedId())('a rollback on %p', databaseId => {
  let sim: KubeSim;
  let t: Awaited<ReturnType<typeof createTestEngine>>;

  beforeAll(async () => {
    sim = await startSim();
    t = await createTestEngine({ databases, databaseId, sim });
  });
  afterAll(() => sim?.stop());

  const run = async (request: any) => {
    const r = await t.engine.submit(request, ALICE, plainCaller(ALICE));
    await t.engine.waitFor(r.id);
    return (await t.store.getRun(r.id))!;
  };
  const tenant = async (code: string) => {
    const r = await run({
      kind: 'tenant',
      cluster: 'dev',
      tenant: code,
      releases: [],
    });
    expect(r.status).toBe('succeeded');
    return `tenant-${code}`;
  };

  it('fails when the pods of the revision it returns to cannot start, as a chart run of it did', async () => {
    const namespace = await tenant('rbp');
    const chart = (tag: string) =>
      run({
        kind: 'chart',
        cluster: 'dev',
        namespace,
        release: {
          name: 'web',
          chart: 'webapp',
          values: { replicas: 1, image: { tag } },
        },
      });
    const broken = await chart('imagepull-fail');
    expect(broken).toMatchObject({ status: 'failed', helmRevision: 1 });
    expect(broken.failureReason).toMatch(/is failing .*ErrImagePull/);
    expect(await chart('1.0.0')).toMatchObject({
      status: 'succeeded',
      helmRevision: 2,
    });

    const rollback = await run({
      kind: 'rollback',
      cluster: 'dev',
      namespace,
      release: 'web',
      revision: 1,
    });

    expect({
      status: rollback.status,
      revision: rollback.helmRevision,
    }).toEqual({ status: 'failed', revision: 3 });
    expect(rollback.failureReason).toMatch(
      /^Deployment web of release web is failing after \S+: .*ErrImagePull/,
    );
    const steps = (await t.store.getEvents(rollback.id))
      .filter(e => e.type === 'step')
      .map(e => `${e.step}:${e.stepStatus}`);
    expect(steps).toEqual(
      expect.arrayContaining(['rollback:web:succeeded', 'wait:failed']),
    );
  });

  it('records the manifest of the revision it returns to with its hooks, as the run that installed it did', async () => {
    const namespace = await tenant('rbh');
    const chart = (color: string) =>
      run({
        kind: 'chart',
        cluster: 'dev',
        namespace,
        release: { name: 'rb', chart: 'rollbackhook', values: { color } },
      });
    const v1 = await chart('red');
    expect(v1).toMatchObject({ status: 'succeeded', helmRevision: 1 });
    expect(v1.manifest).toMatch(/kind: Job\nmetadata:\n {2}name: rb-migrate\n/);
    expect(await chart('blue')).toMatchObject({
      status: 'succeeded',
      helmRevision: 2,
    });

    const rollback = await run({
      kind: 'rollback',
      cluster: 'dev',
      namespace,
      release: 'rb',
      revision: 1,
    });

    expect(rollback).toMatchObject({ status: 'succeeded', helmRevision: 3 });
    expect(rollback.manifest).toMatch(
      /kind: Job\nmetadata:\n {2}name: rb-migrate\n/,
    );
    // What it applied is what revision 1 applied: GET /runs/:v1/diff/:rollback shows no change.
    const diff = await runDiff(v1, rollback);
    expect(
      diff.manifest
        .split('\n')
        .filter(l => /^[-+]/.test(l) && !/^(---|\+\+\+) /.test(l)),
    ).toEqual([]);
    expect(rollback.manifest).toBe(v1.manifest);
  });
});
