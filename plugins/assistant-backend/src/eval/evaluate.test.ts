import fs from 'node:fs';
import path from 'node:path';
import {
  loadEvalCases,
  planDifferences,
  scoreAnswer,
  summarize,
} from './evaluate';
import { BuiltinProvider } from '../providers/builtin/BuiltinProvider';

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
