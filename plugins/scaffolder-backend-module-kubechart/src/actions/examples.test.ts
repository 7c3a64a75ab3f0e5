import type { TemplateAction } from '@backstage/plugin-scaffolder-node';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { Validator } from 'jsonschema';
import yaml from 'js-yaml';
import { FakeKubechartRuns } from '../testing/FakeKubechartRuns';
import {
  createChartInstallAction,
  createChartValidateAction,
  createManifestsApplyAction,
  createTenantDeleteAction,
  createTenantProvisionAction,
} from '.';

const links = { appBaseUrl: 'http://localhost:3000' };

function allActions(runs: FakeKubechartRuns): TemplateAction<any, any>[] {
  return [
    createTenantProvisionAction({ runs, links }),
    createTenantDeleteAction({ runs, links }),
    createChartInstallAction({ runs, links }),
    createChartValidateAction({ runs }),
    createManifestsApplyAction({ runs, links }),
  ];
}

const cases = allActions(new FakeKubechartRuns()).flatMap(action =>
  (action.examples ?? []).map(e => [action.id, e.description] as const),
);

describe('action examples', () => {
  it('every action documents at least one example', () => {
    for (const action of allActions(new FakeKubechartRuns())) {
      expect(action.examples?.length).toBeGreaterThan(0);
    }
  });

  it.each(cases)('%s: %s', async (id, description) => {
    const runs = new FakeKubechartRuns();
    const action = allActions(runs).find(a => a.id === id)!;
    const example = action.examples!.find(e => e.description === description)!;
    const { steps } = yaml.load(example.example) as {
      steps: Array<{ action: string; input: Record<string, unknown> }>;
    };
    for (const step of steps) {
      expect(step.action).toBe(id);
      // The input must satisfy the schema the scaffolder validates templates against...
      const validation = new Validator().validate(
        step.input,
        action.schema!.input!,
      );
      expect(validation.errors).toEqual([]);
      // ...and run against the engine.
      await action.handler(
        createMockActionContext({ input: step.input as any }),
      );
    }
    expect(runs.created.length + runs.previewed.length).toBe(steps.length);
  });
});
