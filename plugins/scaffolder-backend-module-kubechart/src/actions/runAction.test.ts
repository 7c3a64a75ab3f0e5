import type { RunEvent } from '@kubechart/plugin-kubechart-common';
import { formatRunEvent, historyUrl } from './runAction';

const event = (e: Partial<RunEvent>): RunEvent => ({
  seq: 1,
  runId: 'r',
  at: '2026-01-01T00:00:00Z',
  type: 'log',
  level: 'info',
  message: '',
  ...e,
});

describe('formatRunEvent', () => {
  it('keeps release log lines as they are, prefix included', () => {
    expect(
      formatRunEvent(event({ message: '[web] installed revision 1' })),
    ).toBe('[web] installed revision 1');
  });

  it('names the step and its status once', () => {
    expect(
      formatRunEvent(
        event({
          type: 'step',
          step: 'wait',
          stepStatus: 'started',
          message: 'wait: started',
        }),
      ),
    ).toBe('wait: started');
    expect(
      formatRunEvent(
        event({
          type: 'step',
          step: 'quota',
          stepStatus: 'skipped',
          message: 'already as wanted',
        }),
      ),
    ).toBe('quota: skipped — already as wanted');
    expect(
      formatRunEvent(
        event({ type: 'step', step: 'namespace', stepStatus: 'succeeded' }),
      ),
    ).toBe('namespace: succeeded');
  });
});

describe('historyUrl', () => {
  it('links, relative to the app, to the entity’s deployment-history tab, opened on the run when known', () => {
    expect(historyUrl('system:default/acme')).toBe(
      '/catalog/default/system/acme/deployment-history',
    );
    expect(historyUrl('component:payments', 'run/1 a')).toBe(
      '/catalog/default/component/payments/deployment-history?run=run%2F1%20a',
    );
    expect(historyUrl(undefined, 'run-1')).toBeUndefined();
  });
});
