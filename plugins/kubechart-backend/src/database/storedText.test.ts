import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import { randomUUID } from 'node:crypto';
import { DatabaseRunStore } from './DatabaseRunStore';
import { NewRun } from './RunStore';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

/** A NUL (which PostgreSQL text refuses) and a lone surrogate (which it would alter) in one text. */
const HOSTILE = 'namespace "other\u0000x" \ud800!';
const STORED = 'namespace "other\ufffdx" \ufffd!';

const newRun = (over: Partial<NewRun> = {}): NewRun => ({
  id: randomUUID(),
  kind: 'manifests',
  status: 'pending',
  actor: 'user:default/alice',
  target: { cluster: 'dev', namespace: 'team-a' },
  input: { kind: 'manifests', note: HOSTILE },
  ...over,
});

/**
 * Whatever text a run carries (a failure reason naming what the user sent, a log line, an approver's
 * comment), the store records it: a NUL or a lone surrogate becomes U+FFFD instead of failing the
 * write, which would leave the run `running` with its locks held.
 */
describe.each(databases.eachSupportedId())(
  'text the run store writes on %p',
  databaseId => {
    async function createStore() {
      const knex = await databases.init(databaseId);
      return DatabaseRunStore.create({
        database: mockServices.database.mock({ getClient: async () => knex }),
      });
    }

    it('finishes a run whose failure reason holds a NUL, releasing its lock, and reads it back with U+FFFD', async () => {
      const store = await createStore();
      const run = await store.createRun(newRun(), ['manifests:dev/team-a']);
      await store.finishRun(run.id, 'failed', {
        failureReason: `Refused: ${HOSTILE}`,
        manifest: `kind: ConfigMap\nmetadata:\n  namespace: "${HOSTILE}"\n`,
      });
      const done = (await store.getRun(run.id))!;
      expect(done.status).toBe('failed');
      expect(done.failureReason).toBe(`Refused: ${STORED}`);
      expect(done.input).toEqual({ kind: 'manifests', note: HOSTILE });
      // Its lock is released: the next run on the namespace starts.
      const next = await store.createRun(newRun(), ['manifests:dev/team-a']);
      expect(next.status).toBe('pending');
    });

    it('records a run whose entity and template hold a NUL', async () => {
      const store = await createStore();
      const run = await store.createRun(
        newRun({
          entityRef: `component:default/${HOSTILE}`,
          template: HOSTILE,
        }),
        [],
      );
      expect(await store.getRun(run.id)).toMatchObject({
        entityRef: `component:default/${STORED}`,
        template: STORED,
      });
    });

    it('appends events whose message and step hold a NUL, with the ordinary events of the same batch', async () => {
      const store = await createStore();
      const run = await store.createRun(newRun(), []);
      await store.appendEvents(run.id, [
        { type: 'log', level: 'info', message: 'before' },
        {
          type: 'step',
          level: 'error',
          step: `apply:${HOSTILE}`,
          stepStatus: 'failed',
          message: HOSTILE,
        },
        { type: 'log', level: 'info', message: 'after' },
      ]);
      const events = await store.getEvents(run.id);
      expect(events.map(e => [e.step, e.message])).toEqual([
        [undefined, 'before'],
        [`apply:${STORED}`, STORED],
        [undefined, 'after'],
      ]);
    });

    it("records an approver's comment holding a NUL, and the rejection it fails the run with", async () => {
      const store = await createStore();
      const run = await store.createAwaitingRun(
        newRun(),
        {
          rule: 'prod',
          required: 1,
          approvers: ['user:default/bob'],
          planHash: 'h',
          planSalt: 's',
          expiresAt: new Date(Date.now() + 3_600_000),
          exec: {},
        },
        {},
      );
      const rejected = await store.decideApproval(run.id, {
        by: 'user:default/bob',
        decision: 'reject',
        comment: HOSTILE,
      });
      expect(rejected.status).toBe('failed');
      expect(rejected.failureReason).toBe(
        `Rejected by user:default/bob: ${STORED}`,
      );
      expect(rejected.approval?.decisions).toMatchObject([
        { by: 'user:default/bob', decision: 'reject', comment: STORED },
      ]);
    });

    it('keeps a tenant whose display name and owner hold a NUL', async () => {
      const store = await createStore();
      await store.upsertTenant({
        cluster: 'dev',
        code: 'shop',
        namespace: 'tenant-shop',
        owner: `group:default/${HOSTILE}`,
        displayName: HOSTILE,
        status: 'active',
        releases: ['web'],
      });
      expect(await store.getTenants('shop')).toMatchObject([
        { owner: `group:default/${STORED}`, displayName: STORED },
      ]);
    });

    it('cuts an event step longer than its column (255 characters) at a character, marked with …, keeping the events around it', async () => {
      const store = await createStore();
      const run = await store.createRun(newRun(), []);
      // 306 characters, each a surrogate pair in JavaScript: cut after the 254th, never inside one.
      const long = `apply:${'\u{1F600}'.repeat(300)}`;
      await store.appendEvents(run.id, [
        { type: 'log', level: 'info', message: 'before' },
        {
          type: 'step',
          level: 'info',
          step: long,
          stepStatus: 'started',
          message: long,
        },
        { type: 'log', level: 'info', message: 'after' },
      ]);
      const events = await store.getEvents(run.id);
      const cut = `apply:${'\u{1F600}'.repeat(248)}…`;
      expect([...cut]).toHaveLength(255);
      expect(events.map(e => [e.step, e.message])).toEqual([
        [undefined, 'before'],
        [cut, long],
        [undefined, 'after'],
      ]);
    });

    it('refuses with an InputError, recording nothing, a run whose identifier is longer than its column; one of 255 characters is kept', async () => {
      const store = await createStore();
      const tooLong = newRun({ template: 't'.repeat(256) });
      await expect(
        store.createRun(tooLong, ['manifests:dev/team-a']),
      ).rejects.toMatchObject({
        name: 'InputError',
        message: `The run's template ${JSON.stringify(
          `${'t'.repeat(100)}…`,
        )} has 256 characters; at most 255 are stored`,
      });
      expect(await store.getRun(tooLong.id)).toBeUndefined();
      // Its lock was not taken.
      await store.createRun(newRun(), ['manifests:dev/team-a']);
      // 255 characters (492 UTF-16 code units) fit the column.
      const entityRef = `component:default/${'\u{1F600}'.repeat(237)}`;
      const fits = await store.createRun(newRun({ entityRef }), []);
      expect((await store.getRun(fits.id))!.entityRef).toBe(entityRef);
    });
  },
);
