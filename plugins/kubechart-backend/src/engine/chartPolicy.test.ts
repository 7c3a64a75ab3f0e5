import { TestDatabases } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';
import {
  BatchV1Api,
  CoreV1Api,
  KubernetesObjectApi,
} from '@kubernetes/client-node';
import { HelmCli, parseManifests } from '@kubechart/plugin-kubechart-node';
import { createTestEngine, startSim, testConfig } from '../__testUtils__/setup';
import { RunEngine } from './RunEngine';
import { RunCaller } from './scope';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const alice: RunCaller = {
  ownershipRefs: ['user:default/alice'],
  mayApplyClusterScoped: false,
  isTenantAdmin: false,
};
/** Alice with the permission to apply the cluster-scoped kinds the platform allows (here CRDs). */
const aliceWithCrds: RunCaller = { ...alice, mayApplyClusterScoped: true };
const CRD = 'apiextensions.k8s.io/CustomResourceDefinition';

describe.each(['helm3', 'helm4'] as const)(
  'chart policy on what is applied, with real %s against kube-sim',
  helmBin => {
    let sim: KubeSim;
    let engine: RunEngine;
    let created: Awaited<ReturnType<typeof createTestEngine>>;
    let store: typeof created.store;
    let core: CoreV1Api;
    let batch: BatchV1Api;
    let objects: KubernetesObjectApi;
    const code = `pol${helmBin.slice(-1)}`;
    const ns = `tenant-${code}`;

    const finish = async (request: any, caller: RunCaller = alice) => {
      const run = await engine.submit(request, 'user:default/alice', caller);
      await engine.waitFor(run.id);
      return (await store.getRun(run.id))!;
    };
    const chart = (
      name: string,
      chartName: string,
      values: Record<string, unknown> = {},
    ) => ({
      kind: 'chart' as const,
      cluster: 'dev',
      namespace: ns,
      release: { name, chart: chartName, values },
    });
    /** What helm left in the namespace for a release: its objects and its release records. */
    const applied = async (release: string) => ({
      configMaps: (await core.listNamespacedConfigMap({ namespace: ns })).items
        .map(c => c.metadata?.name)
        .filter(n => n?.startsWith(release)),
      jobs: (await batch.listNamespacedJob({ namespace: ns })).items
        .map(j => j.metadata?.name)
        .filter(n => n?.startsWith(release)),
      releases: (
        await core.listNamespacedSecret({
          namespace: ns,
          labelSelector: `owner=helm,name=${release}`,
        })
      ).items.length,
    });
    const nothing = { configMaps: [], jobs: [], releases: 0 };
    const crdNames = () =>
      objects.list('apiextensions.k8s.io/v1', 'CustomResourceDefinition').then(
        l => l.items.map(i => i.metadata?.name),
        () => [],
      );
    /**
     * Every object of a stored manifest is in kube-sim with every field as stored (the API server adds
     * defaults and status; helm 4 marks what it sent with an annotation it removes), and its labels.
     */
    const expectClusterHolds = async (manifest: string, namespace = ns) => {
      const stored = parseManifests(manifest);
      for (const sent of stored) {
        const live = await objects.read({
          apiVersion: sent.apiVersion!,
          kind: sent.kind!,
          metadata: { name: sent.metadata!.name!, namespace },
        });
        const { metadata, ...body } = sent;
        expect(live).toMatchObject(JSON.parse(JSON.stringify(body)));
        expect(live.metadata?.labels ?? {}).toMatchObject(
          metadata?.labels ?? {},
        );
      }
      return stored.map(o => `${o.kind}/${o.metadata?.name}`).sort();
    };

    beforeAll(async () => {
      sim = await startSim();
      created = await createTestEngine({
        databases,
        databaseId: 'SQLITE_3',
        sim,
        helm: helmBin,
        // The platform allows CRDs on this cluster, to callers permitted cluster-scoped kinds. The
        // tenant admits privileged pods (Pod Security `privileged`), so what helm 3 runs before the
        // policy can judge it does run: these tests show what the policy itself catches (with the
        // default `baseline`, the API server refuses such pods too; see confinement.test.ts).
        config: testConfig(sim, {
          clusters: { dev: { allowedClusterScopedKinds: [CRD] } },
          tenant: { podSecurity: { enforce: 'privileged' } },
        }),
      });
      ({ engine, store } = created);
      const config = created.clusters.kubeConfig('dev');
      core = config.makeApiClient(CoreV1Api);
      batch = config.makeApiClient(BatchV1Api);
      objects = KubernetesObjectApi.makeApiClient(config);
      const tenant = await finish({
        kind: 'tenant',
        cluster: 'dev',
        tenant: code,
        releases: [],
      });
      if (tenant.status !== 'succeeded')
        throw new Error(`tenant failed: ${tenant.failureReason}`);
    });
    afterAll(() => sim?.stop());

    it('refuses a hook Job that only a render against the cluster makes privileged, before helm applies anything', async () => {
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'hook-mode' }, data: { privileged: 'true' } },
      });
      try {
        const run = await finish(chart('hk', 'hookcheck'));
        expect(run.status).toBe('failed');
        // helm 3 does not post-render hooks: the engine checks them as helm renders them, first;
        // helm 4 post-renders them, so its post-render gate refuses them.
        expect(run.failureReason).toContain(
          helmBin === 'helm3'
            ? 'Chart policy (enforce) blocked the hooks of release hk; nothing was applied'
            : 'Chart policy (enforce) refused what helm was about to apply',
        );
        expect(run.failureReason).toContain('[no-privileged] Job/hk-migrate');
        expect(run.policyReport?.results).toContainEqual(
          expect.objectContaining({
            ruleId: 'no-privileged',
            passed: false,
            release: 'hk',
            object: expect.objectContaining({
              kind: 'Job',
              name: 'hk-migrate',
            }),
          }),
        );
        expect(await applied('hk')).toEqual(nothing);
        // The run keeps what was refused: the hook Job exactly as helm would have run it.
        const refusedJob = parseManifests(run.manifest ?? '').find(
          o => o.kind === 'Job' && o.metadata?.name === 'hk-migrate',
        ) as any;
        expect(
          refusedJob?.spec.template.spec.containers[0].securityContext
            .privileged,
        ).toBe(true);
        expect(run.values).toEqual({});
      } finally {
        await core.deleteNamespacedConfigMap({
          namespace: ns,
          name: 'hook-mode',
        });
      }
      // Without the cluster's switch the hook renders harmless now. helm 4 post-renders hooks, so
      // installs it as checked; helm 3 would render the hook again at install, where its lookup may
      // answer otherwise, unseen by the post-renderer: it refuses, naming the call and helm 4.
      const second = await finish(chart('hk', 'hookcheck'));
      const outcomes = {
        helm4: {
          status: 'succeeded',
          reason: '',
          applied: expect.objectContaining({ configMaps: ['hk-cfg'] }),
          stored: expect.arrayContaining(['ConfigMap', 'Job']),
        },
        helm3: {
          status: 'failed',
          reason: expect.stringMatching(
            /^helm 3 cannot install release hk with its hooks checked as they run; nothing was applied\..*uses? lookup \(templates\/hook-job\.yaml\).*Install it with helm 4/s,
          ),
          applied: nothing,
          stored: expect.any(Array),
        },
      };
      expect({
        status: second.status,
        reason: second.failureReason ?? '',
        applied: await applied('hk'),
        stored: parseManifests(second.manifest ?? '').map(o => o.kind),
      }).toEqual(outcomes[helmBin]);
    });

    it('refuses a hook that appears only against the cluster, its annotation spelled so no template names it, before anything is applied', async () => {
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'sneak' }, data: { on: 'yes' } },
      });
      try {
        const run = await finish(chart('hid', 'sneakyhook'));
        // helm 3: the chart calls lookup, so a server dry run shows the hook, which is checked;
        // helm 4: the post-render gate sees the hook as helm is about to run it.
        expect({
          status: run.status,
          reason: run.failureReason ?? '',
          applied: await applied('hid'),
        }).toEqual({
          status: 'failed',
          reason: expect.stringContaining(
            '[no-privileged] Job/hid-sneak: container "sneak": runs privileged',
          ),
          applied: nothing,
        });
      } finally {
        await core.deleteNamespacedConfigMap({ namespace: ns, name: 'sneak' });
      }
    });

    it('refuses a hook that renders only on an upgrade, its annotation spelled so no template names it, before it runs', async () => {
      const first = await finish(chart('upg', 'upgradehook'));
      expect([first.status, first.failureReason]).toEqual([
        'succeeded',
        undefined,
      ]);
      expect(await applied('upg')).toEqual({
        configMaps: ['upg-cfg'],
        jobs: [],
        releases: 1,
      });
      // The check's offline render is a first install; helm renders the upgrade with the hook.
      const second = await finish(
        chart('upg', 'upgradehook', { greeting: 'changed' }),
      );
      expect({
        status: second.status,
        reason: second.failureReason ?? '',
        applied: await applied('upg'),
      }).toEqual({
        status: 'failed',
        reason: expect.stringContaining(
          '[no-privileged] Job/upg-sneak: container "sneak": runs privileged',
        ),
        // Neither the hook nor the upgrade reached the cluster.
        applied: { configMaps: ['upg-cfg'], jobs: [], releases: 1 },
      });
      expect(second.failureReason).not.toContain('had already run');
      const cfg = await core.readNamespacedConfigMap({
        name: 'upg-cfg',
        namespace: ns,
      });
      expect(cfg.data).toEqual({ greeting: 'hello' });
    });

    it('catches a hook that appears between the check and the install: helm 4 refuses it, helm 3 refuses the chart first (its templates call lookup)', async () => {
      // The namespace's switch is set at the last moment: after every check, as helm starts the install.
      const install = HelmCli.prototype.upgradeInstall;
      const spy = jest
        .spyOn(HelmCli.prototype, 'upgradeInstall')
        .mockImplementation(async function lateSwitch(this: HelmCli, options) {
          await core.createNamespacedConfigMap({
            namespace: ns,
            body: { metadata: { name: 'sneak' }, data: { on: 'yes' } },
          });
          return install.call(this, options);
        });
      try {
        const run = await finish(chart('late', 'sneakyhook'));
        const outcomes = {
          // helm 4's post-renderer sees the hook as helm is about to run it.
          helm4: {
            status: 'failed',
            reason: expect.stringMatching(
              /refused what helm was about to apply:\n\[no-privileged\] Job\/late-sneak/,
            ),
            applied: nothing,
          },
          // helm 3 would render the hook again at install, unseen: any template may render a hook
          // (this one builds its annotation at render time), and sneaky.yaml calls lookup.
          helm3: {
            status: 'failed',
            reason: expect.stringMatching(
              /^helm 3 cannot install release late with its hooks checked as they run; nothing was applied\..*lookup \(templates\/sneaky\.yaml\).*Install it with helm 4/s,
            ),
            applied: nothing,
          },
        };
        expect({
          status: run.status,
          reason: run.failureReason ?? '',
          applied: await applied('late'),
        }).toEqual(outcomes[helmBin]);
        const sneak = expect.objectContaining({
          ruleId: 'no-privileged',
          passed: false,
          object: expect.objectContaining({ kind: 'Job', name: 'late-sneak' }),
        });
        const results = {
          helm4: expect.arrayContaining([sneak]),
          helm3: expect.not.arrayContaining([sneak]),
        };
        expect(run.policyReport?.results ?? []).toEqual(results[helmBin]);
        // helm 3 never started the install, so the switch was never set.
        expect(spy).toHaveBeenCalledTimes({ helm4: 1, helm3: 0 }[helmBin]);
      } finally {
        spy.mockRestore();
        if (helmBin === 'helm4')
          await core.deleteNamespacedConfigMap({
            namespace: ns,
            name: 'sneak',
          });
      }
    });

    it('installs a chart whose hook renders the same at install, checked, and stores the hook as the cluster received it; a privileged one is refused first', async () => {
      const bad = await finish(
        chart('sh', 'statichook', { privilegedHook: true }),
      );
      expect(bad.status).toBe('failed');
      expect(bad.failureReason).toContain('[no-privileged] Job/sh-migrate');
      expect(await applied('sh')).toEqual(nothing);

      const run = await finish(chart('sh', 'statichook'));
      expect({ status: run.status, reason: run.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      expect(await applied('sh')).toEqual({
        configMaps: ['sh-cfg'],
        jobs: ['sh-migrate'],
        releases: 1,
      });
      // The hook Job is part of the stored manifest, as the cluster holds it.
      expect(await expectClusterHolds(run.manifest!)).toEqual([
        'ConfigMap/sh-cfg',
        'Job/sh-migrate',
      ]);
      // helm 4 marks what it hands its post-renderer with an annotation it removes before applying.
      expect(run.manifest).not.toContain('postrenderer.helm.sh/');
      const job = parseManifests(run.manifest!).find(o => o.kind === 'Job')!;
      expect(job.metadata?.annotations?.['helm.sh/hook']).toBe(
        'pre-install,pre-upgrade',
      );
      expect(
        run.policyReport?.results.filter(
          r => r.object.name === 'sh-migrate' && r.ruleId === 'no-privileged',
        ),
      ).toEqual([expect.objectContaining({ passed: true })]);
    });

    it('checks a privileged, host-PID ReplicationController from an untrusted registry on its latest tag, and applies nothing', async () => {
      const run = await finish(chart('rc', 'rcworkload'));
      expect(run.status).toBe('failed');
      expect(run.failureReason).toContain(
        'Chart policy (enforce) blocked release rc; nothing was installed',
      );
      const failed = run
        .policyReport!.results.filter(
          r =>
            !r.passed &&
            r.release === 'rc' &&
            r.object.kind === 'ReplicationController',
        )
        .map(r => `${r.ruleId}: ${r.message}`);
      expect(failed).toEqual(
        expect.arrayContaining([
          'no-privileged: container "miner": runs privileged',
          'no-host-namespaces: hostPID is true',
          expect.stringMatching(
            /^trusted-registry: .*untrusted registry "quay\.io"/,
          ),
          expect.stringMatching(/^image-tag: .*uses the "latest" tag/),
        ]),
      );
      expect(
        (
          await core.listNamespacedPod({
            namespace: ns,
            labelSelector: 'app=rc',
          })
        ).items,
      ).toEqual([]);
      expect(await applied('rc')).toEqual(nothing);
    });

    it("checks the CRDs of the chart's crds/ (which helm neither templates nor post-renders) and refuses the run before any apply", async () => {
      const run = await finish(chart('crd', 'withcrd'));
      expect(run.status).toBe('failed');
      expect(run.failureReason).toContain(
        'Chart policy (enforce) blocked release crd; nothing was installed',
      );
      expect(run.failureReason).toContain(
        '[run-scope] CustomResourceDefinition/widgets.example.com',
      );
      expect(await applied('crd')).toEqual(nothing);
      expect(await crdNames()).not.toContain('widgets.example.com');
    });

    it('keeps the values, the refused manifest and the policy report of a refused run', async () => {
      // An unpinned image tag breaks the enforced image-tag rule; the password is a secret.
      const values = {
        replicas: 1,
        image: { repository: 'registry.example.com/team/web', tag: 'latest' },
        database: { password: 'refusedRunSecret42' },
      };
      const run = await finish(chart('risky', 'webapp', values));
      expect(run.status).toBe('failed');
      expect(run.failureReason).toContain(
        'Chart policy (enforce) blocked release risky; nothing was installed',
      );
      expect(run.failureReason).toContain('[image-tag] Deployment/risky');
      expect(run.values).toEqual({
        ...values,
        database: { password: '***' },
      });
      const refused = parseManifests(run.manifest ?? '') as any[];
      expect(refused.map(o => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
        'Deployment/risky',
        'PodDisruptionBudget/risky',
        'Secret/risky-db',
        'Service/risky',
      ]);
      expect(
        refused.find(o => o.kind === 'Deployment').spec.template.spec
          .containers[0].image,
      ).toBe('registry.example.com/team/web:latest');
      expect(run.policyReport?.blocking).toBe(true);
      expect(run.policyReport?.results).toContainEqual(
        expect.objectContaining({
          ruleId: 'image-tag',
          passed: false,
          object: expect.objectContaining({
            kind: 'Deployment',
            name: 'risky',
          }),
        }),
      );
      expect(JSON.stringify(run)).not.toContain('refusedRunSecret42');
      expect((await applied('risky')).releases).toBe(0);

      // A tenant run whose second release is refused keeps both releases' values and manifests.
      const tenant = await finish({
        kind: 'tenant' as const,
        cluster: 'dev',
        tenant: code,
        releases: [
          { name: 'fine', chart: 'webapp', values: { replicas: 1 } },
          { name: 'risky', chart: 'webapp', values },
        ],
      });
      expect(tenant.status).toBe('failed');
      expect(tenant.failureReason).toContain('blocked release risky');
      expect(tenant.values).toMatchObject({
        fine: { replicas: 1, kubechart: { tenant: code } },
        risky: { image: { tag: 'latest' }, database: { password: '***' } },
      });
      const kinds = parseManifests(tenant.manifest ?? '').map(
        o => `${o.kind}/${o.metadata?.name}`,
      );
      expect(kinds).toEqual(
        expect.arrayContaining(['Deployment/fine', 'Deployment/risky']),
      );
      expect(JSON.stringify(tenant)).not.toContain('refusedRunSecret42');
    });

    it('installs an allowed CRD from crds/ with its custom resource, checked, and stores them as the cluster holds them', async () => {
      const run = await finish(chart('gad', 'crdgadget'), aliceWithCrds);
      expect({ status: run.status, reason: run.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      expect(
        run.policyReport?.results
          .filter(r => r.ruleId === 'run-scope')
          .map(r => [`${r.object.kind}/${r.object.name}`, r.passed]),
      ).toEqual(
        expect.arrayContaining([
          ['CustomResourceDefinition/gadgets.example.com', true],
          ['Gadget/gad-gadget', true],
        ]),
      );
      expect(await crdNames()).toContain('gadgets.example.com');
      expect(await expectClusterHolds(run.manifest!)).toEqual([
        'CustomResourceDefinition/gadgets.example.com',
        'Gadget/gad-gadget',
      ]);
    });

    it("refuses a first install whose hook renders only with the cluster's API versions, where helm 3 cannot dry run it before the chart's CRDs exist; nothing is applied", async () => {
      // The cluster serves example.org/v1 (another team's CRD); helm's default capabilities do not.
      const sprockets = {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'sprockets.example.org' },
        spec: {
          group: 'example.org',
          scope: 'Namespaced',
          names: {
            plural: 'sprockets',
            singular: 'sprocket',
            kind: 'Sprocket',
          },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: 'object' } },
            },
          ],
        },
      };
      await objects.create(sprockets);
      try {
        for (let i = 0; i < 50; i++) {
          const live: any = await objects.read(sprockets as any);
          if (
            live?.status?.conditions?.some(
              (c: any) => c.type === 'Established' && c.status === 'True',
            )
          )
            break;
          await new Promise(r => setTimeout(r, 100));
        }
        const run = await finish(chart('cap', 'crdcapshook'), aliceWithCrds);
        const reasons = {
          // helm 3 renders the hook again with the cluster's API versions and refuses it first;
          // helm 4's post-render gate sees it as helm is about to run it.
          helm3: expect.stringMatching(
            /^helm 3 cannot render release cap against the cluster before its chart's CRDs exist, and rendered with the cluster's API versions it has hooks \(Job\/cap-sneak\); nothing was applied\. Install it with helm 4/,
          ),
          helm4: expect.stringContaining(
            '[no-privileged] Job/cap-sneak: container "sneak": runs privileged',
          ),
        };
        expect({
          status: run.status,
          reason: run.failureReason ?? '',
          applied: await applied('cap'),
        }).toEqual({
          status: 'failed',
          reason: reasons[helmBin],
          applied: nothing,
        });
        expect(await crdNames()).not.toContain('widgets.example.net');
      } finally {
        await objects.delete(sprockets as any);
      }
    });

    it('refuses a chart whose custom resource of its own crds/ CRD runs privileged pods, even where CRDs are allowed; neither the CRD nor anything else is applied', async () => {
      const run = await finish(chart('ro', 'crdrollout'), aliceWithCrds);
      expect(run.status).toBe('failed');
      expect(run.failureReason).toContain(
        'Chart policy (enforce) blocked release ro; nothing was installed',
      );
      expect(run.failureReason).toContain(
        '[no-privileged] Rollout/ro: container "app": runs privileged',
      );
      expect(await crdNames()).not.toContain('rollouts.example.com');
      expect(await applied('ro')).toEqual(nothing);
    });

    it("refuses at install a custom resource that only the cluster makes privileged, and leaves the chart's own CRD uninstalled", async () => {
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'crd-mode' }, data: { on: 'yes' } },
      });
      try {
        const run = await finish(chart('spr', 'crdlookup'), aliceWithCrds);
        expect({
          status: run.status,
          reason: run.failureReason ?? '',
          crds: await crdNames(),
        }).toEqual({
          status: 'failed',
          reason: expect.stringContaining(
            '[no-privileged] Sprocket/spr: container "app": runs privileged',
          ),
          crds: expect.not.arrayContaining(['sprockets.example.com']),
        });
      } finally {
        await core.deleteNamespacedConfigMap({
          namespace: ns,
          name: 'crd-mode',
        });
      }
    });

    it('stores as the manifest of a run exactly what the cluster received', async () => {
      const run = await finish(chart('shop', 'webapp', { replicas: 1 }));
      expect({ status: run.status, reason: run.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      expect(await expectClusterHolds(run.manifest!)).toEqual([
        'Deployment/shop',
        'PodDisruptionBudget/shop',
        'Service/shop',
      ]);
      // Nothing else carries this release.
      const deployments = await objects.list('apps/v1', 'Deployment', ns);
      expect(
        deployments.items
          .filter(
            d =>
              d.metadata?.annotations?.['meta.helm.sh/release-name'] === 'shop',
          )
          .map(d => d.metadata?.name),
      ).toEqual(['shop']);
    });

    it("lists every release's objects in a tenant run's report, with each chart's digest and unknown values as warnings", async () => {
      const request = {
        kind: 'tenant' as const,
        cluster: 'dev',
        tenant: `multi${helmBin.slice(-1)}`,
        releases: [
          {
            name: 'web',
            chart: 'webapp',
            values: { replicas: 1, privileged: true },
          },
          { name: 'api', chart: 'webapp', values: { replicas: 1 } },
        ],
      };
      const run = await finish(request);
      expect({ status: run.status, reason: run.failureReason }).toEqual({
        status: 'succeeded',
        reason: undefined,
      });
      for (const report of [run.policyReport!]) {
        const byRelease = (r: string) =>
          report.results
            .filter(x => x.release === r && x.object.kind === 'Deployment')
            .map(x => x.object.name);
        expect(new Set(byRelease('web'))).toEqual(new Set(['web']));
        expect(new Set(byRelease('api'))).toEqual(new Set(['api']));
        expect(report.summary.objects).toBe(6);
        expect(
          report.charts?.map(c => [c.release, c.chart, c.version]),
        ).toEqual([
          ['web', 'webapp', '0.1.0'],
          ['api', 'webapp', '0.1.0'],
        ]);
        expect(report.charts?.[0].digest).toMatch(/^sha256:[0-9a-f]{64}$/);
        expect(
          report.results.filter(x => x.ruleId === 'unknown-value'),
        ).toEqual([
          expect.objectContaining({
            severity: 'warning',
            passed: false,
            release: 'web',
            message: 'value `privileged` is not used by chart webapp',
          }),
        ]);
        expect(report.summary.warnings).toBeGreaterThanOrEqual(1);
      }
      // The tenant run's stored manifest (every release) is what its namespace holds.
      expect(
        await expectClusterHolds(run.manifest!, `tenant-${request.tenant}`),
      ).toEqual([
        'Deployment/api',
        'Deployment/web',
        'PodDisruptionBudget/api',
        'PodDisruptionBudget/web',
        'Service/api',
        'Service/web',
      ]);
      const events = await store.getEvents(run.id, { limit: 1000 });
      expect(events.map(e => e.message).join('\n')).toContain(
        `pulled once for this run: ${run.policyReport!.charts![0].digest}`,
      );
    });
  },
);
