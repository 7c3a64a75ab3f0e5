import {
  PLAN_FILTERS,
  PLAN_SORT_KEYS,
  PlanFilter,
  PlanResource,
  PlanSortKey,
} from '@kubechart/plugin-assistant-common';
import {
  KubeObject,
  TableRows,
  applyFilter,
  applySort,
  toTable,
} from './tables';

/** A small seeded generator: the same sets on every run. */
function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const RESOURCES: PlanResource[] = [
  'pods',
  'events',
  'nodes',
  'jobs',
  'deployments',
];
const NAMES = [
  'web',
  'Web',
  'api',
  'db-0',
  'db-10',
  'db-2',
  'émile',
  'zeta',
  '',
];

/** Objects that tie often (names, restarts, times), some with fields missing. */
function objects(rand: () => number, count: number): KubeObject[] {
  const pick = <T>(list: T[]) => list[Math.floor(rand() * list.length)];
  // Days ago, so the AGE cells do not change while the test runs.
  const when = () =>
    rand() < 0.1
      ? undefined
      : new Date(Date.UTC(2021, 0, 1 + Math.floor(rand() * 5))).toISOString();
  return Array.from({ length: count }, (_, i) => ({
    metadata: {
      name: rand() < 0.5 ? pick(NAMES) : `${pick(NAMES)}-${i}`,
      namespace: pick(['shop', 'kube-system']),
      creationTimestamp: when(),
    },
    spec: { nodeName: pick(['n1', undefined]), replicas: pick([1, 2]) },
    status: {
      phase: pick(['Running', 'Pending', 'Failed', 'Succeeded']),
      containerStatuses: Array.from({ length: Math.floor(rand() * 3) }, () => ({
        ready: rand() < 0.5,
        restartCount: pick([0, 0, 1, 3]),
        state: pick([{}, { waiting: { reason: 'CrashLoopBackOff' } }]),
      })),
      conditions: [{ type: 'Ready', status: pick(['True', 'False']) }],
      readyReplicas: pick([0, 1, 2]),
    },
    type: pick(['Normal', 'Warning']),
    reason: pick(['Pulled', 'BackOff']),
    message: pick(['ok', 'failed password=hunter2']),
    lastTimestamp: when(),
    involvedObject: { kind: 'Pod', name: pick(NAMES) },
  }));
}

/** The table as it was made from every object read at once: filtered, sorted, cut, then cells. */
function wholeTable(
  resource: PlanResource,
  items: KubeObject[],
  filter: PlanFilter | undefined,
  sortBy: PlanSortKey | undefined,
  withNamespace: boolean,
  max: number,
) {
  const shown = applySort(
    resource,
    applyFilter(resource, items, filter),
    sortBy,
  );
  return {
    ...toTable(resource, shown.slice(0, max), withNamespace),
    matched: shown.length,
  };
}

describe('TableRows', () => {
  it('makes the same table page by page as from every object at once', () => {
    const rand = random(7);
    for (let round = 0; round < 400; round++) {
      const resource = RESOURCES[round % RESOURCES.length];
      const filter =
        rand() < 0.3
          ? undefined
          : PLAN_FILTERS[Math.floor(rand() * PLAN_FILTERS.length)];
      const sortBy =
        rand() < 0.2
          ? undefined
          : PLAN_SORT_KEYS[Math.floor(rand() * PLAN_SORT_KEYS.length)];
      const withNamespace = rand() < 0.5;
      const max = 1 + Math.floor(rand() * 30);
      const items = objects(rand, Math.floor(rand() * 120));
      const table = new TableRows(resource, {
        filter,
        sortBy,
        withNamespace,
        max,
        cellChars: 2000,
      });
      for (let at = 0; at < items.length; ) {
        const size = 1 + Math.floor(rand() * 40);
        table.add(items.slice(at, at + size));
        at += size;
      }
      const expected = wholeTable(
        resource,
        items,
        filter,
        sortBy,
        withNamespace,
        max,
      );
      const context = { round, resource, filter, sortBy, max };
      expect({ ...context, columns: table.columns }).toEqual({
        ...context,
        columns: expected.columns,
      });
      expect({ ...context, matched: table.matched }).toEqual({
        ...context,
        matched: expected.matched,
      });
      expect({
        ...context,
        rows: table.rows().map(row => row.map(cell => cell.start)),
      }).toEqual({ ...context, rows: expected.rows });
    }
  });

  it('holds the cells of at most as many rows as it shows, however many pages it reads', () => {
    const table = new TableRows('pods', {
      sortBy: 'restarts',
      withNamespace: true,
      max: 200,
      cellChars: 2000,
    });
    const rand = random(11);
    let most = 0;
    for (let page = 0; page < 10; page++) {
      table.add(objects(rand, 500));
      most = Math.max(most, table.held);
    }
    expect(table.matched).toBe(5000);
    expect(most).toBe(200);
    expect(table.rows()).toHaveLength(200);
  });

  it('keeps of a long cell what is shown of it, and its length', () => {
    const table = new TableRows('events', {
      withNamespace: false,
      max: 10,
      cellChars: 2000,
    });
    table.add([{ metadata: { name: 'e' }, message: 'm'.repeat(1_000_000) }]);
    const message = table.rows()[0][4];
    expect(message.length).toBe(1_000_000);
    expect(message.start.length).toBeLessThan(20_000);
  });
});
