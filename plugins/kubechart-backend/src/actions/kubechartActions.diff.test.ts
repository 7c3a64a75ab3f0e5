import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import type { ActionsRegistryService } from '@backstage/backend-plugin-api/alpha';
import type { KubechartRunsService } from '@kubechart/plugin-kubechart-node';
import { registerKubechartActions } from './kubechartActions';

/** The `get-run` action as an agent calls it, over a runs service that answers with `diff`. */
function getRun(diff: Record<string, unknown>) {
  const registered = new Map<string, any>();
  const actionsRegistry = {
    register: (a: any) => registered.set(a.name, a),
  } as unknown as ActionsRegistryService;
  const run = {
    id: 'r2',
    kind: 'chart',
    status: 'succeeded',
    actor: 'user:default/alice',
    cluster: 'dev',
    namespace: 'tenant-a',
    createdAt: '2026-12-05T10:00:00Z',
  };
  const runs = {
    getRun: async () => run,
    getRunDiff: async () => ({ from: 'r1', to: 'r2', ...diff }),
  } as unknown as KubechartRunsService;
  registerKubechartActions({
    actionsRegistry,
    runs,
    config: mockServices.rootConfig(),
  });
  const action = registered.get('get-run');
  return action.action({
    input: { runId: 'r2', compareWith: 'r1' },
    credentials: mockCredentials.user('user:default/alice'),
    logger: mockServices.logger.mock(),
  });
}

describe('kubechart:get-run diff', () => {
  it('tells the agent a part was not diffed, so a "diff not shown" line does not read as equal runs', async () => {
    const { output } = await getRun({
      values: '',
      manifest: '# diff not shown: r1 and r2 differ in more than 2000 lines\n',
      notComputed: { manifest: 'the texts differ in more than 2000 lines' },
      hiddenSecrets: 2,
    });
    expect(output.diff).toEqual({
      values: '',
      manifest: '# diff not shown: r1 and r2 differ in more than 2000 lines\n',
      notComputed: { manifest: 'the texts differ in more than 2000 lines' },
      hiddenSecrets: 2,
    });
  });

  it('adds nothing when both parts were diffed and no secret was hidden', async () => {
    const { output } = await getRun({
      values: '-replicas: 1\n+replicas: 2\n',
      manifest: '',
      hiddenSecrets: 0,
    });
    expect(output.diff).toEqual({
      values: '-replicas: 1\n+replicas: 2\n',
      manifest: '',
    });
  });
});
