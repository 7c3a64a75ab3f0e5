import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import type { ActionsRegistryService } from '@backstage/backend-plugin-api/alpha';
import type { RunsPage } from '@kubechart/plugin-kubechart-common';
import type { KubechartRunsService } from '@kubechart/plugin-kubechart-node';
import { registerKubechartActions } from './kubechartActions';

/** The `list-runs` action as an agent calls it, over a runs service that answers `page`. */
function listRuns(page: RunsPage) {
  const registered = new Map<string, any>();
  const actionsRegistry = {
    register: (a: any) => registered.set(a.name, a),
  } as unknown as ActionsRegistryService;
  const runs = {
    listRuns: async () => page,
  } as unknown as KubechartRunsService;
  registerKubechartActions({
    actionsRegistry,
    runs,
    config: mockServices.rootConfig(),
  });
  return registered.get('list-runs').action({
    input: {},
    credentials: mockCredentials.user('user:default/alice'),
    logger: mockServices.logger.mock(),
  });
}

const run = {
  id: 'r1',
  kind: 'chart',
  status: 'succeeded',
  actor: 'user:default/alice',
  target: { cluster: 'dev', namespace: 'tenant-a', release: 'web' },
  input: {},
  transitions: [],
  createdAt: '2026-12-05T10:00:00.000Z',
} as RunsPage['items'][number];

describe('kubechart:list-runs', () => {
  it('tells the agent the backend stopped looking, so a page without a cursor does not read as the whole history', async () => {
    const { output } = await listRuns({
      items: [run],
      nextCursor: 'c1',
      truncated: true,
    });
    expect(output).toEqual({
      runs: [expect.objectContaining({ id: 'r1' })],
      nextCursor: 'c1',
      truncated: true,
    });
    expect((await listRuns({ items: [], truncated: true })).output).toEqual({
      runs: [],
      truncated: true,
    });
  });

  it('adds nothing to a page the backend read to its end', async () => {
    expect((await listRuns({ items: [run] })).output).toEqual({
      runs: [expect.objectContaining({ id: 'r1' })],
    });
  });
});
