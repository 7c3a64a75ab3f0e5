import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import { HelmCli } from '@kubechart/plugin-kubechart-node';
import { CoreV1Api } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createTestEngine, startSim } from '../__testUtils__/setup';
import { DatabaseDriftStore } from '../database/DatabaseDriftStore';
import { DriftRecord } from '../database/DriftStore';
import { DriftService, DriftServiceOptions } from './DriftService';
import { ReleaseHistory, reapplyRequest } from './reapply';

jest.setTimeout(180_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });
const exec = promisify(execFile);
const kubectlBinary = resolve(__dirname, '../../../../.tools/bin/kubectl');

/**
 * What `list` shows of a namespace right after each write of the drift store during a pass (every
 * write method it has), as a reader of `GET /drift` could see it.
 */
function listedAfterWrites(
  drift: DatabaseDriftStore,
  namespace: string,
): string[][] {
  const seen: string[][] = [];
  for (const method of ['put', 'retainOnly', 'replaceAll']) {
    const original = (drift as any)[method];
    if (typeof original !== 'function') continue;
    (drift as any)[method] = async (...args: unknown[]) => {
      const result = await original.apply(drift, args);
      seen.push(
        (await drift.list({ cluster: 'dev', namespace })).map(d => d.runId),
      );
      return result;
    };
  }
  return seen;
}

describe.each(databases.eachSupportedId())('drift on %p', databaseId => {
  let sim: KubeSim;
  let dir: string;
  /** Real kubectl against kube-sim, as a person would change the cluster by hand. */
  const kubectl = (...args: string[]) =>
    exec(kubectlBinary, args, {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        KUBECONFIG: join(dir, 'kubeconfig'),
      },
      timeout: 30_000,
    });

  beforeAll(async () => {
    if (!existsSync(kubectlBinary))
      throw new Error(
        `kubectl not found at ${kubectlBinary}: run scripts/install-helm.sh first`,
      );
    sim = await startSim();
    dir = mkdtempSync(join(tmpdir(), 'kubechart-drift-'));
    writeFileSync(join(dir, 'kubeconfig'), sim.kubeconfig, { mode: 0o600 });
  });
  afterAll(async () => {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** An engine on a fresh database, the drift service over its runs, and a submit that waits for the run's end. */
  async function driftSetup(
    onDriftChanged?: (d: DriftRecord) => void,
    more: Partial<DriftServiceOptions> = {},
  ) {
    const t = await createTestEngine({ databases, databaseId, sim });
    const drift = await DatabaseDriftStore.create({
      database: mockServices.database.mock({ getClient: async () => t.knex }),
    });
    const service = new DriftService({
      runs: t.store,
      drift,
      clusters: t.clusters,
      client: c => t.engine.client(c),
      logger: mockServices.logger.mock(),
      onDriftChanged,
      ...more,
    });
    const submit = async (request: any) => {
      const r = await t.engine.submit(request, 'user:default/alice');
      await t.engine.waitFor(r.id);
      return (await t.store.getRun(r.id))!;
    };
    /** `submit`, expecting the run to succeed. */
    const succeed = async (request: any) => {
      const done = await submit(request);
      expect({ status: done.status, reason: done.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      return done;
    };
    /** `helm history` of a release, as the routes read it to re-apply a run. */
    const helm = HelmCli.fromConfig(t.config);
    const history: ReleaseHistory = ({ cluster, namespace, release }) =>
      helm.history({
        release,
        namespace,
        kubeconfig: t.clusters.kubeconfigYaml(cluster),
      });
    return { ...t, drift, service, submit, succeed, history };
  }

  it('reports the replicas and env value changed with kubectl and who changed them; re-applying the run clears it', async () => {
    const signalled: DriftRecord[] = [];
    const {
      drift,
      service,
      succeed: run,
      history,
    } = await driftSetup(d => signalled.push(d));
    // alice's tenant namespace, then a chart release in it (with a Secret whose data history redacts).
    const tenant = await run({
      kind: 'tenant',
      cluster: 'dev',
      tenant: 'drift',
      releases: [],
    });
    const chart = await run({
      kind: 'chart',
      cluster: 'dev',
      namespace: 'tenant-drift',
      release: {
        name: 'web',
        chart: 'driftapp',
        values: {
          replicas: 2,
          env: { MODE: 'blue' },
          password: 'hunter2-not-shown',
        },
      },
    });

    // Right after the run: the controller's status, the server's defaults and the Secret's data do not count.
    const [first] = await service.checkAll();
    expect(first).toMatchObject({
      runId: chart.id,
      status: 'in-sync',
      objects: [],
      target: { cluster: 'dev', namespace: 'tenant-drift', release: 'web' },
    });
    expect(first.since).toBe(chart.finishedAt);

    await kubectl(
      '-n',
      'tenant-drift',
      'scale',
      'deployment/web',
      '--replicas=5',
    );
    await kubectl(
      '-n',
      'tenant-drift',
      'set',
      'env',
      'deployment/web',
      'MODE=green',
    );
    const [drifted] = await service.checkAll();
    expect(drifted.status).toBe('drifted');
    expect(drifted.objects).toHaveLength(1);
    expect(drifted.objects[0]).toMatchObject({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: 'tenant-drift',
      name: 'web',
      state: 'changed',
    });
    // The managers are what kubectl sends: `kubectl scale` none (the API server takes it from the
    // user agent), `kubectl set env` its --field-manager default.
    expect(
      drifted.objects[0].fields.map(({ changedAt: _c, ...f }) => f),
    ).toEqual([
      { path: 'spec.replicas', expected: 2, actual: 5, manager: 'kubectl' },
      {
        path: 'spec.template.spec.containers[name=web].env[name=MODE].value',
        expected: 'blue',
        actual: 'green',
        manager: 'kubectl-set',
      },
    ]);
    for (const f of drifted.objects[0].fields)
      expect(Date.parse(f.changedAt!)).toBeGreaterThanOrEqual(
        Date.parse(chart.finishedAt!) - 1000,
      );
    expect(Date.parse(drifted.since)).toBeGreaterThanOrEqual(
      Date.parse(chart.finishedAt!) - 1000,
    );
    // The tenant run's own record (its quota, limits and network policy) stays in sync.
    expect(
      signalled.filter(s => s.runId === chart.id).map(s => s.status),
    ).toEqual(['in-sync', 'drifted']);
    expect(await drift.get(chart.id)).toEqual(drifted);

    // A second pass with nothing new keeps `since` and signals nothing (the chart run's two records
    // and the tenant run's first were signalled).
    const [again] = await service.checkAll();
    expect(again.since).toBe(drifted.since);
    expect(signalled).toHaveLength(3);

    // Re-apply: a normal rollback run to the revision the chart run left the release at.
    const request = await reapplyRequest(chart, { history });
    expect(request).toEqual({
      kind: 'rollback',
      cluster: 'dev',
      namespace: 'tenant-drift',
      release: 'web',
      revision: chart.helmRevision,
    });
    const reapplied = await run(request);
    const after = (await service.checkAll()).filter(d => d.runId !== tenant.id);
    expect(
      after.map(d => ({
        runId: d.runId,
        status: d.status,
        objects: d.objects,
      })),
    ).toEqual([{ runId: reapplied.id, status: 'in-sync', objects: [] }]);
    // The chart run is no longer the latest on its target: its record is gone.
    expect(await drift.get(chart.id)).toBeUndefined();
    expect(
      (await drift.list({ cluster: 'dev', namespace: 'tenant-drift' })).map(
        d => d.status,
      ),
    ).toEqual(['in-sync', 'in-sync']);
  });

  it('reports a deleted object as missing, and a manifests run is compared too', async () => {
    const { drift, service, submit } = await driftSetup();
    const tenant = await submit({
      kind: 'tenant',
      cluster: 'dev',
      tenant: 'driftm',
      releases: [],
    });
    const manifests = [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: { name: settings }',
      'data: { color: blue }',
    ].join('\n');
    const applied = await submit({
      kind: 'manifests',
      cluster: 'dev',
      namespace: 'tenant-driftm',
      manifests,
    });
    expect(applied.status).toBe('succeeded');
    expect(
      (await service.checkAll()).find(d => d.runId === applied.id)?.status,
    ).toBe('in-sync');

    await kubectl('-n', 'tenant-driftm', 'delete', 'configmap', 'settings');
    const record = (await service.checkAll()).find(
      d => d.runId === applied.id,
    )!;
    expect(record).toMatchObject({
      status: 'drifted',
      objects: [
        {
          kind: 'ConfigMap',
          name: 'settings',
          namespace: 'tenant-driftm',
          state: 'missing',
          fields: [],
        },
      ],
    });

    const request = await reapplyRequest(applied, { history: async () => [] });
    expect(request).toMatchObject({
      kind: 'manifests',
      namespace: 'tenant-driftm',
    });
    const reapplied = await submit(request);
    expect(reapplied.status).toBe('succeeded');
    // Whenever the pass writes, the superseded run's record and the new run's are not listed together.
    const listed = listedAfterWrites(drift, 'tenant-driftm');
    expect(
      (await service.checkAll()).find(d => d.runId === reapplied.id)?.status,
    ).toBe('in-sync');
    expect(listed.length).toBeGreaterThan(0);
    for (const ids of listed)
      expect(ids.includes(applied.id) && ids.includes(reapplied.id)).toBe(
        false,
      );
    // Beside it, only the tenant run's record (its baseline, not the manifests run's objects).
    expect(listed[listed.length - 1].sort()).toEqual(
      [tenant.id, reapplied.id].sort(),
    );
  });

  /** A Deployment the enforced policy accepts, with one container `web` and `env`. */
  /** Waits into the next second: managedFields times are whole seconds. */
  const nextSecond = () =>
    new Promise(r => setTimeout(r, 1050 - (Date.now() % 1000)));

  const hardenedDeployment = (env: unknown[] = []) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true },
          containers: [
            {
              name: 'web',
              image: 'registry.example.com/team/web:1.0.0',
              ...(env.length ? { env } : {}),
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              resources: {
                requests: { cpu: '10m', memory: '16Mi' },
                limits: { cpu: '100m', memory: '64Mi' },
              },
            },
          ],
        },
      },
    },
  });

  it('reports a policy, rule and Deployment widened by hand: a selector, an added peer and an added container, each with who did it', async () => {
    const { service, succeed } = await driftSetup();
    await succeed({
      kind: 'tenant',
      cluster: 'dev',
      tenant: 'driftw',
      releases: [],
    });
    const manifests = [
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'deny-all' },
        spec: { podSelector: {}, policyTypes: ['Ingress'] },
      },
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'from-web' },
        spec: {
          podSelector: { matchLabels: { app: 'api' } },
          ingress: [
            {
              from: [{ podSelector: { matchLabels: { app: 'web' } } }],
              ports: [{ port: 8080 }],
            },
          ],
        },
      },
      hardenedDeployment(),
    ]
      .map(o => JSON.stringify(o))
      .join('\n---\n');
    const applied = await succeed({
      kind: 'manifests',
      cluster: 'dev',
      namespace: 'tenant-driftw',
      manifests,
    });
    const recordOf = async () =>
      (await service.checkAll()).find(d => d.runId === applied.id)!;
    // Defaults (policyTypes, port protocol, container fields) and status do not count.
    expect(await recordOf()).toMatchObject({ status: 'in-sync', objects: [] });
    // Only writes later than the object's creation (whole seconds) count as added.
    await nextSecond();

    // The deny-all policy narrowed to no pod, the rule opened to every address, a container added.
    await kubectl(
      '-n',
      'tenant-driftw',
      'patch',
      'networkpolicy',
      'deny-all',
      '--type=merge',
      '-p',
      JSON.stringify({
        spec: { podSelector: { matchLabels: { nothing: 'selected' } } },
      }),
    );
    await kubectl(
      '-n',
      'tenant-driftw',
      'patch',
      'networkpolicy',
      'from-web',
      '--type=json',
      '-p',
      JSON.stringify([
        {
          op: 'add',
          path: '/spec/ingress/0/from/-',
          value: { ipBlock: { cidr: '0.0.0.0/0' } },
        },
      ]),
    );
    // `kubectl edit`, its editor adding the container to what it shows.
    const editor = join(dir, 'add-miner.js');
    writeFileSync(
      editor,
      [
        "const fs = require('fs');",
        'const file = process.argv[2];',
        "const o = JSON.parse(fs.readFileSync(file, 'utf8'));",
        'o.spec.template.spec.containers.push({',
        "  name: 'miner',",
        "  image: 'registry.example.com/team/miner:1.0.0',",
        '  securityContext: { privileged: true },',
        '});',
        'fs.writeFileSync(file, JSON.stringify(o));',
      ].join('\n'),
    );
    await exec(
      kubectlBinary,
      ['-n', 'tenant-driftw', 'edit', 'deployment/web', '-o', 'json'],
      {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: dir,
          KUBECONFIG: join(dir, 'kubeconfig'),
          KUBE_EDITOR: `${process.execPath} ${editor}`,
        },
        timeout: 30_000,
      },
    );

    const record = await recordOf();
    expect(record.status).toBe('drifted');
    expect(
      record.objects.map(o => ({
        object: `${o.kind}/${o.name}`,
        fields: o.fields.map(({ changedAt: _c, ...f }) => f),
      })),
    ).toEqual([
      {
        object: 'NetworkPolicy/deny-all',
        fields: [
          {
            path: 'spec.podSelector',
            expected: {},
            actual: { matchLabels: { nothing: 'selected' } },
            manager: 'kubectl-patch',
          },
        ],
      },
      {
        object: 'NetworkPolicy/from-web',
        fields: [
          {
            path: 'spec.ingress',
            expected: [
              {
                from: [{ podSelector: { matchLabels: { app: 'web' } } }],
                ports: [{ port: 8080 }],
              },
            ],
            // (A real API server also shows the port's defaulted `protocol: TCP`.)
            actual: [
              expect.objectContaining({
                from: [
                  { podSelector: { matchLabels: { app: 'web' } } },
                  { ipBlock: { cidr: '0.0.0.0/0' } },
                ],
              }),
            ],
            manager: 'kubectl-patch',
          },
        ],
      },
      {
        object: 'Deployment/web',
        fields: [
          {
            // By path and manager: no live value of what the manifest does not hold.
            path: 'spec.template.spec.containers[name=miner]',
            added: true,
            manager: 'kubectl-edit',
          },
        ],
      },
    ]);
  });

  it('does not count the defaults the creator of an object owns when a manifests run took it over from kubectl apply', async () => {
    const { service, succeed } = await driftSetup();
    await succeed({
      kind: 'tenant',
      cluster: 'dev',
      tenant: 'drifttk',
      releases: [],
    });
    const file = join(dir, 'drifttk-web.json');
    writeFileSync(file, JSON.stringify(hardenedDeployment()));
    await kubectl('-n', 'tenant-drifttk', 'apply', '-f', file);
    await nextSecond();
    const deployment = hardenedDeployment();
    deployment.spec.replicas = 2;
    const applied = await succeed({
      kind: 'manifests',
      cluster: 'dev',
      namespace: 'tenant-drifttk',
      manifests: JSON.stringify(deployment),
    });
    // kubectl's entry owns the defaults it created the object with (strategy, dnsPolicy…).
    const live = JSON.parse(
      (
        await kubectl(
          '-n',
          'tenant-drifttk',
          'get',
          'deployment/web',
          '-o',
          'json',
          '--show-managed-fields',
        )
      ).stdout,
    );
    expect(
      live.metadata.managedFields.map((m: any) => m.manager).sort(),
    ).toEqual(
      expect.arrayContaining(['kubechart', 'kubectl-client-side-apply']),
    );
    const record = (await service.checkAll()).find(
      d => d.runId === applied.id,
    )!;
    expect({ status: record.status, objects: record.objects }).toEqual({
      status: 'in-sync',
      objects: [],
    });
  });

  it('does not count a rollout restart as drift', async () => {
    const { service, succeed } = await driftSetup();
    await succeed({
      kind: 'tenant',
      cluster: 'dev',
      tenant: 'driftrst',
      releases: [],
    });
    const applied = await succeed({
      kind: 'manifests',
      cluster: 'dev',
      namespace: 'tenant-driftrst',
      manifests: JSON.stringify(hardenedDeployment()),
    });
    const recordOf = async () =>
      (await service.checkAll()).find(d => d.runId === applied.id)!;
    expect(await recordOf()).toMatchObject({ status: 'in-sync', objects: [] });
    await nextSecond();
    await kubectl(
      '-n',
      'tenant-driftrst',
      'rollout',
      'restart',
      'deployment/web',
    );
    const live = JSON.parse(
      (
        await kubectl(
          '-n',
          'tenant-driftrst',
          'get',
          'deployment/web',
          '-o',
          'json',
        )
      ).stdout,
    );
    expect(
      live.spec.template.metadata.annotations[
        'kubectl.kubernetes.io/restartedAt'
      ],
    ).toBeTruthy();
    expect(await recordOf()).toMatchObject({ status: 'in-sync', objects: [] });
  });

  it('names added fields by path and manager only, never their live values, lists at most 100 per object and says a re-apply does not remove them', async () => {
    const { service, succeed } = await driftSetup();
    await succeed({
      kind: 'tenant',
      cluster: 'dev',
      tenant: 'drifte',
      releases: [],
    });
    const applied = await succeed({
      kind: 'manifests',
      cluster: 'dev',
      namespace: 'tenant-drifte',
      manifests: [
        hardenedDeployment(),
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'settings' },
          data: { mode: 'fast' },
        },
      ]
        .map(o => JSON.stringify(o))
        .join('\n---\n'),
    });
    await nextSecond();
    await kubectl(
      '-n',
      'tenant-drifte',
      'patch',
      'deployment',
      'web',
      '-p',
      JSON.stringify({
        spec: {
          template: {
            metadata: {
              annotations: {
                notify: 'https://hooks.slack.com/services/T0/B0/hunter4slack',
              },
            },
            spec: {
              containers: [
                {
                  name: 'debug',
                  image: 'registry.example.com/team/debug:1.0.0',
                  args: ['-p', 'hunter3'],
                  env: [
                    { name: 'DB', value: 'postgres://app:hunter2@db' },
                    { name: 'STRIPE', value: 'sk_live_hunter5' },
                  ],
                },
              ],
            },
          },
        },
      }),
    );
    const keys = Object.fromEntries(
      Array.from({ length: 150 }, (_, i) => [`k${i}`, `v${i}`]),
    );
    await kubectl(
      '-n',
      'tenant-drifte',
      'patch',
      'configmap',
      'settings',
      '--type=merge',
      '-p',
      JSON.stringify({ data: keys }),
    );
    const record = (await service.checkAll()).find(
      d => d.runId === applied.id,
    )!;
    expect(record.status).toBe('drifted');
    const text = JSON.stringify(record);
    for (const secret of ['hunter2', 'hunter3', 'hunter4slack', 'sk_live'])
      expect(text).not.toContain(secret);
    const web = record.objects.find(o => o.kind === 'Deployment')!;
    expect(
      web.fields
        .map(({ changedAt: _c, ...f }) => f)
        .sort((a, b) => a.path.localeCompare(b.path)),
    ).toEqual([
      // Field by field: the ignored restartedAt annotation may be among them.
      {
        path: 'spec.template.metadata.annotations.notify',
        added: true,
        manager: 'kubectl-patch',
      },
      {
        path: 'spec.template.spec.containers[name=debug]',
        added: true,
        manager: 'kubectl-patch',
      },
    ]);
    const settings = record.objects.find(o => o.kind === 'ConfigMap')!;
    expect(settings.fields).toHaveLength(100);
    expect(settings.fields[0]).toEqual({
      path: expect.stringMatching(/^data\.k\d+$/),
      added: true,
      manager: 'kubectl-patch',
      changedAt: expect.any(String),
    });
    expect(record.message).toContain('ConfigMap/settings: and 50 more');
    expect(record.message).toContain(
      '152 fields the manifest does not set were added by other field managers',
    );
    expect(record.message).toContain('a re-apply does not remove them');
  });

  it('shows no live value of an env entry held as a secret when its name appears twice', async () => {
    const { service, succeed } = await driftSetup();
    await succeed({
      kind: 'tenant',
      cluster: 'dev',
      tenant: 'driftd',
      releases: [],
    });
    const secret = 'Gen3ratedS3cret';
    const manifests = [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'admin' },
        stringData: { password: secret },
      },
      hardenedDeployment([{ name: 'ADMIN_PW', value: secret }]),
    ]
      .map(o => JSON.stringify(o))
      .join('\n---\n');
    const applied = await succeed({
      kind: 'manifests',
      cluster: 'dev',
      namespace: 'tenant-driftd',
      manifests,
    });
    expect(applied.manifest).not.toContain(secret);
    await kubectl(
      '-n',
      'tenant-driftd',
      'patch',
      'deployment',
      'web',
      '--type=json',
      '-p',
      JSON.stringify([
        {
          op: 'add',
          path: '/spec/template/spec/containers/0/env/-',
          value: { name: 'ADMIN_PW', value: secret },
        },
      ]),
    );
    const record = (await service.checkAll()).find(
      d => d.runId === applied.id,
    )!;
    expect(record.status).toBe('drifted');
    expect(record.objects[0].fields).toEqual([
      expect.objectContaining({
        path: 'spec.template.spec.containers[name=web].env[name=ADMIN_PW]',
        expected: { name: 'ADMIN_PW', value: '***' },
        actual: [
          { name: 'ADMIN_PW', value: '***' },
          { name: 'ADMIN_PW', value: '***' },
        ],
      }),
    ]);
    expect(JSON.stringify(record)).not.toContain(secret);
  });

  it('reports arguments changed with kubectl beside a flag value stored redacted, showing no live argument', async () => {
    const { service, succeed } = await driftSetup();
    await succeed({
      kind: 'tenant',
      cluster: 'dev',
      tenant: 'drifta',
      releases: [],
    });
    const secret = 'hunter2hunter2';
    const deployment: any = hardenedDeployment();
    deployment.spec.template.spec.containers[0].args = [
      '--db-password',
      secret,
      '--auth',
      'required',
    ];
    const applied = await succeed({
      kind: 'manifests',
      cluster: 'dev',
      namespace: 'tenant-drifta',
      manifests: JSON.stringify(deployment),
    });
    expect(applied.manifest).not.toContain(secret);
    const check = async () =>
      (await service.checkAll()).find(d => d.runId === applied.id)!;
    // Unchanged: in sync but for the password, named as not compared.
    const unchanged = await check();
    expect(unchanged.status).toBe('in-sync');
    expect(unchanged.notCompared).toEqual([
      expect.objectContaining({
        fields: ['spec.template.spec.containers[name=web].args'],
      }),
    ]);
    await kubectl(
      '-n',
      'tenant-drifta',
      'patch',
      'deployment',
      'web',
      '--type=json',
      '-p',
      JSON.stringify([
        {
          op: 'replace',
          path: '/spec/template/spec/containers/0/args',
          value: [
            '--db-password',
            secret,
            '--auth',
            'none',
            '--debug-endpoints',
          ],
        },
      ]),
    );
    const record = await check();
    expect(record.status).toBe('drifted');
    expect(record.objects[0].fields).toEqual([
      expect.objectContaining({
        path: 'spec.template.spec.containers[name=web].args',
        expected: ['--db-password', '***', '--auth', 'required'],
        actual: ['***', '***', '***', '***', '***'],
      }),
    ]);
    expect(JSON.stringify(record)).not.toContain(secret);
  });

  it('keeps strings that YAML 1.1 reads otherwise as strings in the stored manifest: in sync, and re-applied unchanged', async () => {
    const { service, submit, clusters } = await driftSetup();
    const core = clusters.kubeConfig('dev');
    await submit({
      kind: 'tenant',
      cluster: 'dev',
      tenant: 'driftq',
      releases: [],
    });
    // Quoted, so strings to the API server; unquoted, YAML 1.1 (helm's) reads them as a boolean and numbers.
    const data = { enabled: 'yes', mode: 'off', mask: '0o17', big: '1_000' };
    const manifests = [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: { name: quoted }',
      `data: ${JSON.stringify(data)}`,
    ].join('\n');
    const applied = await submit({
      kind: 'manifests',
      cluster: 'dev',
      namespace: 'tenant-driftq',
      manifests,
    });
    expect(applied.status).toBe('succeeded');
    expect(
      (await service.checkAll()).find(d => d.runId === applied.id)?.status,
    ).toBe('in-sync');
    const reapplied = await submit(
      await reapplyRequest(applied, { history: async () => [] }),
    );
    expect(reapplied.status).toBe('succeeded');
    const live = await core
      .makeApiClient(CoreV1Api)
      .readNamespacedConfigMap({ name: 'quoted', namespace: 'tenant-driftq' });
    expect(live.data).toEqual(data);
    expect(
      (await service.checkAll()).find(d => d.runId === reapplied.id)?.status,
    ).toBe('in-sync');
  });

  it("compares a release a chart run took over as the chart run's, never in the tenant run's record, which keeps its baseline", async () => {
    const { drift, service, succeed: submit } = await driftSetup();
    const web = { name: 'web', chart: 'webapp', values: { replicas: 1 } };
    const tenant = await submit({
      kind: 'tenant',
      cluster: 'dev',
      tenant: 'driftc',
      releases: [web],
    });
    await service.checkAll();
    expect(
      (await drift.list({ cluster: 'dev', namespace: 'tenant-driftc' })).map(
        d => d.runId,
      ),
    ).toEqual([tenant.id]);

    // A chart run upgrades the tenant's release: its objects are the chart run's to compare now.
    const chart = await submit({
      kind: 'chart',
      cluster: 'dev',
      namespace: 'tenant-driftc',
      release: web,
    });
    await kubectl(
      '-n',
      'tenant-driftc',
      'scale',
      'deployment/web',
      '--replicas=3',
    );
    const records = (await service.checkAll()).filter(
      d => d.target.namespace === 'tenant-driftc',
    );
    expect(
      Object.fromEntries(
        records.map(d => [
          d.runId,
          {
            status: d.status,
            objects: d.objects.map(o => `${o.kind}/${o.name}`),
          },
        ]),
      ),
    ).toEqual({
      [chart.id]: { status: 'drifted', objects: ['Deployment/web'] },
      [tenant.id]: { status: 'in-sync', objects: [] },
    });
  });
  it('never says a field it could not compare matches: a changed Secret is in sync except the fields that hold secrets, counted and named', async () => {
    const { service, succeed: submit } = await driftSetup();
    await submit({
      kind: 'tenant',
      cluster: 'dev',
      tenant: 'drifts',
      releases: [],
    });
    const chart = await submit({
      kind: 'chart',
      cluster: 'dev',
      namespace: 'tenant-drifts',
      release: {
        name: 'web',
        chart: 'driftapp',
        values: { password: 'hunter2-not-shown' },
      },
    });
    // Someone replaces the password the run applied: history holds it redacted, drift cannot tell.
    await kubectl(
      '-n',
      'tenant-drifts',
      'patch',
      'secret',
      'web-auth',
      '--type=merge',
      '-p',
      JSON.stringify({
        data: { password: Buffer.from('changed').toString('base64') },
      }),
    );
    const record = (await service.checkAll()).find(d => d.runId === chart.id);
    expect(record).toMatchObject({
      status: 'in-sync',
      objects: [],
      notCompared: [
        {
          apiVersion: 'v1',
          kind: 'Secret',
          namespace: 'tenant-drifts',
          name: 'web-auth',
          count: 1,
          fields: ['stringData.password'],
        },
      ],
      message:
        'in sync except 1 field that holds a secret, which drift cannot compare (history stores it redacted): Secret/web-auth stringData.password',
    });
    expect(JSON.stringify(record)).not.toContain('hunter2');
    expect(JSON.stringify(record)).not.toContain('changed');
  });

  it('compares a run an action recorded on its own: it never takes over, or hides the drift of, what kubechart applied', async () => {
    const { store, service, succeed: submit } = await driftSetup();
    const tenant = await submit({
      kind: 'tenant',
      cluster: 'dev',
      tenant: 'driftr',
      releases: [],
    });
    const chart = await submit({
      kind: 'chart',
      cluster: 'dev',
      namespace: 'tenant-driftr',
      release: { name: 'web', chart: 'webapp', values: { replicas: 1 } },
    });
    await kubectl(
      '-n',
      'tenant-driftr',
      'set',
      'image',
      'deployment/web',
      'web=registry.example.com/team/web:changed',
    );
    /** A succeeded run the action `acme:noop` recorded, reporting a manifest that names Deployment/web and nothing of it. */
    const recorded = async (kind: 'chart' | 'manifests') => {
      const run = await store.createRun(
        {
          id: randomUUID(),
          kind,
          status: 'pending',
          actor: 'user:default/alice',
          action: 'acme:noop',
          target: {
            cluster: 'dev',
            namespace: 'tenant-driftr',
            ...(kind === 'chart' ? { release: 'web' } : {}),
          },
          input: {},
        },
        [],
      );
      await store.finishRun(run.id, 'succeeded', {
        manifest:
          'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n',
      });
      return run;
    };
    /** The records of tenant-driftr a pass writes, by run (the tenant run's baseline, in sync, aside). */
    const pass = async () => {
      const all = (await service.checkAll()).filter(
        d => d.target.namespace === 'tenant-driftr',
      );
      expect(all.find(d => d.runId === tenant.id)?.status).toBe('in-sync');
      const records = all.filter(d => d.runId !== tenant.id);
      return Object.fromEntries(
        records.map(d => [
          d.runId,
          {
            status: d.status,
            reportedByAction: d.reportedByAction,
            paths: d.objects.flatMap(o =>
              o.fields.map(f => `${o.kind}/${o.name} ${f.path}`),
            ),
          },
        ]),
      );
    };
    const engineDrift = {
      status: 'drifted',
      reportedByAction: undefined,
      paths: ['Deployment/web spec.template.spec.containers[name=web].image'],
    };
    // Each compares what it reported, labelled as an action's report; the chart run still says what changed.
    const actionReport = {
      status: 'in-sync',
      reportedByAction: 'acme:noop',
      paths: [],
    };
    const sameRelease = await recorded('chart');
    expect(await pass()).toEqual({
      [chart.id]: engineDrift,
      [sameRelease.id]: actionReport,
    });
    // A newer action's report of the same object replaces the older report, never the chart run.
    const sameNamespace = await recorded('manifests');
    expect(await pass()).toEqual({
      [chart.id]: engineDrift,
      [sameNamespace.id]: actionReport,
    });

    // Once kubechart applies the release again, the reports of what it applied before are history.
    const again = await submit({
      kind: 'chart',
      cluster: 'dev',
      namespace: 'tenant-driftr',
      release: {
        name: 'web',
        chart: 'webapp',
        values: { replicas: 1, image: { tag: '1.0.1' } },
      },
    });
    expect(await pass()).toEqual({
      [again.id]: { status: 'in-sync', reportedByAction: undefined, paths: [] },
    });
  });

  it('compares nothing of a run whose stored manifest reaches outside its namespace, and says so', async () => {
    const { store, service } = await driftSetup();
    const other = `other-${randomUUID().slice(0, 8)}`;
    await kubectl('create', 'namespace', other);
    await kubectl(
      'create',
      'configmap',
      'victim-config',
      '-n',
      other,
      '--from-literal=note=OTHER-TEAM-PRIVATE-VALUE',
    );
    // As a recorded run finished before its manifest was held to its namespace could hold it.
    const run = await store.createRun(
      {
        id: randomUUID(),
        kind: 'manifests',
        status: 'pending',
        actor: 'user:default/alice',
        action: 'acme:cache:create',
        target: { cluster: 'dev', namespace: 'shop' },
        input: {},
      },
      [],
    );
    await store.finishRun(run.id, 'succeeded', {
      manifest: `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: victim-config, namespace: ${other} }\ndata: x\n`,
    });
    const record = (await service.checkAll()).find(d => d.runId === run.id);
    expect(record).toMatchObject({
      status: 'unknown',
      objects: [],
      message: `the run’s manifest holds 1 object(s) outside its namespace shop, which drift does not read: ConfigMap/victim-config is in namespace ${other}; a run may only write to namespace shop`,
    });
    expect(JSON.stringify(record)).not.toContain('OTHER-TEAM-PRIVATE-VALUE');
  });

  it('reads no cluster-scoped object of a kind the cluster does not allow, whichever run stored it', async () => {
    const { store, service } = await driftSetup(undefined, {
      settings: {
        allowedClusterScopedKinds: {
          dev: ['rbac.authorization.k8s.io/ClusterRole'],
        },
      },
    });
    const other = `other-${randomUUID().slice(0, 8)}`;
    await kubectl('create', 'namespace', other);
    await kubectl('label', 'namespace', other, 'note=OTHER-TEAM-PRIVATE');
    /** A succeeded chart run of the engine (no action) whose stored manifest is `manifest`. */
    const engineRun = async (namespace: string, manifest: string) => {
      const run = await store.createRun(
        {
          id: randomUUID(),
          kind: 'chart',
          status: 'pending',
          actor: 'user:default/alice',
          target: { cluster: 'dev', namespace, release: 'web' },
          input: {},
        },
        [],
      );
      await store.finishRun(run.id, 'succeeded', { manifest, helmRevision: 1 });
      return run;
    };
    // As a release record planted in the tenant's namespace could make a run that upgraded nothing keep.
    const planted = await engineRun(
      'shop',
      `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${other}, labels: { note: mine } }\n`,
    );
    const allowed = await engineRun(
      'shop-b',
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: { name: drift-allowed-role }\nrules: []\n',
    );
    const records = await service.checkAll();
    const record = records.find(d => d.runId === planted.id);
    expect(record).toMatchObject({
      status: 'unknown',
      objects: [],
      message: `the run’s manifest holds 1 object(s) outside its namespace shop, which drift does not read: Namespace/${other} is cluster-scoped; a run may only write to namespace shop and to the cluster-scoped kinds cluster dev allows (rbac.authorization.k8s.io/ClusterRole)`,
    });
    expect(JSON.stringify(record)).not.toContain('OTHER-TEAM-PRIVATE');
    // A kind the cluster allows is compared: this ClusterRole was never created.
    expect(records.find(d => d.runId === allowed.id)).toMatchObject({
      status: 'drifted',
      objects: [
        { kind: 'ClusterRole', name: 'drift-allowed-role', state: 'missing' },
      ],
    });
  });

  it('compares at most the objects a pass allows, and records the rest as not compared rather than in sync', async () => {
    const { store, service } = await driftSetup(undefined, {
      maxObjectsPerPass: 1,
    });
    const namespace = `drift-cap-${randomUUID().slice(0, 8)}`;
    await kubectl('create', 'namespace', namespace);
    await kubectl('-n', namespace, 'create', 'configmap', 'one');
    await kubectl('-n', namespace, 'create', 'configmap', 'two');
    const run = await store.createRun(
      {
        id: randomUUID(),
        kind: 'manifests',
        status: 'pending',
        actor: 'user:default/alice',
        target: { cluster: 'dev', namespace },
        input: {},
      },
      [],
    );
    await store.finishRun(run.id, 'succeeded', {
      manifest:
        'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: one }\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: two }\n',
    });
    const record = (await service.checkAll()).find(d => d.runId === run.id);
    expect(record).toMatchObject({
      status: 'unknown',
      objects: [],
      message:
        '1 of the 2 objects the run applied were not compared: a drift pass compares at most 1 objects',
    });
  });

  it('compares a run of more objects than one policy check judges (a List of 1001 items) like any other', async () => {
    const { store, service } = await driftSetup();
    const namespace = `drift-many-${randomUUID().slice(0, 8)}`;
    await kubectl('create', 'namespace', namespace);
    await kubectl('-n', namespace, 'create', 'configmap', 'item-0');
    // As a run recorded before policy checks were bounded, or an action's recorded run, could store it.
    const run = await store.createRun(
      {
        id: randomUUID(),
        kind: 'manifests',
        status: 'pending',
        actor: 'user:default/alice',
        target: { cluster: 'dev', namespace },
        input: {},
      },
      [],
    );
    await store.finishRun(run.id, 'succeeded', {
      manifest: JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: Array.from({ length: 1001 }, (_, i) => ({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `item-${i}` },
        })),
      }),
    });
    const record = (await service.checkAll()).find(d => d.runId === run.id);
    expect(record?.status).toBe('drifted');
    // Every object is compared; the record lists the first 100, and counts the rest.
    expect(record?.objects).toHaveLength(100);
    expect(record?.objects[0]).toMatchObject({
      kind: 'ConfigMap',
      name: 'item-1',
      state: 'missing',
    });
    expect(record?.message).toBe(
      'the record does not list 900 drifted objects: a drift record lists at most 100 objects, 100 changed fields per object and 64 KiB of them',
    );
  });

  it('shows a live value too long to show as its size only, and keeps the record small however large the live objects are', async () => {
    const { drift, service, succeed, clusters } = await driftSetup();
    const core = clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
    const code = `driftbig${randomUUID().slice(0, 6)}`;
    const namespace = `tenant-${code}`;
    await succeed({
      kind: 'tenant',
      cluster: 'dev',
      tenant: code,
      releases: [],
    });
    const names = Array.from({ length: 30 }, (_, i) => `settings-${i}`);
    const applied = await succeed({
      kind: 'manifests',
      cluster: 'dev',
      namespace,
      manifests: names
        .map(name =>
          [
            'apiVersion: v1',
            'kind: ConfigMap',
            `metadata: { name: ${name} }`,
            'data: { color: blue }',
          ].join('\n'),
        )
        .join('\n---\n'),
    });
    // A namespace user sets each value to 900 KB (a ConfigMap holds up to 1 MiB).
    const big = 'g'.repeat(900 * 1024);
    for (const name of names) {
      const live = await core.readNamespacedConfigMap({ name, namespace });
      await core.replaceNamespacedConfigMap({
        name,
        namespace,
        body: { ...live, data: { color: big } },
      });
    }
    const record = (await service.checkAll()).find(
      d => d.runId === applied.id,
    )!;
    expect(record.status).toBe('drifted');
    expect(record.objects.map(o => o.name).sort()).toEqual([...names].sort());
    for (const o of record.objects)
      expect(o.fields.map(({ changedAt: _c, manager: _m, ...f }) => f)).toEqual(
        [
          {
            path: 'data.color',
            expected: 'blue',
            // Its JSON: the string and its two quotes.
            actual: { notShown: `value of ${big.length + 2} bytes` },
          },
        ],
      );
    // What a reader gets (GET /runs/:id/drift, GET /drift) is the same small record.
    const stored = await drift.get(applied.id);
    expect(stored).toEqual(record);
    expect(await drift.list({ cluster: 'dev', namespace })).toContainEqual(
      record,
    );
    expect(JSON.stringify(stored).length).toBeLessThan(64 * 1024);
  });

  it('lists at most 100 changed fields of an object and 64 KiB of fields in a record, counting the rest', async () => {
    const { service, succeed, clusters } = await driftSetup();
    const core = clusters.kubeConfig('dev').makeApiClient(CoreV1Api);
    const code = `driftwide${randomUUID().slice(0, 6)}`;
    const namespace = `tenant-${code}`;
    await succeed({
      kind: 'tenant',
      cluster: 'dev',
      tenant: code,
      releases: [],
    });
    const keys = Array.from({ length: 150 }, (_, i) => `color-${i}`);
    const manifest = (name: string) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name },
        data: Object.fromEntries(keys.map(k => [k, 'blue'])),
      });
    const applied = await succeed({
      kind: 'manifests',
      cluster: 'dev',
      namespace,
      manifests: `${manifest('wide')}\n---\n${manifest('long')}`,
    });
    // `wide`: 150 short values changed; `long`: 150 values of 1,000 bytes (each shown whole).
    const change = async (name: string, value: string) =>
      core.replaceNamespacedConfigMap({
        name,
        namespace,
        body: {
          ...(await core.readNamespacedConfigMap({ name, namespace })),
          data: Object.fromEntries(keys.map(k => [k, value])),
        },
      });
    await change('wide', 'green');
    await change('long', 'l'.repeat(1000));
    const record = (await service.checkAll()).find(
      d => d.runId === applied.id,
    )!;
    expect(record.status).toBe('drifted');
    const wide = record.objects.find(o => o.name === 'wide')!;
    expect(wide.fields).toHaveLength(100);
    expect(wide.fields[0]).toMatchObject({
      path: 'data.color-0',
      expected: 'blue',
      actual: 'green',
    });
    const long = record.objects.find(o => o.name === 'long')!;
    expect(long.fields[0]).toMatchObject({
      path: 'data.color-0',
      expected: 'blue',
      actual: 'l'.repeat(1000),
    });
    expect(long.fields.length).toBeLessThan(100);
    expect(JSON.stringify(record.objects).length).toBeLessThanOrEqual(
      64 * 1024,
    );
    // The record says how many fields it does not list: 50 of wide, and those of long beyond its bytes.
    expect(record.message).toBe(
      `the record does not list ${
        300 - wide.fields.length - long.fields.length
      } fields of the objects it lists: a drift record lists at most 100 objects, 100 changed fields per object and 64 KiB of them`,
    );
  });

  it('says why drift is unknown when the run’s cluster is no longer configured', async () => {
    const { store, service } = await driftSetup();
    const gone = await store.createRun(
      {
        id: randomUUID(),
        kind: 'chart',
        status: 'pending',
        actor: 'user:default/alice',
        target: { cluster: 'retired', namespace: 'shop', release: 'web' },
        input: {},
      },
      [],
    );
    await store.finishRun(gone.id, 'succeeded', {
      manifest:
        'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings }\n',
      helmRevision: 1,
    });
    const record = (await service.checkAll()).find(d => d.runId === gone.id);
    expect(record).toMatchObject({
      status: 'unknown',
      objects: [],
      message: 'cluster retired is not configured',
    });
  });
});
