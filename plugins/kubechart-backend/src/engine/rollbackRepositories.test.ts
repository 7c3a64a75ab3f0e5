import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { CreateRunRequest } from '@kubechart/plugin-kubechart-common';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import https from 'node:https';
import { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { rawTarGz } from '../__testUtils__/rawTar';
import { createTestEngine, startSim, testConfig } from '../__testUtils__/setup';
import { RunEngine } from './RunEngine';
import { plainCaller } from './scope';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const ALICE = 'user:default/alice';

const colors = (version: string, color: string) => ({
  'Chart.yaml': `apiVersion: v2\nname: colors\nversion: ${version}\n`,
  'templates/cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: {{ .Release.Name }}-cfg }\ndata: { color: ${color} }\n`,
});

/** A chart repository over HTTPS serving chart `colors` 0.1.0 (red). */
async function startRepository(dir: string) {
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  const tgz = rawTarGz(
    Object.entries(colors('0.1.0', 'red')).map(([p, content]) => ({
      path: `colors/${p}`,
      content,
    })),
  );
  const server = https.createServer(
    { key: await fs.readFile(key), cert: await fs.readFile(cert) },
    (req, res) => {
      const { port } = server.address() as AddressInfo;
      if (req.url === '/charts/index.yaml') {
        res.end(
          [
            'apiVersion: v1',
            'entries:',
            '  colors:',
            '    - apiVersion: v2',
            '      name: colors',
            '      version: 0.1.0',
            `      urls: ["https://127.0.0.1:${port}/charts/colors-0.1.0.tgz"]`,
            '',
          ].join('\n'),
        );
      } else if (req.url === '/charts/colors-0.1.0.tgz') {
        res.end(tgz);
      } else {
        res.statusCode = 404;
        res.end();
      }
    },
  );
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}/charts`,
    cert,
    close: () => new Promise(resolve => server.close(resolve)),
  };
}

/**
 * Revisions installed from a chart repository that `kubechart.helm.allowedRepositories` no longer
 * lists are not returned to: a rollback (by revision number, from the run that installed it, or to a
 * revision an earlier rollback made from it) is refused with the rule and the run that used it, and
 * nothing is rolled back. A revision from a source still allowed is rolled back to as before.
 */
describe('rolling back to a revision from a repository no longer allowed', () => {
  let sim: KubeSim;
  let dir: string;
  let repo: Awaited<ReturnType<typeof startRepository>>;
  const certFile = process.env.SSL_CERT_FILE;
  beforeAll(async () => {
    sim = await startSim();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rollback-repos-'));
    repo = await startRepository(dir);
    // helm (Go) trusts the repository's self-signed certificate through SSL_CERT_FILE.
    process.env.SSL_CERT_FILE = repo.cert;
    // The same chart, another version and colour, from a chart directory.
    const local = path.join(dir, 'charts', 'colors');
    await fs.mkdir(path.join(local, 'templates'), { recursive: true });
    for (const [p, content] of Object.entries(colors('0.2.0', 'blue')))
      await fs.writeFile(path.join(local, p), content);
  });
  afterAll(async () => {
    if (certFile === undefined) delete process.env.SSL_CERT_FILE;
    else process.env.SSL_CERT_FILE = certFile;
    await repo?.close();
    await sim?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const engineWith = async (
    allowedRepositories: string[],
    knex?: Awaited<ReturnType<typeof createTestEngine>>['knex'],
  ) =>
    createTestEngine({
      databases,
      databaseId: 'SQLITE_3',
      sim,
      knex,
      config: testConfig(sim, {
        helm: {
          chartDirectories: [path.join(dir, 'charts')],
          allowedRepositories,
          timeoutSeconds: 60,
        },
      }),
    });
  const finish = async (
    t: { engine: RunEngine; store: any },
    request: CreateRunRequest,
  ) => {
    const run = await t.engine.submit(request, ALICE, plainCaller(ALICE));
    await t.engine.waitFor(run.id);
    const done = await t.store.getRun(run.id);
    return {
      id: run.id,
      status: done.status,
      reason: done.failureReason,
      revision: done.helmRevision,
    };
  };
  const refusal = (t: { engine: RunEngine }, request: CreateRunRequest) =>
    t.engine.submit(request, ALICE, plainCaller(ALICE)).then(
      run => ({ started: run.id }),
      (e: Error) => ({ name: e.name, message: e.message }),
    );

  it('refuses the rollback naming the rule and the run, and rolls back to an allowed source', async () => {
    const before = await engineWith([repo.url]);
    const ns = 'tenant-rbsrc';
    expect(
      (
        await finish(before, {
          kind: 'tenant',
          cluster: 'dev',
          tenant: 'rbsrc',
          releases: [],
        })
      ).status,
    ).toBe('succeeded');
    const fromRepo = await finish(before, {
      kind: 'chart',
      cluster: 'dev',
      namespace: ns,
      release: {
        name: 'paint',
        chart: 'colors',
        repo: repo.url,
        version: '0.1.0',
      },
    });
    const fromDirectory = await finish(before, {
      kind: 'chart',
      cluster: 'dev',
      namespace: ns,
      release: { name: 'paint', chart: 'colors' },
    });
    const rolledBack = await finish(before, {
      kind: 'rollback',
      cluster: 'dev',
      namespace: ns,
      release: 'paint',
      revision: 1,
    });
    expect([fromRepo, fromDirectory, rolledBack]).toMatchObject([
      { status: 'succeeded', revision: 1 },
      { status: 'succeeded', revision: 2 },
      { status: 'succeeded', revision: 3, reason: undefined },
    ]);
    // A tenant whose spec installs its release from the repository.
    expect(
      (
        await finish(before, {
          kind: 'tenant',
          cluster: 'dev',
          tenant: 'rbten',
          releases: [
            {
              name: 'paint',
              chart: 'colors',
              repo: repo.url,
              version: '0.1.0',
            },
          ],
        })
      ).status,
    ).toBe('succeeded');

    // The platform team removes the repository from kubechart.helm.allowedRepositories.
    const after = await engineWith([], before.knex);
    const rollback = (revision: number, more: object = {}) =>
      ({
        kind: 'rollback',
        cluster: 'dev',
        namespace: ns,
        release: 'paint',
        revision,
        ...more,
      } as CreateRunRequest);
    const refused = (revision: number, run: string) => ({
      name: 'InputError',
      message: expect.stringMatching(
        new RegExp(
          `^Release paint in ${ns} was not rolled back: revision ${revision} was installed from chart colors 0\\.1\\.0 of ${repo.url.replace(
            /[.]/g,
            '\\.',
          )} by run ${run}, and Chart source refused \\(chart-repository-allowlist\\): 127\\.0\\.0\\.1:\\d+ is not in kubechart\\.helm\\.allowedRepositories; nothing was rolled back`,
        ),
      ),
    });
    expect({
      byNumber: await refusal(after, rollback(1)),
      fromRun: await refusal(after, rollback(1, { fromRunId: fromRepo.id })),
      // Revision 3 is revision 1 again: a rollback returns to the source of the revision it rolled back to.
      ofRollback: await refusal(after, rollback(3)),
      tenantRelease: await refusal(after, {
        kind: 'rollback',
        cluster: 'dev',
        namespace: 'tenant-rbten',
        release: 'paint',
        revision: 1,
      }),
    }).toEqual({
      byNumber: refused(1, fromRepo.id),
      fromRun: refused(1, fromRepo.id),
      ofRollback: refused(3, fromRepo.id),
      tenantRelease: {
        name: 'InputError',
        message: expect.stringContaining(
          'Release paint in tenant-rbten was not rolled back: revision 1 may have been installed from chart colors 0.1.0 of',
        ),
      },
    });
    expect((await after.store.listRuns({}, { limit: 100 })).items).toHaveLength(
      5,
    );
    // A revision from a source still allowed is rolled back to.
    expect(await finish(after, rollback(2))).toMatchObject({
      status: 'succeeded',
      revision: 4,
    });
  });
});
