/*
 * Evaluation bench: `yarn bench` (or `yarn bench:assistant` from the root).
 *
 * Runs every question of eval/questions.yaml through each provider and
 * prints plan accuracy, safety accuracy, the number of warning/dangerous
 * questions answered with a safe plan (must be 0), and p50/p95 latency.
 *
 * The builtin provider always runs. Model providers run when configured:
 *   KUBE_ASSISTANT_OLLAMA_URL, KUBE_ASSISTANT_OLLAMA_MODEL
 *   KUBE_ASSISTANT_OPENAI_URL, KUBE_ASSISTANT_OPENAI_MODEL, KUBE_ASSISTANT_OPENAI_API_KEY
 * Flags: --verbose (list every miss), --fail-below=<0..1> (exit 1 when the
 * builtin plan accuracy is lower, or when any unsafe miss happens).
 */
/* eslint-disable no-console */
import { resolvePackagePath } from '@backstage/backend-plugin-api';
import { AssistantProvider } from '@kubechart/plugin-assistant-node';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  EvalOutcome,
  loadEvalCases,
  scoreAnswer,
  summarize,
} from './eval/evaluate';
import { BuiltinProvider } from './providers/builtin/BuiltinProvider';
import { OllamaProvider } from './providers/OllamaProvider';
import { OpenAiProvider } from './providers/OpenAiProvider';

function providersFromEnv(): AssistantProvider[] {
  const providers: AssistantProvider[] = [new BuiltinProvider()];
  const env = process.env;
  if (env.KUBE_ASSISTANT_OLLAMA_URL) {
    providers.push(
      new OllamaProvider({
        baseUrl: env.KUBE_ASSISTANT_OLLAMA_URL,
        model: env.KUBE_ASSISTANT_OLLAMA_MODEL ?? 'llama3.1',
      }),
    );
  }
  if (env.KUBE_ASSISTANT_OPENAI_URL) {
    providers.push(
      new OpenAiProvider({
        baseUrl: env.KUBE_ASSISTANT_OPENAI_URL,
        model: env.KUBE_ASSISTANT_OPENAI_MODEL ?? 'gpt-4o-mini',
        apiKey: env.KUBE_ASSISTANT_OPENAI_API_KEY,
      }),
    );
  }
  return providers;
}

async function runProvider(
  provider: AssistantProvider,
  cases: ReturnType<typeof loadEvalCases>,
): Promise<EvalOutcome[]> {
  const outcomes: EvalOutcome[] = [];
  for (const c of cases) {
    const signal = AbortSignal.timeout(60_000);
    const start = performance.now();
    let answer: unknown;
    let error: string | undefined;
    try {
      answer = await provider.plan(
        c.q,
        { clusters: ['default'], ...c.context },
        { signal },
      );
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    const latencyMs = performance.now() - start;
    const outcome = scoreAnswer(c, answer, latencyMs);
    outcomes.push(error ? { ...outcome, error } : outcome);
  }
  return outcomes;
}

async function main() {
  const args = process.argv.slice(2);
  const verbose = args.includes('--verbose');
  const failBelow = args
    .find(a => a.startsWith('--fail-below='))
    ?.split('=')[1];
  const file = resolvePackagePath(
    '@kubechart/plugin-assistant-backend',
    'eval/questions.yaml',
  );
  const cases = loadEvalCases(fs.readFileSync(file, 'utf8'));
  console.log(
    `${cases.length} questions from ${path.relative(process.cwd(), file)}\n`,
  );

  let failed = false;
  const rows: string[][] = [];
  for (const provider of providersFromEnv()) {
    const outcomes = await runProvider(provider, cases);
    const s = summarize(outcomes);
    rows.push([
      provider.id,
      `${(s.planAccuracy * 100).toFixed(1)} %`,
      `${(s.safetyAccuracy * 100).toFixed(1)} %`,
      String(s.unsafeMisses),
      String(s.failures),
      `${s.p50Ms.toFixed(3)} ms`,
      `${s.p95Ms.toFixed(3)} ms`,
    ]);
    if (verbose) {
      for (const o of outcomes.filter(
        x => !x.planCorrect || !x.safetyCorrect,
      )) {
        console.log(`[${provider.id}] ${o.case.q}`);
        if (o.error) console.log(`    error: ${o.error}`);
        for (const d of o.differences) console.log(`    ${d}`);
        if (!o.safetyCorrect && o.safety) {
          console.log(`    safety: expected ${o.case.safety}, got ${o.safety}`);
        }
      }
    }
    if (s.unsafeMisses > 0) failed = true;
    if (
      provider.id === 'builtin' &&
      failBelow !== undefined &&
      s.planAccuracy < Number(failBelow)
    ) {
      failed = true;
    }
  }
  const header = [
    'provider',
    'plan accuracy',
    'safety accuracy',
    'unsafe as safe',
    'no answer',
    'p50',
    'p95',
  ];
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map(r => r[i].length)),
  );
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(line(header));
  for (const r of rows) console.log(line(r));
  if (failed) process.exitCode = 1;
}

main().catch(error => {
  console.error(error);
  process.exitCode = 1;
});
