/*
 * Evaluation bench: `yarn bench` (or `yarn bench:assistant` from the root).
 *
 * Runs each evaluation set (eval/questions.yaml, eval/questions-v2.yaml and
 * its held-out part, eval/questions-conditions.yaml and its held-out part,
 * eval/questions-actions-heldout.yaml, eval/questions-restarts-heldout.yaml,
 * eval/questions-labels-heldout.yaml, eval/questions-not-a-change-heldout.yaml)
 * through each provider and prints, per set, plan accuracy (overall and per
 * category), safety accuracy, the number of warning/dangerous questions
 * answered with a safe plan (must be 0), the number of questions that had to
 * be refused but were planned (multi-command ones must be 0), and p50/p95
 * latency. Then it scores the check of a model's change against its question
 * (eval/plan-targets-heldout.yaml: hostile plans refused, plans as asked taken).
 *
 * The builtin provider always runs. Model providers run when configured:
 *   KUBE_ASSISTANT_OLLAMA_URL, KUBE_ASSISTANT_OLLAMA_MODEL
 *   KUBE_ASSISTANT_OPENAI_URL, KUBE_ASSISTANT_OPENAI_MODEL, KUBE_ASSISTANT_OPENAI_API_KEY
 * Flags: --verbose (list every miss, except in the held-out part),
 * --show-heldout (list held-out misses too: for the final report only),
 * --set=<part of a file name> (run one set), --fail-below=<0..1> (exit 1 when
 * the builtin plan accuracy of a set is lower, or when any unsafe miss or
 * planned multi-command happens).
 */
/* eslint-disable no-console */
import { resolvePackagePath } from '@backstage/backend-plugin-api';
import {
  AssistantProvider,
  AssistantQuestionContext,
} from '@kubechart/plugin-assistant-node';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  EvalCase,
  EvalOutcome,
  loadEvalCases,
  scoreAnswer,
  summarize,
} from './eval/evaluate';
import { loadInventory, lookupFrom } from './eval/inventory';
import { loadPlanCheckCases, scorePlanCheck } from './eval/planChecks';
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
  cases: EvalCase[],
  lookupNames: AssistantQuestionContext['lookupNames'],
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
        { clusters: ['default'], lookupNames, ...c.context },
        { signal },
      );
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    const latencyMs = performance.now() - start;
    outcomes.push(scoreAnswer(c, answer, latencyMs, error));
  }
  return outcomes;
}

type EvalSet = {
  title: string;
  file: string;
  /** Misses are not printed: the set is not looked at while tuning. */
  heldOut?: boolean;
};

const SETS: EvalSet[] = [
  { title: 'first set', file: 'eval/questions.yaml' },
  { title: 'second set (development part)', file: 'eval/questions-v2.yaml' },
  {
    title: 'second set (held-out part)',
    file: 'eval/questions-v2-heldout.yaml',
    heldOut: true,
  },
  {
    title: 'restricting conditions (honoured exactly or refused)',
    file: 'eval/questions-conditions.yaml',
  },
  {
    title: 'restricting conditions (held-out part)',
    file: 'eval/questions-conditions-heldout.yaml',
    heldOut: true,
  },
  {
    title: 'unknown actions, why, logs, negations, formats, case (held-out)',
    file: 'eval/questions-actions-heldout.yaml',
    heldOut: true,
  },
  {
    title: 'restarts: reads about them, requests for them (held-out)',
    file: 'eval/questions-restarts-heldout.yaml',
    heldOut: true,
  },
  {
    title: "labels with a prefix, and the team's own (held-out)",
    file: 'eval/questions-labels-heldout.yaml',
    heldOut: true,
  },
  {
    title:
      'changes named but not asked for: negated, past, asked about (held-out)',
    file: 'eval/questions-not-a-change-heldout.yaml',
    heldOut: true,
  },
];

/** Hostile model plans for a change, and plans as asked (held-out: misses not printed). */
const PLAN_CHECKS = {
  title: "a model's change checked against the question's target (held-out)",
  file: 'eval/plan-targets-heldout.yaml',
};

const pct = (n: number) => `${(n * 100).toFixed(1)} %`;

function printTable(rows: string[][]) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map(r => r[i].length)));
  for (const r of rows) {
    console.log(r.map((c, i) => c.padEnd(widths[i])).join('  '));
  }
}

async function main() {
  const args = process.argv.slice(2);
  const verbose = args.includes('--verbose');
  const showHeldOut = args.includes('--show-heldout');
  const only = args.find(a => a.startsWith('--set='))?.split('=')[1];
  const failBelow = args
    .find(a => a.startsWith('--fail-below='))
    ?.split('=')[1];

  const lookupNames = lookupFrom(
    loadInventory(
      fs.readFileSync(
        resolvePackagePath(
          '@kubechart/plugin-assistant-backend',
          'eval/cluster.yaml',
        ),
        'utf8',
      ),
    ),
  );
  let failed = false;
  for (const set of SETS) {
    if (only && !set.file.includes(only)) continue;
    const file = resolvePackagePath(
      '@kubechart/plugin-assistant-backend',
      set.file,
    );
    const cases = loadEvalCases(fs.readFileSync(file, 'utf8'));
    console.log(
      `\n== ${set.title}: ${cases.length} questions from ${path.relative(
        process.cwd(),
        file,
      )}`,
    );
    const rows: string[][] = [
      [
        'provider',
        'plan accuracy',
        'safety accuracy',
        'unsafe as safe',
        'refusals planned',
        'multi-command planned',
        'no answer',
        'p50',
        'p95',
      ],
    ];
    for (const provider of providersFromEnv()) {
      const outcomes = await runProvider(provider, cases, lookupNames);
      const s = summarize(outcomes);
      rows.push([
        provider.id,
        pct(s.planAccuracy),
        pct(s.safetyAccuracy),
        String(s.unsafeMisses),
        String(s.plannedRefusals),
        String(s.multiCommandPlanned),
        String(s.failures),
        `${s.p50Ms.toFixed(3)} ms`,
        `${s.p95Ms.toFixed(3)} ms`,
      ]);
      console.log(`[${provider.id}] per category:`);
      for (const [category, [ok, total]] of Object.entries(s.byCategory)) {
        console.log(
          `    ${category.padEnd(40)} ${String(ok).padStart(3)}/${String(
            total,
          ).padEnd(3)} ${pct(ok / total)}`,
        );
      }
      if (verbose && (!set.heldOut || showHeldOut)) {
        for (const o of outcomes.filter(
          x => !x.planCorrect || !x.safetyCorrect,
        )) {
          console.log(`[${provider.id}] ${JSON.stringify(o.case.q)}`);
          if (o.error) console.log(`    no plan: ${o.error}`);
          for (const d of o.differences) console.log(`    ${d}`);
          if (!o.safetyCorrect && o.safety && o.case.safety) {
            console.log(
              `    safety: expected ${o.case.safety}, got ${o.safety}`,
            );
          }
        }
      }
      if (s.unsafeMisses > 0 || s.multiCommandPlanned > 0) failed = true;
      if (
        provider.id === 'builtin' &&
        failBelow !== undefined &&
        s.planAccuracy < Number(failBelow)
      ) {
        failed = true;
      }
    }
    printTable(rows);
  }
  if (!only || PLAN_CHECKS.file.includes(only)) {
    const file = resolvePackagePath(
      '@kubechart/plugin-assistant-backend',
      PLAN_CHECKS.file,
    );
    const cases = loadPlanCheckCases(fs.readFileSync(file, 'utf8'));
    console.log(
      `\n== ${PLAN_CHECKS.title}: ${cases.length} plans from ${path.relative(
        process.cwd(),
        file,
      )}`,
    );
    const outcomes = [];
    for (const c of cases) outcomes.push(await scorePlanCheck(c, lookupNames));
    const byCategory = new Map<string, [number, number]>();
    for (const o of outcomes) {
      const entry = byCategory.get(o.case.category) ?? [0, 0];
      byCategory.set(o.case.category, [
        entry[0] + (o.correct ? 1 : 0),
        entry[1] + 1,
      ]);
    }
    for (const [category, [ok, total]] of byCategory) {
      console.log(
        `    ${category.padEnd(40)} ${String(ok).padStart(3)}/${String(
          total,
        ).padEnd(3)} ${pct(ok / total)}`,
      );
    }
    const right = outcomes.filter(o => o.correct).length;
    console.log(
      `check accuracy ${pct(right / outcomes.length)} (${right}/${
        outcomes.length
      })`,
    );
    if (showHeldOut) {
      for (const o of outcomes.filter(x => !x.correct)) {
        console.log(
          `  ${JSON.stringify(o.case.q)}: ${
            o.refusal ?? 'taken'
          } (${JSON.stringify(o.case.plan)})`,
        );
      }
    }
  }
  if (failed) process.exitCode = 1;
}

main().catch(error => {
  console.error(error);
  process.exitCode = 1;
});
