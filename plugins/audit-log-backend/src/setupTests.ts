import { TestDatabases } from '@backstage/backend-test-utils';

/**
 * TestDatabases drops the databases a test file created in an afterAll hook of its own, given 60 s.
 * PostgreSQL 15 takes a checkpoint for every DROP DATABASE (1–3 s on a busy two-core machine), so a
 * file that creates a database for each of its tests failed after all of its tests had passed. The
 * same shutdown runs first here, with the time it needs; the hook of TestDatabases then finds
 * nothing left to drop. (Hooks of one block run in the order they were declared.)
 */
const create = TestDatabases.create.bind(TestDatabases);
/** TestDatabases' shutdown, which its typings keep private. */
type ShutsDown = { shutdown(): Promise<void> };
TestDatabases.create = (...args: Parameters<typeof TestDatabases.create>) => {
  // Registered before create registers its own hook, so that it runs first.
  const created: { databases?: TestDatabases } = {};
  afterAll(
    () => (created.databases as unknown as ShutsDown | undefined)?.shutdown(),
    10 * 60_000,
  );
  created.databases = create(...args);
  return created.databases;
};
