/*
 * Benchmark of the chart policy: the time to check a 200-object chart with every built-in rule.
 *   yarn workspace @kubechart/plugin-kubechart-node bench
 * Prints figures and the ratio to the target (< 50 ms, so a post-render check adds < 5 % to an install).
 */
/* eslint-disable no-console */
import yaml from 'js-yaml';
import os from 'node:os';
import { PolicyEngine } from './PolicyEngine';
import { benchChart as chart } from './benchChart';
import { PolicyScope } from './types';

const TARGET_MS = 50;

/**
 * Wall-clock and CPU time (this process's user + system time, which other processes on a busy
 * machine do not inflate) of `fn`, p50 and p95. The process does nothing else while it measures.
 */
function measure(
  fn: () => unknown,
  runs = 40,
): { p50: number; p95: number; cpuP50: number } {
  for (let i = 0; i < 5; i++) fn(); // warm-up (JIT)
  const samples: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const cpuStart = process.cpuUsage();
    const started = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - started) / 1e6);
    const used = process.cpuUsage(cpuStart);
    cpu.push((used.user + used.system) / 1e3);
  }
  samples.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  return {
    p50: samples[Math.floor(samples.length / 2)],
    p95: samples[Math.ceil(samples.length * 0.95) - 1],
    cpuP50: cpu[Math.floor(cpu.length / 2)],
  };
}

function main() {
  const objects = chart();
  const text = objects.map(o => yaml.dump(o, { noRefs: true })).join('---\n');
  const engine = new PolicyEngine({
    trustedRegistries: ['registry.example.com'],
  });
  const scope: PolicyScope = {
    namespaces: ['team-a'],
    defaultNamespace: 'team-a',
  };
  const report = engine.check(objects, { scope });
  const rules = measure(() => engine.check(objects, { scope }));
  const withParse = measure(() => engine.checkYaml(text, { scope }));
  console.log(
    `policy check of a ${objects.length}-object chart: ${
      engine.listRules().length
    } rules, ${report.results.length} results`,
  );
  console.log(
    `  rules:             p50 ${rules.p50.toFixed(
      2,
    )} ms, p95 ${rules.p95.toFixed(
      2,
    )} ms; target < ${TARGET_MS} ms; p50/target ${(
      rules.p50 / TARGET_MS
    ).toFixed(2)}`,
  );
  console.log(
    `  rules, CPU time:   p50 ${rules.cpuP50.toFixed(2)} ms; p50/target ${(
      rules.cpuP50 / TARGET_MS
    ).toFixed(2)} (machine load average ${os.loadavg()[0].toFixed(1)} on ${
      os.cpus().length
    } CPUs: wall time above ${
      os.loadavg()[0] > os.cpus().length
        ? 'is inflated by other processes'
        : 'is representative'
    })`,
  );
  console.log(
    `  with YAML parsing: p50 ${withParse.p50.toFixed(
      2,
    )} ms, p95 ${withParse.p95.toFixed(2)} ms (${(text.length / 1024).toFixed(
      0,
    )} KiB, bounded parser)`,
  );
  if (report.summary.errors !== 0) {
    console.log(
      `  unexpected: the benchmark chart has ${report.summary.errors} errors`,
    );
    process.exitCode = 1;
  }
}

main();
