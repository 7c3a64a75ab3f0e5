import { planSchema } from '@kubechart/plugin-assistant-common';
import yaml from 'js-yaml';
import { z } from 'zod';
import { candidateNames } from '../providers/builtin/BuiltinProvider';
import { KnownObject } from '../providers/builtin/names';
import { refusalOfChangeNotAsked } from '../providers/builtin/parseQuestion';

/**
 * One case of a set that scores the check of another provider's plan against its question: the
 * question, the plan a model answered with, and whether the check must refuse it or take it.
 */
const planCheckCaseSchema = z
  .object({
    q: z.string().min(1),
    category: z.string().min(1),
    context: z
      .object({
        namespace: z.string().optional(),
        labelSelector: z.string().optional(),
      })
      .optional(),
    plan: planSchema,
    refuse: z.literal(true).optional(),
    take: z.literal(true).optional(),
  })
  .strict()
  .refine(c => !!c.refuse !== !!c.take, 'give one of refuse and take');

export type PlanCheckCase = z.infer<typeof planCheckCaseSchema>;

/** Parses a YAML set of plan-check cases. */
export function loadPlanCheckCases(text: string): PlanCheckCase[] {
  return z.array(planCheckCaseSchema).parse(yaml.load(text));
}

/** What the check made of one case. */
export type PlanCheckOutcome = {
  case: PlanCheckCase;
  /** The refusal, when the check refused the plan. */
  refusal?: string;
  correct: boolean;
};

/**
 * Runs the check the backend runs on every provider's plan of a change (AssistantService), with
 * the names the question's words find in the cluster (`lookupNames`), and scores it: a plan to
 * refuse is refused with a reason, a plan to take is taken.
 */
export async function scorePlanCheck(
  c: PlanCheckCase,
  lookupNames: (words: string[]) => Promise<KnownObject[]>,
): Promise<PlanCheckOutcome> {
  const refusal = refusalOfChangeNotAsked(c.q, c.plan, {
    ...c.context,
    known: await lookupNames(candidateNames(c.q)),
  })?.message;
  return {
    case: c,
    ...(refusal ? { refusal } : {}),
    correct: c.refuse
      ? !!refusal && /^I understood that .+, but .+\.$/s.test(refusal)
      : !refusal,
  };
}
