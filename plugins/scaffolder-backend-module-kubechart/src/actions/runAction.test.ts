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
  it('links to the entity’s deployment-history tab', () => {
    expect(
      historyUrl(
        { appBaseUrl: 'https://portal.example.com/' },
        'system:default/acme',
      ),
    ).toBe(
      'https://portal.example.com/catalog/default/system/acme/deployment-history',
    );
    expect(historyUrl({ appBaseUrl: 'http://x' }, 'component:payments')).toBe(
      'http://x/catalog/default/component/payments/deployment-history',
    );
    expect(historyUrl({ appBaseUrl: 'http://x' }, undefined)).toBeUndefined();
  });
});
