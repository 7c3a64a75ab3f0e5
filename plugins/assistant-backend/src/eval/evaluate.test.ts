import fs from 'node:fs';
import path from 'node:path';
import {
  loadEvalCases,
  planDifferences,
  scoreAnswer,
  summarize,
} from './evaluate';
import { BuiltinProvider } from '../providers/builtin/BuiltinProvider';
import { loadInventory, lookupFrom } from './inventory';

const read = (file: string) =>
  fs.readFileSync(path.resolve(__dirname, '../../eval', file), 'utf8');

describe('evaluation set', () => {
  const cases = loadEvalCases(
    fs.readFileSync(
      path.resolve(__dirname, '../../eval/questions.yaml'),
      'utf8',
    ),
  );

  it('has at least 150 questions with valid expectations', () => {
    expect(cases.length).toBeGreaterThanOrEqual(150);
    expect(new Set(cases.map(c => c.q)).size).toBe(cases.length);
  });

  it('scores a wrong plan as wrong and an unsafe miss as such', () => {
    const evalCase = cases.find(c => c.safety === 'dangerous')!;
    const outcome = scoreAnswer(
      evalCase,
      { plan: { verb: 'get', resource: 'pods' }, explanation: 'x' },
      1,
    );
    expect(outcome.planCorrect).toBe(false);
    expect(outcome.unsafeMiss).toBe(true);
    expect(scoreAnswer(evalCase, 'nonsense', 1).error).toBe(
      'answer is not a valid plan',
    );
    expect(
      planDifferences(
        { verb: 'get', resource: 'events' },
        { verb: 'events', resource: 'events', sortBy: 'time' },
      ),
    ).toEqual([]);
  });

  it('meets the builtin targets: ≥90 % plans, no unsafe misses', async () => {
    const provider = new BuiltinProvider();
    const outcomes = [];
    for (const c of cases) {
      const start = performance.now();
      let answer: unknown;
      try {
        answer = await provider.plan(c.q, { clusters: [], ...c.context });
      } catch {
        answer = undefined;
      }
      outcomes.push(scoreAnswer(c, answer, performance.now() - start));
    }
    const summary = summarize(outcomes);
    expect(summary.unsafeMisses).toBe(0);
    expect(summary.planAccuracy).toBeGreaterThanOrEqual(0.9);
    expect(summary.safetyAccuracy).toBeGreaterThanOrEqual(0.95);
  });
});

describe('second evaluation set (development part)', () => {
  const cases = loadEvalCases(read('questions-v2.yaml'));
  const lookupNames = lookupFrom(loadInventory(read('cluster.yaml')));

  it('covers every category with enough dangerous and multi-command questions', () => {
    expect(cases.length).toBeGreaterThanOrEqual(150);
    expect(new Set(cases.map(c => c.q)).size).toBe(cases.length);
    expect(
      cases.filter(c => c.safety === 'dangerous').length,
    ).toBeGreaterThanOrEqual(30);
    expect(
      cases.filter(c => c.category === 'multi-command').length,
    ).toBeGreaterThanOrEqual(15);
    expect(new Set(cases.map(c => c.category))).toEqual(
      new Set([
        'reads',
        'mutation-verbs',
        'unexpressible',
        'synonyms-numbers',
        'typos',
        'names-vocabulary',
        'object-not-scope',
        'resources',
        'multi-command',
        'diagnosis',
        'scope',
      ]),
    );
  });

  it('meets the targets: ≥95 % plans, no unsafe misses, no multi-command planned, every refusal explained', async () => {
    const provider = new BuiltinProvider();
    const outcomes = [];
    for (const c of cases) {
      let answer: unknown;
      let error: string | undefined;
      try {
        answer = await provider.plan(c.q, {
          clusters: [],
          lookupNames,
          ...c.context,
        });
      } catch (e) {
        error = (e as Error).message;
      }
      outcomes.push(scoreAnswer(c, answer, 0, error));
    }
    const summary = summarize(outcomes);
    expect(summary.unsafeMisses).toBe(0);
    expect(summary.multiCommandPlanned).toBe(0);
    expect(summary.planAccuracy).toBeGreaterThanOrEqual(0.95);
    for (const o of outcomes.filter(x => x.case.refuse && !x.plan)) {
      expect(o.error).toMatch(
        /^(I understood that .+, but .+\.|One request at a time: .+|This question holds instructions aimed at the assistant)/,
      );
    }
  });
});

describe('restricting conditions: honoured exactly or refused, never dropped', () => {
  const cases = loadEvalCases(read('questions-conditions.yaml'));
  const lookupNames = lookupFrom(loadInventory(read('cluster.yaml')));

  it('plans or refuses every question as labelled, and says which words it could not apply', async () => {
    expect(
      cases.filter(c => c.category.startsWith('conditions')).length,
    ).toBeGreaterThanOrEqual(15);
    expect(
      cases.filter(c => c.category.startsWith('ordinary')).length,
    ).toBeGreaterThanOrEqual(15);
    const provider = new BuiltinProvider();
    const misses: string[] = [];
    for (const c of cases) {
      let answer: unknown;
      let error: string | undefined;
      try {
        answer = await provider.plan(c.q, {
          clusters: [],
          lookupNames,
          ...c.context,
        });
      } catch (e) {
        error = (e as Error).message;
      }
      const outcome = scoreAnswer(c, answer, 0, error);
      if (!outcome.planCorrect || !outcome.safetyCorrect) {
        misses.push(`${c.q}: ${outcome.differences.join('; ') || error}`);
      }
      if (
        c.refuse &&
        error &&
        !/^I understood that .+, but .+\. Nothing was planned\.$/.test(error)
      ) {
        misses.push(`${c.q}: refused without saying why: ${error}`);
      }
    }
    expect(misses).toEqual([]);
  });
});
