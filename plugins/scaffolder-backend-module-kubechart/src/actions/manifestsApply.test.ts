import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { createMockDirectory } from '@backstage/backend-test-utils';
import { FakeKubechartRuns } from '../testing/FakeKubechartRuns';
import { createManifestsApplyAction } from './manifestsApply';

const links = { appBaseUrl: 'http://localhost:3000' };
const yamlText = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n';

describe('kubechart:manifests:apply', () => {
  const workspace = createMockDirectory();

  it('applies a workspace file written by an earlier step', async () => {
    workspace.setContent({ 'out/manifests.yaml': yamlText });
    const runs = new FakeKubechartRuns();
    const ctx = createMockActionContext({
      workspacePath: workspace.path,
      input: {
        cluster: 'kube-sim',
        namespace: 'shop',
        path: 'out/manifests.yaml',
      },
    });
    await createManifestsApplyAction({ runs, links }).handler(ctx);
    expect(runs.created).toEqual([
      expect.objectContaining({
        kind: 'manifests',
        namespace: 'shop',
        manifests: yamlText,
      }),
    ]);
  });

  it('refuses a path outside the workspace and starts nothing', async () => {
    const runs = new FakeKubechartRuns();
    const ctx = createMockActionContext({
      workspacePath: workspace.path,
      input: {
        cluster: 'kube-sim',
        namespace: 'shop',
        path: '../../etc/passwd',
      },
    });
    await expect(
      createManifestsApplyAction({ runs, links }).handler(ctx),
    ).rejects.toThrow(/outside/i);
    expect(runs.created).toHaveLength(0);
  });

  it('needs exactly one of manifests and path', async () => {
    const runs = new FakeKubechartRuns();
    const ctx = createMockActionContext({
      input: {
        cluster: 'kube-sim',
        namespace: 'shop',
        manifests: yamlText,
        path: 'x.yaml',
      },
    });
    await expect(
      createManifestsApplyAction({ runs, links }).handler(ctx),
    ).rejects.toThrow(/either manifests or path/);
    expect(runs.created).toHaveLength(0);
  });
});
