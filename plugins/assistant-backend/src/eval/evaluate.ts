import {
  Plan,
  SafetyLevel,
  classifySafety,
  planAnswerSchema,
} from '@kubechart/plugin-assistant-common';
import yaml from 'js-yaml';
import { z } from 'zod';

/** One question of the evaluation set. */
export type EvalCase = {
  q: string;
  context?: { namespace?: string; labelSelector?: string };
  expect: Partial<Plan>;
  safety: SafetyLevel;
};

const evalCaseSchema = z.object({
  q: z.string().min(1),
  context: z
    .object({
      namespace: z.string().optional(),
      labelSelector: z.string().optional(),
    })
    .optional(),
  expect: z.record(z.unknown()),
  safety: z.enum(['safe', 'warning', 'dangerous']),
});

/** Parses the YAML evaluation set. */
export function loadEvalCases(text: string): EvalCase[] {
  const data = yaml.load(text);
  return z.array(evalCaseSchema).parse(data) as EvalCase[];
}

// The fields that decide whether a plan answers the question. `command`
// (what exec runs) and `explanation` are free-form and not compared.
const COMPARED: Array<keyof Plan> = [
  'verb',
  'resource',
  'name',
  'namespace',
  'allNamespaces',
  'labelSelector',
  'fieldSelector',
  'filter',
  'sortBy',
  'limit',
  'output',
  'container',
  'tailLines',
  'previous',
  'rolloutAction',
  'replicas',
  'labels',
  'annotations',
];

function normalize(plan: Partial<Plan>): Partial<Plan> {
  const out: Partial<Plan> = { ...plan };
  // `kubectl events` and `kubectl get events` are the same question.
  if (out.verb === 'events') out.verb = 'get';
  if (out.allNamespaces === false) delete out.allNamespaces;
  if (out.previous === false) delete out.previous;
  if (out.resource === 'events' && !out.sortBy) out.sortBy = 'time';
  return out;
}

/** The fields where `actual` differs from `expected`. */
export function planDifferences(
  expected: Partial<Plan>,
  actual: Plan,
): string[] {
  const e = normalize(expected);
  const a = normalize(actual);
  return COMPARED.filter(
    key => JSON.stringify(e[key]) !== JSON.stringify(a[key]),
  ).map(
    key =>
      `${key}: expected ${JSON.stringify(e[key])}, got ${JSON.stringify(
        a[key],
      )}`,
  );
}

/** What one provider did with one question. */
export type EvalOutcome = {
  case: EvalCase;
  plan?: Plan;
  error?: string;
  latencyMs: number;
  planCorrect: boolean;
  safety?: SafetyLevel;
  safetyCorrect: boolean;
  /** A warning or dangerous question answered with a safe plan. */
  unsafeMiss: boolean;
  differences: string[];
};

/** Scores one provider answer. */
export function scoreAnswer(
  evalCase: EvalCase,
  answer: unknown,
  latencyMs: number,
): EvalOutcome {
  const parsed = planAnswerSchema.safeParse(answer);
  if (!parsed.success) {
    return {
      case: evalCase,
      error: 'answer is not a valid plan',
      latencyMs,
      planCorrect: false,
      safetyCorrect: false,
      unsafeMiss: false,
      differences: [],
    };
  }
  const plan = parsed.data.plan;
  const differences = planDifferences(evalCase.expect, plan);
  const safety = classifySafety(plan).level;
  return {
    case: evalCase,
    plan,
    latencyMs,
    planCorrect: differences.length === 0,
    safety,
    safetyCorrect: safety === evalCase.safety,
    unsafeMiss: evalCase.safety !== 'safe' && safety === 'safe',
    differences,
  };
}

/** Totals for one provider. */
export type EvalSummary = {
  total: number;
  planAccuracy: number;
  safetyAccuracy: number;
  unsafeMisses: number;
  failures: number;
  p50Ms: number;
  p95Ms: number;
};

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(
    sorted.length - 1,
    Math.ceil((p / 100) * sorted.length) - 1,
  );
  return sorted[Math.max(0, index)];
}

export function summarize(outcomes: EvalOutcome[]): EvalSummary {
  const latencies = outcomes.map(o => o.latencyMs).sort((a, b) => a - b);
  const total = outcomes.length;
  return {
    total,
    planAccuracy: outcomes.filter(o => o.planCorrect).length / total,
    safetyAccuracy: outcomes.filter(o => o.safetyCorrect).length / total,
    unsafeMisses: outcomes.filter(o => o.unsafeMiss).length,
    failures: outcomes.filter(o => o.error).length,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
  };
}
