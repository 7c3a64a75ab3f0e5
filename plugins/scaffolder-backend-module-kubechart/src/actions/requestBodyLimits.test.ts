/*
 * The kubechart backend reads at most 100,000 values (JSON nodes) in one request body, however the
 * values are split between releases. A step whose request would be over that bound fails at once
 * with a message naming the bound, and sends nothing; a request within it is sent, and the
 * backend's body parser takes it.
 */
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { parseJsonLimited } from '@kubechart/plugin-kubechart-node';
import { FakeKubechartRuns } from '../testing/FakeKubechartRuns';
import { createChartInstallAction } from './chartInstall';
import { createChartValidateAction } from './chartValidate';
import { createTenantProvisionAction } from './tenantProvision';

const links = { appBaseUrl: 'http://localhost:3000' };
const frames = /\n\s+at \S/;

const chartInput = (values: unknown) => ({
  cluster: 'kube-sim',
  namespace: 'shop',
  release: 'web',
  chart: 'kubechart-service',
  values,
});

const tenantInput = (valuesOf: (i: number) => unknown, releases: number) => ({
  cluster: 'kube-sim',
  tenant: 'acme',
  releases: Array.from({ length: releases }, (_, i) => ({
    name: `r${i}`,
    chart: 'kubechart-service',
    values: valuesOf(i),
  })),
});

const actions = {
  install: (runs: FakeKubechartRuns) =>
    createChartInstallAction({ runs, links, pollIntervalMs: 1 }),
  validate: (runs: FakeKubechartRuns) => createChartValidateAction({ runs }),
  tenant: (runs: FakeKubechartRuns) =>
    createTenantProvisionAction({ runs, links, pollIntervalMs: 1 }),
};

async function run(
  action: keyof typeof actions,
  input: unknown,
  dryRun = false,
) {
  const runs = new FakeKubechartRuns();
  const ctx = createMockActionContext({
    input: input as any,
    isDryRun: dryRun,
  });
  const error = await (actions[action](runs).handler as any)(ctx).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  const sent = [...runs.created, ...runs.previewed];
  return { error, sent };
}

/** What the backend does with a body (router.ts): parse it within 100,000 nodes. */
const backendReads = (request: unknown) =>
  parseJsonLimited(JSON.stringify(request), {
    what: 'Request body',
    limits: { maxNodes: 100_000 },
  });

/** Nodes of a value as JSON: every value, keys aside. */
function nodes(value: unknown): number {
  if (value === null || typeof value !== 'object') return 1;
  const children = Array.isArray(value) ? value : Object.values(value);
  return children.reduce((n: number, c) => n + nodes(c), 1);
}

const list = (n: number) => ({ items: Array(n).fill('x') });
const listYaml = (n: number) => `items: [${Array(n).fill('x').join(', ')}]\n`;

describe('a request over the nodes the kubechart backend reads in one body', () => {
  it.each([
    ['install', false],
    ['install', true],
    ['validate', false],
  ] as const)(
    '(values of 120,000 items, %s, dry run %s) fails the step before anything is sent, naming the bound',
    async (action, dryRun) => {
      for (const values of [list(120_000), listYaml(120_000)]) {
        const { error, sent } = await run(action, chartInput(values), dryRun);
        expect(sent).toHaveLength(0);
        expect(error?.name).toBe('InputError');
        expect(error?.message).toMatch(/the limit maxNodes is 100000$/);
        expect(error?.stack).not.toMatch(frames);
      }
    },
  );

  it('is refused when the values of a tenant’s releases are over it together', async () => {
    // 20 releases of 6,000 items: each well within the bound, 120,000 together.
    for (const dryRun of [false, true]) {
      const { error, sent } = await run(
        'tenant',
        tenantInput(() => list(6_000), 20),
        dryRun,
      );
      expect(sent).toHaveLength(0);
      expect(error?.name).toBe('InputError');
      expect(error?.message).toBe(
        'kubechart request refused: more than 100000 nodes as JSON (every value of every release counts), the most the kubechart backend reads in one request body; the limit maxNodes is 100000',
      );
      expect(error?.stack).not.toMatch(frames);
    }
  });

  it('sends a request of exactly 100,000 nodes, which the backend reads, and refuses one more', async () => {
    const empty = await run('install', chartInput(list(0)));
    expect(empty.error).toBeUndefined();
    const overhead = nodes(JSON.parse(JSON.stringify(empty.sent[0])));
    const fits = 100_000 - overhead;

    const at = await run('install', chartInput(list(fits)));
    expect(at.error).toBeUndefined();
    expect(at.sent).toHaveLength(1);
    expect(() => backendReads(at.sent[0])).not.toThrow();

    const over = await run('install', chartInput(list(fits + 1)));
    expect(over.sent).toHaveLength(0);
    expect(over.error?.message).toMatch(/the limit maxNodes is 100000$/);
    // …as the backend would have refused it.
    expect(() =>
      backendReads({ ...(at.sent[0] as object), one: 'more' }),
    ).toThrow('the limit maxNodes is 100000');
  });

  it('is refused when nested deeper than the backend reads once inside the request', async () => {
    // 99 nested objects: within the depth values alone may have (100), 101 inside the request body.
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 98; i++) deep = { n: deep };
    const { error, sent } = await run('install', chartInput(deep));
    expect(sent).toHaveLength(0);
    expect(error?.name).toBe('InputError');
    expect(error?.message).toMatch(/the limit maxDepth is 100$/);
  });

  it('is refused when a tenant’s values are over 5 MiB together', async () => {
    // 6 releases of ~1 MB each: each within 5 MB, the body over the 5 MiB the backend takes.
    const { error, sent } = await run(
      'tenant',
      tenantInput(() => ({ blob: 'y'.repeat(1_000_000) }), 6),
    );
    expect(sent).toHaveLength(0);
    expect(error?.name).toBe('InputError');
    expect(error?.message).toMatch(/the limit maxBytes is 5242880$/);
  });
});
