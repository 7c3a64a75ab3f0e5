/*
 * What a template user notices when the `values` input of a run-starting action is hostile or
 * broken: the step fails at once with a clear reason and nothing is sent to the kubechart engine,
 * and the error the scaffolder writes into the task log (`err.stack`) quotes none of the input.
 */
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { FakeKubechartRuns } from '../testing/FakeKubechartRuns';
import { createChartInstallAction } from './chartInstall';
import { createChartValidateAction } from './chartValidate';
import { createTenantProvisionAction } from './tenantProvision';

const links = { appBaseUrl: 'http://localhost:3000' };

// The scaffolder writes a failed step's `err.stack` into the task log (NunjucksWorkflowRunner).
const frames = /\n\s+at \S/;

/** `levels` levels of anchors, each a list of four aliases of the one before: 4^levels leaves. */
function aliasBomb(levels: number) {
  const lines = ['a0: &a0 [x, x, x, x]'];
  for (let i = 1; i < levels; i++) {
    lines.push(
      `a${i}: &a${i} [*a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}]`,
    );
  }
  return `${lines.join('\n')}\n`;
}

const chartInput = (values: unknown) => ({
  cluster: 'kube-sim',
  namespace: 'shop',
  release: 'web',
  chart: 'kubechart-service',
  values,
});

const tenantInput = (values: unknown) => ({
  cluster: 'kube-sim',
  tenant: 'acme',
  releases: [
    { name: 'db', chart: 'kubechart-postgres' },
    { name: 'web', chart: 'kubechart-service', values },
  ],
});

/** Runs each run-starting action with `values` and returns what it threw and what it sent. */
async function runAll(values: unknown) {
  const out: Array<{
    action: string;
    error: any;
    sent: number;
    logged: string[];
  }> = [];
  const cases = [
    {
      action: 'kubechart:chart:install',
      dryRun: false,
      make: (runs: FakeKubechartRuns) =>
        createChartInstallAction({ runs, links, pollIntervalMs: 1 }),
      input: chartInput(values),
    },
    {
      action: 'kubechart:chart:install (dry run)',
      dryRun: true,
      make: (runs: FakeKubechartRuns) =>
        createChartInstallAction({ runs, links, pollIntervalMs: 1 }),
      input: chartInput(values),
    },
    {
      action: 'kubechart:chart:validate',
      dryRun: false,
      make: (runs: FakeKubechartRuns) => createChartValidateAction({ runs }),
      input: chartInput(values),
    },
    {
      action: 'kubechart:tenant:provision',
      dryRun: false,
      make: (runs: FakeKubechartRuns) =>
        createTenantProvisionAction({ runs, links, pollIntervalMs: 1 }),
      input: tenantInput(values),
    },
  ];
  for (const c of cases) {
    const runs = new FakeKubechartRuns();
    const ctx = createMockActionContext({
      input: c.input as any,
      isDryRun: c.dryRun,
    });
    const logged: string[] = [];
    for (const level of ['info', 'warn', 'error', 'debug'] as const) {
      jest
        .spyOn(ctx.logger, level)
        .mockImplementation((message: any, meta?: any) => {
          logged.push(`${String(message)} ${meta ? JSON.stringify(meta) : ''}`);
          return ctx.logger;
        });
    }
    const error = await (c.make(runs).handler as any)(ctx).then(
      () => undefined,
      (e: unknown) => e,
    );
    out.push({
      action: c.action,
      error,
      sent: runs.created.length + runs.previewed.length,
      logged,
    });
  }
  return out;
}

describe('a values YAML string with nested aliases (billion laughs)', () => {
  it('is refused before anything is sent, naming the limit it breaks', async () => {
    // 10 levels: 323 bytes of YAML, 4^10 leaves once the request is serialised (~75 MB).
    const bomb = aliasBomb(10);
    expect(bomb.length).toBeLessThan(400);
    for (const r of await runAll(bomb)) {
      expect({ action: r.action, sent: r.sent }).toEqual({
        action: r.action,
        sent: 0,
      });
      expect(r.error?.name).toBe('InputError');
      // 4^10 nodes once the aliases are expanded: over the bound the kubechart backend puts on a body.
      expect(r.error?.message).toMatch(
        /^values (of release web )?refused: more than \d+ nodes once aliases are expanded; the limit maxNodes is \d+$/,
      );
      expect(r.error?.stack).not.toMatch(frames);
    }
  });

  it('is refused also when one large string is aliased over and over', async () => {
    // ~6 MB once expanded, from ~600 KB of text: more than the 5 MB a request may bring.
    const big = 'y'.repeat(600_000);
    const values = `s: &s ${big}\nl: [${Array(10).fill('*s').join(', ')}]\n`;
    for (const r of await runAll(values)) {
      expect({ action: r.action, sent: r.sent }).toEqual({
        action: r.action,
        sent: 0,
      });
      expect(r.error?.name).toBe('InputError');
      // Counted as it is read: refused at the alias that takes it past the largest text a request
      // may bring, before it is expanded.
      expect(r.error?.message).toMatch(
        /^values.* refused: more than \d+ characters in its keys and strings once aliases are expanded; the limit maxExpandedChars is \d+$/,
      );
    }
  });

  it('still takes anchors and aliases in ordinary values', async () => {
    const values = 'common: &c {tier: web}\na: *c\nb: *c\n';
    for (const r of await runAll(values)) {
      expect({ action: r.action, error: r.error, sent: r.sent }).toEqual({
        action: r.action,
        error: undefined,
        sent: 1,
      });
    }
  });
});

describe('values given as an object', () => {
  it('are refused before anything is sent when nested deeper than the backend takes', async () => {
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 150; i++) deep = { n: deep };
    for (const r of await runAll(deep)) {
      expect({ action: r.action, sent: r.sent }).toEqual({
        action: r.action,
        sent: 0,
      });
      expect(r.error?.name).toBe('InputError');
      expect(r.error?.message).toMatch(/^values.* refused: .*maxDepth/);
    }
  });

  it('pass through as they are', async () => {
    const values = { image: { tag: '1.2.3' }, replicas: 2 };
    const runs = new FakeKubechartRuns();
    const action = createChartInstallAction({ runs, links, pollIntervalMs: 1 });
    await (action.handler as any)(
      createMockActionContext({ input: chartInput(values) as any }),
    );
    expect(runs.created[0]).toMatchObject({ release: { values } });
  });
});

describe('a values YAML string that is not valid YAML', () => {
  const secret = 'Sup3rS3cretValue';

  const broken = {
    'bad indentation': `db:\n  password: ${secret}\n   user: admin\n`,
    'unclosed flow sequence': `db:\n  password: ${secret}\n  hosts: [a, b\n`,
    'a password read as a tag': `db:\n  password: !${secret}\n`,
    'a password read as an alias': `db:\n  password: *${secret}\n`,
  };

  it.each(Object.entries(broken))(
    '(%s) fails the step with the reason and position only: no input text in the message or the task log',
    async (_, values) => {
      for (const r of await runAll(values)) {
        expect({ action: r.action, sent: r.sent }).toEqual({
          action: r.action,
          sent: 0,
        });
        expect(r.error?.name).toBe('InputError');
        expect(r.error?.message).toMatch(
          /^values (of release web )?are not valid YAML: [^\n]+ \(line \d+, column \d+\)/,
        );
        // What the scaffolder writes into the task log: the message alone, no frames, no snippet.
        expect(r.error?.stack).toBe(`InputError: ${r.error?.message}`);
        expect(String(r.error?.stack)).not.toContain(secret);
        expect(String(r.error?.stack)).not.toContain('password');
        expect(r.logged.join('\n')).not.toContain(secret);
      }
    },
  );

  it('says where the error is', async () => {
    const [r] = await runAll(`db:\n  password: ${secret}\n   user: admin\n`);
    expect(r.error?.message).toMatch(/\(line 3, column \d+\)/);
  });

  it('suggests quoting a value read as a tag or an alias', async () => {
    const [r] = await runAll(`db:\n  password: !${secret}\n`);
    expect(r.error?.message).toMatch(
      /unknown tag; quote a value that starts with !, & or \* \(line \d+, column \d+\)$/,
    );
  });
});
