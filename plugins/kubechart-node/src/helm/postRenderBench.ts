/*
 * Benchmark of the post-render step's share of an install: the 200-object chart of the policy bench
 * installed by real helm 3 and helm 4 (from PATH, as `make bench` sets it) into kube-sim, without and
 * through the post-render gate running the policy; the step itself is timed as the same render with
 * and without it. Prints medians, the step's share of an install and its ratio to the target (< 5 %),
 * and splits the step: what helm itself spends on having a post-renderer at all (the same render
 * through a no-op `cat` post-renderer), the gate's program and round trip on top, the policy check.
 *   yarn workspace @kubechart/plugin-kubechart-node bench
 */
/* eslint-disable no-console */
// The bench is development tooling, like the tests: kube-sim is a dev dependency on purpose.
// eslint-disable-next-line @backstage/no-undeclared-imports
import { startKubeSim } from '@internal/kube-sim';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PolicyEngine, formatPolicyFailures } from '../policy';
import { benchChart } from '../policy/benchChart';
import { HelmCli } from './HelmCli';
import { HelmPostRenderer, startPostRenderGate } from './postRenderGate';

const RUNS = 4;
const RENDERS = 15;
const TARGET_SHARE = 0.05;

const onPath = (bin: string): string | undefined => {
  try {
    return (
      execFileSync('sh', ['-c', `command -v ${bin}`])
        .toString()
        .trim() || undefined
    );
  } catch {
    return undefined;
  }
};
const median = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const since = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e6;

async function writeChart(dir: string) {
  const objects = benchChart();
  await fs.mkdir(path.join(dir, 'templates'), { recursive: true });
  await fs.writeFile(
    path.join(dir, 'Chart.yaml'),
    'apiVersion: v2\nname: bench\nversion: 0.1.0\n',
  );
  await fs.writeFile(
    path.join(dir, 'templates', 'all.yaml'),
    objects.map(o => yaml.dump(o, { noRefs: true })).join('---\n'),
  );
  return objects.length;
}

/** A post-renderer that changes nothing (`cat`): what helm spends on running any post-renderer. */
async function noopPostRenderer(dir: string): Promise<HelmPostRenderer> {
  const cat = onPath('cat');
  if (!cat) throw new Error('cat is not on PATH');
  const pluginDir = path.join(dir, 'noop-plugins', 'noop');
  await fs.mkdir(pluginDir, { recursive: true });
  await fs.writeFile(
    path.join(pluginDir, 'plugin.yaml'),
    `apiVersion: v1\ntype: postrenderer/v1\nname: noop\nversion: 1.0.0\nruntime: subprocess\nruntimeConfig:\n  platformCommand:\n    - command: ${JSON.stringify(
      cat,
    )}\n`,
  );
  return {
    helmArgs: major => ['--post-renderer', major >= 4 ? 'noop' : cat],
    helmEnv: (major): Record<string, string> =>
      major >= 4 ? { HELM_PLUGINS: path.dirname(pluginDir) } : {},
  };
}

async function main() {
  const binaries = ['helm3', 'helm4']
    .map(name => ({ name, path: onPath(name) }))
    .filter((b): b is { name: string; path: string } => !!b.path);
  if (!binaries.length) {
    console.log(
      'post-render share not measured: neither helm3 nor helm4 is on PATH (make bench puts .tools/bin there)',
    );
    process.exitCode = 1;
    return;
  }
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubechart-bench-'));
  const sim = await startKubeSim({ tls: true, podReadyDelayMs: 50 });
  try {
    const count = await writeChart(path.join(dir, 'chart'));
    const kc = new KubeConfig();
    kc.loadFromString(sim.kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    const policy = new PolicyEngine({
      trustedRegistries: ['registry.example.com'],
    });
    console.log(
      `post-render step's share of installing a ${count}-object chart (real helm against kube-sim, ${RUNS} installs each way, medians; load average ${os
        .loadavg()[0]
        .toFixed(1)} on ${os.cpus().length} CPUs)`,
    );
    for (const bin of binaries) {
      const helm = new HelmCli({ binary: bin.path, timeoutMs: 300_000 });
      const plain: number[] = [];
      const gated: number[] = [];
      const checks: number[] = [];
      let n = 0;
      const install = async (withGate: boolean) => {
        const namespace = `bench-${bin.name}-${n++}`;
        await core.createNamespace({ body: { metadata: { name: namespace } } });
        const gate = withGate
          ? await startPostRenderGate({
              check: manifest => {
                const started = process.hrtime.bigint();
                const report = policy.checkYaml(manifest, {
                  scope: {
                    namespaces: [namespace],
                    defaultNamespace: namespace,
                  },
                });
                checks.push(since(started));
                return report.blocking
                  ? { approved: false, reason: formatPolicyFailures(report) }
                  : { approved: true };
              },
            })
          : undefined;
        const started = process.hrtime.bigint();
        try {
          await helm.upgradeInstall({
            release: 'bench',
            chart: path.join(dir, 'chart'),
            namespace,
            kubeconfig: sim.kubeconfig,
            postRenderer: gate,
          });
          return since(started);
        } finally {
          await gate?.close();
          // Its pods would otherwise load kube-sim for every later install.
          await core
            .deleteNamespace({ name: namespace })
            .catch(() => undefined);
        }
      };
      // One of each first, unmeasured: helm's caches and the JIT warm up.
      await install(false);
      await install(true);
      checks.length = 0;
      // Alternating which goes first, so the cluster's growing state weighs on both alike.
      for (let i = 0; i < RUNS; i++) {
        for (const withGate of i % 2 ? [true, false] : [false, true]) {
          (withGate ? gated : plain).push(await install(withGate));
        }
      }
      // The post-render step alone: the same render with and without it (no cluster, less noise).
      const renderPlain: number[] = [];
      const renderGated: number[] = [];
      const renderNoop: number[] = [];
      const noop = await noopPostRenderer(dir);
      const gate = await startPostRenderGate({
        check: manifest => {
          const report = policy.checkYaml(manifest, {
            scope: { namespaces: ['bench'], defaultNamespace: 'bench' },
          });
          return report.blocking
            ? { approved: false, reason: formatPolicyFailures(report) }
            : { approved: true };
        },
      });
      try {
        const variants = [
          { postRenderer: undefined, times: renderPlain },
          { postRenderer: noop, times: renderNoop },
          { postRenderer: gate, times: renderGated },
        ];
        for (let i = 0; i < RENDERS; i++) {
          // Rotating which goes first.
          for (let j = 0; j < variants.length; j++) {
            const { postRenderer, times } = variants[(i + j) % variants.length];
            const started = process.hrtime.bigint();
            await helm.template({
              release: 'bench',
              chart: path.join(dir, 'chart'),
              namespace: 'bench',
              postRenderer,
            });
            times.push(since(started));
          }
        }
      } finally {
        await gate.close();
      }
      const p = median(plain);
      const g = median(gated);
      const c = median(checks);
      const step = median(renderGated) - median(renderPlain);
      const helmOwn = median(renderNoop) - median(renderPlain);
      const pct = (ms: number) => `${((ms / g) * 100).toFixed(1)} %`;
      const share = step / g;
      console.log(
        `  ${bin.name}: install ${g.toFixed(
          0,
        )} ms through the gate (${p.toFixed(0)} ms without; A/B difference ${(
          g - p
        ).toFixed(0)} ms, noisy on a busy machine)`,
      );
      console.log(
        `    post-render step (render with minus without it, ${RENDERS} each): ${step.toFixed(
          0,
        )} ms = ${(share * 100).toFixed(1)} % of the install; target < ${
          TARGET_SHARE * 100
        } %; share/target ${(share / TARGET_SHARE).toFixed(2)}`,
      );
      console.log(
        `    of which the policy check in the gate: p50 ${c.toFixed(1)} ms = ${(
          (c / g) *
          100
        ).toFixed(1)} % of the install`,
      );
      console.log(
        `    of which helm's own handling of a post-renderer (the render through a no-op cat post-renderer minus without): ${helmOwn.toFixed(
          0,
        )} ms = ${pct(
          helmOwn,
        )}; the gate on top of that (starting the post-render program, the socket round trip, the check): ${(
          step - helmOwn
        ).toFixed(0)} ms = ${pct(step - helmOwn)}`,
      );
    }
  } finally {
    await sim.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

main().catch(e => {
  console.error(e);
  process.exitCode = 1;
});
