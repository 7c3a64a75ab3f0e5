import type { RunEvent } from '@kubechart/plugin-kubechart-common';
import { logLines, summariseSteps, withoutStackTrace } from './runSteps';

let seq = 0;
function step(
  name: string,
  stepStatus: RunEvent['stepStatus'],
  message = '',
): RunEvent {
  seq += 1;
  return {
    seq,
    runId: 'r',
    at: `2026-01-02T10:00:${String(seq).padStart(2, '0')}Z`,
    type: 'step',
    level: 'info',
    step: name,
    stepStatus,
    message,
  };
}

describe('summariseSteps', () => {
  it('shows each step once, in order, with its final state', () => {
    const events = [
      step('namespace', 'started'),
      step('namespace', 'skipped', 'namespace shop exists'),
      step('release:web', 'started'),
      { ...step('x', 'started'), type: 'log' as const, step: 'release:web' },
      step('release:web', 'succeeded'),
      step('wait', 'started'),
      step('wait', 'succeeded', '2 workload(s) Ready'),
      {
        ...step('', 'started'),
        type: 'status' as const,
        step: undefined,
        stepStatus: undefined,
        message: 'Run succeeded in 3.2s',
      },
    ];
    const steps = summariseSteps(events, 'succeeded');
    expect(steps.map(s => [s.name, s.state, s.message])).toEqual([
      ['namespace', 'skipped', 'namespace shop exists'],
      ['release:web', 'succeeded', undefined],
      ['wait', 'succeeded', '2 workload(s) Ready'],
    ]);
    expect(steps[2].startedAt).toBeDefined();
    expect(steps[2].endedAt).toBeDefined();
  });

  it('marks the step a failed run stopped in as failed, not as still running', () => {
    const steps = summariseSteps(
      [step('namespace', 'started'), step('release:web', 'started')],
      'failed',
    );
    expect(steps.map(s => s.state)).toEqual(['failed', 'failed']);
    expect(
      summariseSteps([step('wait', 'started')], 'running').map(s => s.state),
    ).toEqual(['running']);
  });
});

describe('logLines', () => {
  it('keeps log lines and status changes, drops step transitions', () => {
    const log = { ...step('a', 'started'), type: 'log' as const };
    const status = { ...step('b', 'started'), type: 'status' as const };
    expect(logLines([step('a', 'started'), log, status])).toEqual([
      log,
      status,
    ]);
  });
});

describe('withoutStackTrace', () => {
  it('drops Node stack frames and keeps the message', () => {
    expect(
      withoutStackTrace(
        [
          'Error: kubechart run 42 failed: Chart policy (enforce) blocked release risky',
          '[image-tag] Deployment/risky: image nginx:latest is not pinned',
          '    at startAndFollowRun (/app/node_modules/x/dist/runAction.cjs.js:88:11)',
          '    at async Object.handler (/app/dist/chartInstall.cjs.js:40:5)',
        ].join('\n'),
      ),
    ).toBe(
      'Error: kubechart run 42 failed: Chart policy (enforce) blocked release risky\n' +
        '[image-tag] Deployment/risky: image nginx:latest is not pinned',
    );
  });

  it('keeps indented lines of the reason that only start with "at"', () => {
    const reason = [
      'Error: helm upgrade failed: pre-upgrade hooks failed',
      '  at least one container of job migrate exited 1',
      '    at node-1 the image could not be pulled',
      '    at Object.<anonymous> (/app/dist/index.cjs.js:1:2)',
      '    at node:internal/main/run_main_module:28:49',
    ].join('\n');
    expect(withoutStackTrace(reason)).toBe(
      'Error: helm upgrade failed: pre-upgrade hooks failed\n' +
        '  at least one container of job migrate exited 1\n' +
        '    at node-1 the image could not be pulled',
    );
  });
});
