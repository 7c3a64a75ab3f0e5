import { diagnose, DiagnosisReads } from './diagnose';

describe('diagnose', () => {
  it('scrubs credentials a crashed container printed from the answer and the evidence', async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'billing-api-0', namespace: 'shop' },
      status: {
        phase: 'Running',
        containerStatuses: [
          {
            name: 'api',
            ready: false,
            restartCount: 7,
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: { terminated: { exitCode: 1, reason: 'Error' } },
          },
        ],
      },
    };
    const reads: DiagnosisReads = {
      findOne: async () => pod,
      list: async () => [],
      readLog: async () =>
        [
          'starting',
          'connecting to postgres://app:Pa55-log-L1@db:5432/billing',
          'fatal: auth failed password=Pa55-log-L2',
        ].join('\n'),
    };
    const result = await diagnose(
      {
        verb: 'diagnose',
        resource: 'pods',
        name: 'billing-api-0',
        namespace: 'shop',
      } as any,
      reads,
    );
    const shown = JSON.stringify(result);
    expect(result.answer).toContain('crash-looping');
    expect(result.answer).toContain('password=***');
    expect(shown).toContain('postgres://app:***@db:5432/billing');
    expect(shown).not.toContain('Pa55-log-L1');
    expect(shown).not.toContain('Pa55-log-L2');
  });
});
