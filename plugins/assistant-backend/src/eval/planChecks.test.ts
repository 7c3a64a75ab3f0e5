import fs from 'node:fs';
import path from 'node:path';
import { loadInventory, lookupFrom } from './inventory';
import { loadPlanCheckCases, scorePlanCheck } from './planChecks';

const read = (file: string) =>
  fs.readFileSync(path.resolve(__dirname, '../../eval', file), 'utf8');

describe("the held-out set of models' changes checked against their questions", () => {
  // Its score is the bench's (`yarn bench --set=plan-targets`); its misses are not looked at.
  const cases = loadPlanCheckCases(read('plan-targets-heldout.yaml'));

  it('holds hostile plans of every kind of target, and plans as asked, each once', () => {
    expect(cases.filter(c => c.refuse).length).toBeGreaterThanOrEqual(20);
    expect(cases.filter(c => c.take).length).toBeGreaterThanOrEqual(10);
    expect(new Set(cases.map(c => c.category))).toEqual(
      new Set(['selector', 'namespace', 'name', 'kind', 'as asked']),
    );
    const keys = cases.map(c => `${c.q} ${JSON.stringify(c.plan)}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('scores a plan taken as right only when it was to be taken', async () => {
    const lookupNames = lookupFrom(loadInventory(read('cluster.yaml')));
    const plan = {
      verb: 'cordon' as const,
      resource: 'nodes' as const,
      name: 'node-1',
    };
    const taken = await scorePlanCheck(
      { q: 'cordon node-1', category: 'as asked', plan, take: true },
      lookupNames,
    );
    expect(taken).toMatchObject({ correct: true });
    expect(taken.refusal).toBeUndefined();
    const missed = await scorePlanCheck(
      { q: 'cordon node-1', category: 'name', plan, refuse: true },
      lookupNames,
    );
    expect(missed.correct).toBe(false);
  });
});
