import { KubeSim } from '@internal/kube-sim';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PolicyEngine, formatPolicyFailures, parseManifests } from '../policy';
import { HelmCli, HelmCommandError } from './HelmCli';
import { PostRenderDecision, startPostRenderGate } from './postRenderGate';
import { startHelmSim, which } from '../__testUtils__/helmCluster';

jest.setTimeout(120_000);

const charts = path.resolve(__dirname, '../__fixtures__/charts');
const policy = new PolicyEngine({
  trustedRegistries: ['registry.example.com'],
});

/** The engine's use of the gate: the policy judges what helm is about to send, blocking refuses. */
const policyCheck =
  (namespace: string) =>
  (manifest: string): PostRenderDecision => {
    const report = policy.checkYaml(manifest, {
      scope: { namespaces: [namespace], defaultNamespace: namespace },
    });
    return report.blocking
      ? {
          approved: false,
          reason: `chart policy refused:\n${formatPolicyFailures(report)}`,
        }
      : { approved: true };
  };

describe.each(['helm3', 'helm4'])(
  'post-render gate with real %s against kube-sim',
  bin => {
    let sim: KubeSim;
    let core: CoreV1Api;
    let apps: AppsV1Api;
    const helm = new HelmCli({ binary: which(bin) });
    const ns = `pr-${bin}`;

    beforeAll(async () => {
      ({ sim, core, apps } = await startHelmSim(ns));
    });
    afterAll(() => sim.stop());

    it('refuses at install a chart whose lookup turns on privileged only against the cluster; nothing is applied', async () => {
      const chart = path.join(charts, 'lookup-privileged');
      // Offline, the chart looks harmless: the pre-install render the policy used to check passes.
      const offline = await helm.template({
        release: 'sneaky',
        chart,
        namespace: ns,
      });
      expect(policy.checkYaml(offline).blocking).toBe(false);

      const gate = await startPostRenderGate({ check: policyCheck(ns) });
      try {
        const failure = await helm
          .upgradeInstall({
            release: 'sneaky',
            chart,
            namespace: ns,
            kubeconfig: sim.kubeconfig,
            postRenderer: gate,
          })
          .then(
            () => undefined,
            e => e,
          );
        expect(failure).toBeInstanceOf(HelmCommandError);
        expect(failure.message).toMatch(/post.?render/i);
        // helm 3 shows the post-renderer's stderr; helm 4 does not, so HelmCli appends the gate's reason.
        expect(failure.message).toMatch(
          /no-privileged.*Deployment\/sneaky-sneaky: container "app": runs privileged/,
        );
        expect(gate.approved).toEqual([]);
        expect(gate.refusals).toHaveLength(1);
        expect(gate.refusals[0]).toContain(
          '[no-privileged] Deployment/sneaky-sneaky: container "app": runs privileged',
        );
      } finally {
        await gate.close();
      }
      expect(
        (await apps.listNamespacedDeployment({ namespace: ns })).items,
      ).toEqual([]);
      expect(
        (await core.listNamespacedConfigMap({ namespace: ns })).items.map(
          c => c.metadata?.name,
        ),
      ).not.toContain('sneaky-cfg');
      // No release was recorded either.
      expect(
        await helm.status({
          release: 'sneaky',
          namespace: ns,
          kubeconfig: sim.kubeconfig,
        }),
      ).toBeUndefined();
    });

    it('installs what the gate approved, byte for byte what the cluster received', async () => {
      const gate = await startPostRenderGate({
        check: manifest => {
          const decision = policyCheck(ns)(manifest);
          // The gate may also change what is sent (e.g. a label); the cluster must get exactly that.
          return decision.approved
            ? {
                approved: true,
                manifest: manifest.replace(
                  /greeting: hello/,
                  'greeting: checked',
                ),
              }
            : decision;
        },
      });
      try {
        await helm.upgradeInstall({
          release: 'hooked',
          chart: path.join(charts, 'hooked'),
          namespace: ns,
          kubeconfig: sim.kubeconfig,
          postRenderer: gate,
        });
        expect(gate.approved).toHaveLength(1);
        const sent = parseManifests(gate.approved[0]);
        const cm = sent.find(o => o.kind === 'ConfigMap')!;
        const live = await core.readNamespacedConfigMap({
          name: 'hooked-cfg',
          namespace: ns,
        });
        expect(live.data).toEqual(cm.data);
        expect(live.data).toEqual({ greeting: 'checked' });
        // helm 4 post-renders hooks too; helm 3 does not (its hooks need a separate check by the caller).
        const sentKinds = sent.map(o => o.kind).sort();
        expect(sentKinds).toEqual(
          bin === 'helm4' ? ['ConfigMap', 'Job'] : ['ConfigMap'],
        );
      } finally {
        await gate.close();
      }
    });

    it(`${
      bin === 'helm4' ? 'refuses' : 'cannot see'
    } a privileged hook Job (helm 4 post-renders hooks, helm 3 does not)`, async () => {
      const gate = await startPostRenderGate({ check: policyCheck(ns) });
      try {
        const result = await helm
          .template({
            release: 'hooked2',
            chart: path.join(charts, 'hooked'),
            namespace: ns,
            values: { privilegedHook: true },
            postRenderer: gate,
          })
          .then(
            () => 'rendered',
            e => e,
          );
        const outcome = result instanceof HelmCommandError ? 'refused' : result;
        expect(outcome).toBe(bin === 'helm4' ? 'refused' : 'rendered');
        expect(
          gate.refusals.map(r =>
            r.includes('[no-privileged] Job/hooked2-migrate'),
          ),
        ).toEqual(bin === 'helm4' ? [true] : []);
        expect(gate.approved.join('\n')).not.toContain('kind: Job');
      } finally {
        await gate.close();
      }
    });
  },
);

describe('post-render gate, failing closed', () => {
  const run = (
    exe: string,
    args: string[],
    input: string,
    env: NodeJS.ProcessEnv = process.env,
  ) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>(
      resolve => {
        const child = execFile(exe, args, { env }, (err, stdout, stderr) =>
          resolve({ code: err ? (err as any).code ?? 1 : 0, stdout, stderr }),
        );
        child.stdin!.end(input);
      },
    );
  const executableOf = (gate: { helmArgs(m: number): string[] }) =>
    gate.helmArgs(3)[1];
  const argsOf = (gate: { helmArgs(m: number): string[] }) => [
    gate.helmArgs(3)[3],
    gate.helmArgs(3)[5],
  ];

  it('passes approved manifests through and refuses with the reason', async () => {
    let verdict: PostRenderDecision = { approved: true };
    const gate = await startPostRenderGate({ check: () => verdict });
    try {
      const ok = await run(
        executableOf(gate),
        argsOf(gate),
        'kind: ConfigMap\n',
      );
      expect(ok).toMatchObject({ code: 0, stdout: 'kind: ConfigMap\n' });
      verdict = { approved: false, reason: 'policy says no' };
      const no = await run(
        executableOf(gate),
        argsOf(gate),
        'kind: ConfigMap\n',
      );
      expect(no.code).not.toBe(0);
      expect(no.stdout).toBe('');
      expect(no.stderr).toContain('policy says no');
    } finally {
      await gate.close();
    }
  });

  it('refuses a wrong token, an oversized input and a check that throws', async () => {
    const gate = await startPostRenderGate({
      maxBytes: 1000,
      check: m => {
        if (m.includes('boom')) throw new Error('parser exploded');
        return { approved: true };
      },
    });
    try {
      const [socket] = argsOf(gate);
      expect(
        (await run(executableOf(gate), [socket, 'not-the-token'], 'a: 1\n'))
          .stderr,
      ).toContain("did not present this run's token");
      expect(
        (await run(executableOf(gate), argsOf(gate), 'x'.repeat(5000))).stderr,
      ).toContain('larger than 1000 bytes');
      const thrown = await run(executableOf(gate), argsOf(gate), 'boom');
      expect(thrown.code).not.toBe(0);
      expect(thrown.stderr).toContain(
        'the policy check failed: parser exploded',
      );
      expect(gate.approved).toEqual([]);
    } finally {
      await gate.close();
    }
  });

  it('refuses a rendered object larger than the API server stores, naming the per-document limit, before the check', async () => {
    const checked: string[] = [];
    const gate = await startPostRenderGate({
      labels: { 'kubechart.io/tenant': 'acme' },
      check: m => {
        checked.push(m);
        return { approved: true };
      },
    });
    try {
      // What `extraObjects` rendered through `tpl` can make of user values: one 2.2 MB ConfigMap.
      const big = [
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata: { name: big }',
        'data:',
        ...Array.from({ length: 200_000 }, (_, i) => `  k${i.toString(36)}: v`),
        '',
      ].join('\n');
      const refused = await run(executableOf(gate), argsOf(gate), big);
      expect(refused.code).not.toBe(0);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toContain(
        'Rendered manifests refused: the document starting on line 1 is larger than 1572864 bytes; the limit maxDocumentBytes is 1572864',
      );
      expect(checked).toEqual([]);
      expect(gate.approved).toEqual([]);
    } finally {
      await gate.close();
    }
  });

  it('fails when the backend is gone, and leaves nothing behind on close', async () => {
    const gate = await startPostRenderGate({
      check: () => ({ approved: true }),
    });
    const exe = executableOf(gate);
    const dir = path.dirname(exe);
    expect((await fs.stat(dir)).mode & 0o777).toBe(0o700);
    const plugin = await fs.readFile(
      path.join(
        gate.helmEnv(4).HELM_PLUGINS,
        'kubechart-policy',
        'plugin.yaml',
      ),
      'utf8',
    );
    expect(plugin).toContain('type: postrenderer/v1');
    const copy = path.join(
      path.dirname(dir),
      `${path.basename(dir)}-client.cjs`,
    );
    await fs.copyFile(path.join(dir, 'post-render.cjs'), copy);
    const args = argsOf(gate);
    await gate.close();
    await expect(fs.stat(dir)).rejects.toThrow();
    try {
      const r = await run(process.execPath, [copy, ...args], 'a: 1\n');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('not reachable');
    } finally {
      await fs.rm(copy, { force: true });
    }
  });

  it('refuses an answer cut short (the backend stopped while answering): helm gets nothing', async () => {
    const gate = await startPostRenderGate({
      check: () => ({ approved: true }),
    });
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubechart-pr-test-'));
    const client = path.join(dir, 'client.cjs');
    await fs.copyFile(
      path.join(path.dirname(executableOf(gate)), 'post-render.cjs'),
      client,
    );
    await gate.close();
    // A backend that announces 100 bytes of approved manifests, sends 12 and closes.
    let answer = '{"ok":true,"bytes":100}\nkind: Secret';
    const server = net.createServer({ allowHalfOpen: true }, socket => {
      socket.on('data', () => undefined);
      socket.on('end', () => socket.end(answer));
    });
    const socketPath = path.join(dir, 's.sock');
    await new Promise<void>(resolve => server.listen(socketPath, resolve));
    try {
      const cut = await run(
        process.execPath,
        [client, socketPath, 't'],
        'a: 1\n',
      );
      expect(cut.code).not.toBe(0);
      expect(cut.stdout).toBe('');
      expect(cut.stderr).toContain('sent 12 of 100 bytes; nothing was applied');
      // An approval that does not say how long it is is not trusted either.
      answer = '{"ok":true}\nkind: Secret';
      const unsized = await run(
        process.execPath,
        [client, socketPath, 't'],
        'a: 1\n',
      );
      expect(unsized.code).not.toBe(0);
      expect(unsized.stdout).toBe('');
    } finally {
      await new Promise(resolve => server.close(resolve));
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it("does not pass the backend's NODE_OPTIONS to the post-renderer", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubechart-pr-test-'));
    // What a backend started with a --require hook (instrumentation, a transpiler) hands to helm.
    const hook = path.join(dir, 'hook.cjs');
    const marker = path.join(dir, 'hook-ran');
    await fs.writeFile(
      hook,
      `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'x');`,
    );
    const gate = await startPostRenderGate({
      check: () => ({ approved: true }),
    });
    try {
      const r = await run(
        executableOf(gate),
        argsOf(gate),
        'kind: ConfigMap\n',
        {
          ...process.env,
          NODE_OPTIONS: `--require ${hook}`,
        },
      );
      expect(r).toMatchObject({ code: 0, stdout: 'kind: ConfigMap\n' });
      await expect(fs.stat(marker)).rejects.toThrow();
    } finally {
      await gate.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
