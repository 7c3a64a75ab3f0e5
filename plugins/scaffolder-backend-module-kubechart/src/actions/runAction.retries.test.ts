import type {
  ActionContext,
  TemplateAction,
} from '@backstage/plugin-scaffolder-node';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { FakeKubechartRuns } from '../testing/FakeKubechartRuns';
import { createChartInstallAction } from './chartInstall';
import { createTenantProvisionAction } from './tenantProvision';

const links = { appBaseUrl: 'http://localhost:3000' };

/** What one iteration of a step did: its outputs in order, and the lines it logged at info level. */
type Iteration = { outputs: Array<[string, unknown]>; logs: string[] };

/**
 * The scaffolder's persisted task state as NunjucksWorkflowRunner uses it for `ctx.checkpoint`: the
 * state is read once when a step starts, keys are prefixed with `v1.task.checkpoint.<stepId>.`, a
 * checkpoint whose function succeeded stores its value, and when the step runs again (the scaffolder
 * recovered the task after a restart, or a user pressed Retry) the stored value is returned instead
 * of running the function. The state outlives each run of the step, as the task's does.
 */
class FakeTaskState {
  readonly checkpoints = new Map<string, unknown>();

  /**
   * Runs a step once, as the scaffolder does, with one iteration per input (a step with `each:`
   * has several). `stopAfter` ends the run after that many iterations, as a scaffolder restart in
   * the middle of the step does. Rejects with an iteration's error, as the step then fails;
   * `iterations` holds what each iteration did so far.
   */
  async runStep(
    action: TemplateAction<any, any, any>,
    step: {
      id: string;
      inputs: Array<Record<string, unknown>>;
      stopAfter?: number;
      iterations?: Iteration[];
    },
  ): Promise<Iteration[]> {
    // Read once per step: iterations of one run do not see each other's checkpoints.
    const saved = new Map(this.checkpoints);
    const iterations = step.iterations ?? [];
    for (const input of step.inputs.slice(0, step.stopAfter)) {
      const iteration: Iteration = { outputs: [], logs: [] };
      iterations.push(iteration);
      const mock = createMockActionContext({ input: input as any });
      jest.spyOn(mock.logger, 'info').mockImplementation((message: any) => {
        iteration.logs.push(String(message));
        return mock.logger;
      });
      const ctx: ActionContext<any, any> = {
        ...mock,
        step: { id: step.id, name: step.id },
        output: (name: string, value: unknown) => {
          iteration.outputs.push([name, value]);
        },
        checkpoint: async ({ key, fn }: { key: string; fn: () => any }) => {
          const fullKey = `v1.task.checkpoint.${step.id}.${key}`;
          if (saved.has(fullKey)) return saved.get(fullKey) as any;
          const value = await fn();
          this.checkpoints.set(fullKey, value ?? {});
          return value;
        },
      };
      await action.handler(ctx);
    }
    return iterations;
  }
}

/** The last value an iteration output under `name`. */
function output(iteration: Iteration, name: string) {
  const values = iteration.outputs.filter(([n]) => n === name);
  return values[values.length - 1]?.[1];
}

describe('a kubechart step that runs again', () => {
  // `each: ${{ parameters.charts }}` over three releases into one namespace.
  const inputs = ['db', 'api', 'web'].map(release => ({
    cluster: 'kube-sim',
    namespace: 'tenant-acme',
    release,
    chart: `kubechart-${release}`,
  }));

  it('gives every iteration of an each: step its own run after a scaffolder restart', async () => {
    const runs = new FakeKubechartRuns();
    const action = createChartInstallAction({ runs, links });
    const state = new FakeTaskState();

    // The scaffolder restarts after the second chart is installed; on recovery the step runs again.
    await state.runStep(action, { id: 'install', inputs, stopAfter: 2 });
    const recovered = await state.runStep(action, { id: 'install', inputs });

    // Every chart got a run, and each iteration reports the run of its own release.
    expect(
      runs.created.map(r => (r.kind === 'chart' ? r.release.name : '')),
    ).toEqual(['db', 'api', 'web']);
    const reported = recovered.map(i => output(i, 'runId') as string);
    expect(reported).toEqual(['run-1', 'run-2', 'run-3']);
    expect(recovered.map(i => output(i, 'status'))).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
    ]);
  });

  it('submits the approved plan of each iteration’s own run after a scaffolder restart', async () => {
    const runs = new FakeKubechartRuns();
    runs.approval = {
      polls: 0,
      resubmit: true,
      decisions: [
        { by: 'user:default/bob', decision: 'approve', comment: 'CHG-7' },
      ],
    };
    const action = createChartInstallAction({
      runs,
      links,
      pollIntervalMs: 1,
      approvalPollIntervalMs: 1,
    });
    const state = new FakeTaskState();

    // The first chart's approved plan was submitted; then the scaffolder restarted.
    await state.runStep(action, { id: 'install', inputs, stopAfter: 1 });
    const recovered = await state.runStep(action, { id: 'install', inputs });

    expect(runs.executed.map(e => e.id)).toEqual(['run-1', 'run-2', 'run-3']);
    expect(recovered.map(i => output(i, 'status'))).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
    ]);
  });

  it('starts a new run when Retry finds the run it started failed, and follows that one after', async () => {
    const runs = new FakeKubechartRuns();
    const action = createChartInstallAction({ runs, links });
    const state = new FakeTaskState();
    const step = { id: 'install', inputs: [inputs[0]] };

    runs.outcome = { status: 'failed', failureReason: 'image pull back-off' };
    await expect(state.runStep(action, step)).rejects.toThrow(
      'kubechart run run-1 failed: image pull back-off',
    );

    // Retry: the cause is still there.
    let iterations: Iteration[] = [];
    await expect(
      state.runStep(action, { ...step, iterations }),
    ).rejects.toThrow('kubechart run run-2 failed: image pull back-off');
    expect(iterations[0].logs).toContain(
      'kubechart run run-1 (chart) failed when this step ran before (image pull back-off); starting a new run',
    );
    expect(iterations[0].logs).toContain('kubechart run run-2 started (chart)');
    expect(iterations[0].logs).not.toContain(
      'kubechart run run-1 started (chart)',
    );

    // Retry once the cause is fixed: the step converges.
    runs.outcome = { status: 'succeeded' };
    iterations = await state.runStep(action, step);
    expect(runs.created).toHaveLength(3);
    expect(output(iterations[0], 'runId')).toBe('run-3');
    expect(output(iterations[0], 'status')).toBe('succeeded');
    expect(iterations[0].logs).toContain('kubechart run run-3 started (chart)');

    // A recovery after that follows the run that succeeded; nothing new starts.
    iterations = await state.runStep(action, step);
    expect(runs.created).toHaveLength(3);
    expect(output(iterations[0], 'runId')).toBe('run-3');
    expect(iterations[0].logs).toContain(
      'following kubechart run run-3 (chart), started when this step ran before',
    );
    expect(iterations[0].logs.join('\n')).not.toMatch(/started \(chart\)/);
  });

  describe('with another input than when it ran before', () => {
    const chart = (version: string, replicas: number) => ({
      cluster: 'kube-sim',
      namespace: 'tenant-acme',
      release: 'web',
      chart: 'kubechart-service',
      version,
      values: { replicas },
    });
    const sent = (runs: FakeKubechartRuns) =>
      runs.created.map(r =>
        r.kind === 'chart' ? [r.release.version, r.release.values] : [],
      );

    it('starts a run for the new request instead of following the earlier one', async () => {
      const runs = new FakeKubechartRuns();
      const action = createChartInstallAction({ runs, links });
      const state = new FakeTaskState();

      await state.runStep(action, {
        id: 'install',
        inputs: [chart('1.0.0', 1)],
      });
      // Retried with the values an earlier step now renders differently.
      const [retried] = await state.runStep(action, {
        id: 'install',
        inputs: [chart('2.0.0', 5)],
      });

      expect(sent(runs)).toEqual([
        ['1.0.0', { replicas: 1 }],
        ['2.0.0', { replicas: 5 }],
      ]);
      expect(output(retried, 'runId')).toBe('run-2');
      expect(output(retried, 'status')).toBe('succeeded');
      expect(retried.logs).toContain(
        'kubechart run run-1 (chart), started when this step ran before, is not followed: it was started for another request (the step’s input changed since); starting a new run',
      );
      expect(retried.logs).toContain('kubechart run run-2 started (chart)');
      expect(retried.logs.join('\n')).not.toMatch(/following kubechart run/);

      // Each request keeps following its own run; nothing new starts.
      const [again] = await state.runStep(action, {
        id: 'install',
        inputs: [chart('2.0.0', 5)],
      });
      const [first] = await state.runStep(action, {
        id: 'install',
        inputs: [chart('1.0.0', 1)],
      });
      expect(runs.created).toHaveLength(2);
      expect(output(again, 'runId')).toBe('run-2');
      expect(again.logs).toContain(
        'following kubechart run run-2 (chart), started when this step ran before',
      );
      expect(output(first, 'runId')).toBe('run-1');
    });

    it('follows the earlier run when only the order of keys in the values differs', async () => {
      const runs = new FakeKubechartRuns();
      const action = createChartInstallAction({ runs, links });
      const state = new FakeTaskState();
      const input = {
        ...chart('1.0.0', 1),
        values: { a: 1, b: { c: 2, d: 3 } },
      };

      await state.runStep(action, { id: 'install', inputs: [input] });
      const [retried] = await state.runStep(action, {
        id: 'install',
        inputs: [{ ...input, values: { b: { d: 3, c: 2 }, a: 1 } }],
      });

      expect(runs.created).toHaveLength(1);
      expect(output(retried, 'runId')).toBe('run-1');
    });

    it('gives each version of one release in an each: step its own run after a scaffolder restart', async () => {
      const runs = new FakeKubechartRuns();
      const action = createChartInstallAction({ runs, links });
      const state = new FakeTaskState();
      const versions = [chart('1.0.0', 1), chart('2.0.0', 5)];

      await state.runStep(action, {
        id: 'install',
        inputs: versions,
        stopAfter: 1,
      });
      const recovered = await state.runStep(action, {
        id: 'install',
        inputs: versions,
      });

      expect(sent(runs)).toEqual([
        ['1.0.0', { replicas: 1 }],
        ['2.0.0', { replicas: 5 }],
      ]);
      expect(recovered.map(i => output(i, 'runId'))).toEqual([
        'run-1',
        'run-2',
      ]);
    });

    it('starts a new tenant run when the tenant’s releases changed', async () => {
      const runs = new FakeKubechartRuns();
      const action = createTenantProvisionAction({ runs, links });
      const state = new FakeTaskState();
      const tenant = (version: string) => ({
        cluster: 'kube-sim',
        tenant: 'acme',
        releases: [{ name: 'web', chart: 'kubechart-service', version }],
      });

      await state.runStep(action, { id: 'tenant', inputs: [tenant('1.0.0')] });
      const [retried] = await state.runStep(action, {
        id: 'tenant',
        inputs: [tenant('2.0.0')],
      });

      expect(
        runs.created.map(r =>
          r.kind === 'tenant' ? r.releases.map(x => x.version) : [],
        ),
      ).toEqual([['1.0.0'], ['2.0.0']]);
      expect(output(retried, 'runId')).toBe('run-2');
      expect(retried.logs).toContain(
        'kubechart run run-1 (tenant), started when this step ran before, is not followed: it was started for another request (the step’s input changed since); starting a new run',
      );
    });

    it('keeps the values out of checkpoint keys and the task log', async () => {
      const runs = new FakeKubechartRuns();
      const action = createChartInstallAction({ runs, links });
      const state = new FakeTaskState();
      const secret = 'hunter2-db-password';
      const input = (password: string) => ({
        ...chart('1.0.0', 1),
        values: { db: { password } },
      });

      const before = await state.runStep(action, {
        id: 'install',
        inputs: [input(secret)],
      });
      const after = await state.runStep(action, {
        id: 'install',
        inputs: [input(`${secret}-rotated`)],
      });

      expect(runs.created).toHaveLength(2);
      const keys = [...state.checkpoints.keys()];
      const logged = [...before, ...after].flatMap(i => i.logs);
      expect(keys.length).toBeGreaterThan(0);
      for (const text of [...keys, ...logged]) {
        expect(text).not.toContain(secret);
        expect(text).not.toContain('password');
      }
    });
  });
});
