import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { CoreV1Api } from '@kubernetes/client-node';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import https from 'node:https';
import { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  CapturedAuditEvent,
  capturingAuditorService,
} from '../__testUtils__/capture';
import { rawTarGz } from '../__testUtils__/rawTar';
import {
  createTestEngine,
  startSim,
  testConfig,
  testRequesters,
} from '../__testUtils__/setup';
import { ApprovalDecider } from '../engine/RunEngine';
import { RunCaller } from '../engine/scope';
import { createRunOutcomeAuditor } from '../service/runAudit';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const ALICE = 'user:default/alice';
const PAYMENTS = 'group:default/payments';
const MANAGERS = 'group:default/release-managers';
const alice: RunCaller = {
  ownershipRefs: [ALICE, PAYMENTS],
  mayApplyClusterScoped: false,
  isTenantAdmin: false,
};
const bob: ApprovalDecider = {
  userEntityRef: 'user:default/bob',
  ownershipRefs: ['user:default/bob', MANAGERS],
  mayApprove: true,
};

const colorsChart = (color: string) =>
  rawTarGz([
    {
      path: 'colors/Chart.yaml',
      content: 'apiVersion: v2\nname: colors\nversion: 0.1.0\n',
    },
    {
      path: 'colors/templates/cm.yaml',
      content: `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: {{ .Release.Name }}-cfg }\ndata: { color: ${color} }\n`,
    },
  ]);

/**
 * A chart repository over HTTPS that serves one chart: `blue` for the first two downloads (the plan
 * approvers review, and its check when the approved run starts), `red` from then on.
 */
async function startFickleRepository(dir: string) {
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
  const blue = colorsChart('blue');
  const red = colorsChart('red');
  let downloads = 0;
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
        downloads++;
        res.end(downloads <= 2 ? blue : red);
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
    downloads: () => downloads,
    close: () => new Promise(resolve => server.close(resolve)),
  };
}

describe('an approved chart run', () => {
  let sim: KubeSim;
  let dir: string;
  let repo: Awaited<ReturnType<typeof startFickleRepository>>;
  const certFile = process.env.SSL_CERT_FILE;
  beforeAll(async () => {
    sim = await startSim();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fickle-repo-'));
    repo = await startFickleRepository(dir);
    // helm (Go) trusts the repository's self-signed certificate through SSL_CERT_FILE.
    process.env.SSL_CERT_FILE = repo.cert;
  });
  afterAll(async () => {
    if (certFile === undefined) delete process.env.SSL_CERT_FILE;
    else process.env.SSL_CERT_FILE = certFile;
    await repo?.close();
    await sim?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('installs only the chart whose digest was approved: a repository that serves other bytes later gets the run refused', async () => {
    const { engine, store, clusters } = await createTestEngine({
      databases,
      databaseId: 'SQLITE_3',
      sim,
      // The catalog has alice in payments, as her sign-in token says.
      requesters: testRequesters({ [ALICE]: [PAYMENTS] }),
      config: testConfig(sim, {
        helm: {
          chartDirectories: [],
          allowedRepositories: [repo.url],
          timeoutSeconds: 60,
        },
        approvals: {
          rules: [
            {
              name: 'colors',
              namespaces: ['tenant-colors'],
              approvers: [MANAGERS],
            },
          ],
        },
      }),
    });
    const approve = async (request: any) => {
      const run = await engine.submit(request, ALICE, alice);
      expect(run.status).toBe('awaiting-approval');
      await engine.decide(run.id, bob, 'approve', 'ok');
      await engine.waitIdle();
      return (await store.getRun(run.id))!;
    };
    const tenant = await approve({
      kind: 'tenant',
      cluster: 'dev',
      tenant: 'colors',
      owner: PAYMENTS,
      releases: [],
    });
    expect(tenant.status).toBe('succeeded');

    const run = await approve({
      kind: 'chart',
      cluster: 'dev',
      namespace: 'tenant-colors',
      release: {
        name: 'paint',
        chart: 'colors',
        repo: repo.url,
        version: '0.1.0',
      },
    });
    expect(repo.downloads()).toBe(3);
    expect({ status: run.status, reason: run.failureReason }).toEqual({
      status: 'failed',
      reason: expect.stringMatching(
        /^The chart of release paint \(colors 0\.1\.0\) is not the approved one: it was pulled with digest sha256:[0-9a-f]{64}, the approved plan has sha256:[0-9a-f]{64}; the release was not installed\./,
      ),
    });
    const core = clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
    const live = await core
      .readNamespacedConfigMap({
        namespace: 'tenant-colors',
        name: 'paint-cfg',
      })
      .then(
        cm => cm.data,
        () => undefined,
      );
    expect(live).toBeUndefined();
    // The approved change was not carried out: the approval says so, and the end of the run too.
    expect({ approval: run.approval?.state, applied: run.applied }).toEqual({
      approval: 'refused',
      applied: [],
    });
    const events: CapturedAuditEvent[] = [];
    await createRunOutcomeAuditor(
      capturingAuditorService(events),
      mockServices.logger.mock(),
      store,
    )(run);
    expect(events).toEqual([
      expect.objectContaining({
        eventId: 'run-finished',
        status: 'failed',
        meta: expect.objectContaining({
          runId: run.id,
          outcome: 'failed',
          approval: 'refused',
          applied: [],
        }),
      }),
    ]);
  });
});
