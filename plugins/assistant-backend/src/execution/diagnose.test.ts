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

  it('hides a secret value the log printed over several lines, not only its first line', async () => {
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
            restartCount: 3,
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
          'loaded config:',
          'password: "Pa55-first-line',
          '  Pa55-second-line"',
          'fatal: auth failed',
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
    expect(shown).not.toContain('Pa55-first-line');
    expect(shown).not.toContain('Pa55-second-line');
    expect(result.evidence).toContain('log: password: "***"');
    expect(result.answer).toContain('fatal: auth failed');
  });

  it('reads a bounded previous log and keeps each line of evidence short', async () => {
    const crashing = {
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
    const mib = 'x'.repeat(1024 * 1024);
    const asked: Array<Parameters<DiagnosisReads['readLog']>[0]> = [];
    const reads: DiagnosisReads = {
      findOne: async () => crashing,
      list: async () => [
        {
          kind: 'Event',
          reason: 'BackOff',
          message: `Back-off restarting failed container ${mib}`,
          lastTimestamp: '2024-01-01T00:00:00Z',
        },
      ],
      // A crash-looping container that printed three lines of 1 MiB each.
      readLog: async options => {
        asked.push(options);
        return [`panic: ${mib}`, `at ${mib}`, `exit ${mib}`].join('\n');
      },
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
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ previous: true, container: 'api' });
    // The cluster sends at most this much, whatever the lines hold.
    expect(asked[0].limitBytes).toBeGreaterThan(0);
    expect(asked[0].limitBytes).toBeLessThanOrEqual(64 * 1024);
    expect(result.evidence.filter(e => e.startsWith('log: '))).toHaveLength(3);
    expect(result.evidence.filter(e => e.startsWith('event '))).toHaveLength(1);
    for (const line of result.evidence) {
      expect(line.length).toBeLessThanOrEqual(400);
    }
    expect(JSON.stringify(result).length).toBeLessThan(5000);
  });

  it('says when it shows only the newest warning events of the pod', async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'billing-api-0', namespace: 'shop' },
      status: { phase: 'Pending' },
    };
    const event = (reason: string, minute: number) => ({
      kind: 'Event',
      type: 'Warning',
      reason,
      message: `${reason} happened`,
      lastTimestamp: `2024-01-01T00:0${minute}:00Z`,
    });
    const diagnosed = (events: object[]) =>
      diagnose(
        {
          verb: 'diagnose',
          resource: 'pods',
          name: 'billing-api-0',
          namespace: 'shop',
        },
        {
          findOne: async () => pod,
          list: async () => events,
          readLog: async () => '',
        },
      );
    const many = await diagnosed([
      event('FailedMount', 1),
      event('FailedScheduling', 5),
      event('BackOff', 2),
      event('Unhealthy', 4),
      event('Evicted', 3),
    ]);
    expect(many.evidence.filter(e => e.startsWith('event '))).toEqual([
      'event FailedScheduling: FailedScheduling happened',
      'event Unhealthy: Unhealthy happened',
      'event Evicted: Evicted happened',
    ]);
    expect(many.steps).toContain(
      'read the warning events of pod billing-api-0: 5, of which the 3 newest are shown',
    );
    const few = await diagnosed([event('FailedMount', 1), event('BackOff', 2)]);
    expect(few.steps).toContain(
      'read the warning events of pod billing-api-0: 2, all shown',
    );
    const none = await diagnosed([]);
    expect(none.steps).toContain(
      'read the warning events of pod billing-api-0: none',
    );
  });

  /** A JSON Web Token written bare, as a registry's token service hands one out. */
  const JWT =
    'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyb2JvdC1wdWxsIn0.c2lnbmVkLWJ5LXRoZS1yZWdpc3RyeQ';

  it("hides credentials the kubelet quotes in a container's waiting message (an image pull)", async () => {
    // The kubelet's message quotes the registry's URL as configured, credentials and token included.
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-7f9c', namespace: 'shop' },
      status: {
        phase: 'Pending',
        containerStatuses: [
          {
            name: 'web',
            ready: false,
            restartCount: 0,
            state: {
              waiting: {
                reason: 'ErrImagePull',
                message: `failed to pull and unpack image "registry.example/shop/web:1.2": failed to resolve reference: pulling from host https://robot:Pa55-pull-secret-5@registry.example/v2/shop/web/manifests/1.2 with token ${JWT}: 401 Unauthorized`,
              },
            },
          },
        ],
      },
    };
    const result = await diagnose(
      {
        verb: 'diagnose',
        resource: 'pods',
        name: 'web-7f9c',
        namespace: 'shop',
      },
      {
        findOne: async () => pod,
        list: async () => [],
        readLog: async () => '',
      },
    );
    const shown = JSON.stringify(result);
    expect(result.answer).toContain(
      'pod web-7f9c cannot pull the image of container web (ErrImagePull: failed to pull and unpack image "registry.example/shop/web:1.2"',
    );
    expect(result.answer).toContain(
      'https://robot:***@registry.example/v2/shop/web/manifests/1.2',
    );
    expect(shown).not.toContain('Pa55-pull-secret-5');
    expect(shown).not.toContain('eyJzdWIiOiJyb2JvdC1wdWxsIn0');
    expect(shown).not.toContain('c2lnbmVkLWJ5LXRoZS1yZWdpc3RyeQ');
  });

  it('hides credentials in every other text of the cluster it quotes: conditions, reasons, events', async () => {
    const secretUrl = (n: number) =>
      `https://hook:Pa55-quoted-${n}@admission.example/validate`;
    const pending = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-0', namespace: 'shop' },
      status: {
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            message: `0/3 nodes are available: admission webhook ${secretUrl(
              1,
            )} denied the request (token ${JWT})`,
          },
        ],
      },
    };
    const failed = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'job-0', namespace: 'shop' },
      status: { phase: 'Failed', reason: `Evicted by ${secretUrl(2)}` },
    };
    const oom = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'api-0', namespace: 'shop' },
      status: {
        phase: 'Running',
        containerStatuses: [
          {
            name: 'api',
            ready: false,
            restartCount: 2,
            state: { waiting: { reason: `Backoff ${secretUrl(3)}` } },
            lastState: {
              terminated: { exitCode: 137, reason: `Killed ${secretUrl(4)}` },
            },
          },
        ],
      },
    };
    const events = [
      {
        kind: 'Event',
        type: 'Warning',
        reason: `FailedCreate ${secretUrl(5)}`,
        message: `webhook ${secretUrl(6)} said no`,
        lastTimestamp: '2024-01-01T00:00:00Z',
      },
    ];
    for (const pod of [pending, failed, oom]) {
      const result = await diagnose(
        {
          verb: 'diagnose',
          resource: 'pods',
          name: pod.metadata.name,
          namespace: 'shop',
        },
        {
          findOne: async () => pod,
          list: async () => events,
          readLog: async () => '',
        },
      );
      const shown = JSON.stringify(result);
      expect({ pod: pod.metadata.name, shown }).toEqual({
        pod: pod.metadata.name,
        shown: expect.stringContaining('https://hook:***@admission.example'),
      });
      expect(shown).not.toMatch(/Pa55-quoted-\d/);
      expect(shown).not.toContain('eyJzdWIiOiJyb2JvdC1wdWxsIn0');
    }
  });
});
