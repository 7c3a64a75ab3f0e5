import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { createMockDirectory } from '@backstage/backend-test-utils';
import { MAX_POLICY_OBJECTS } from '@kubechart/plugin-kubechart-node';
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

  it(`refuses, before sending them, manifests of more than the ${MAX_POLICY_OBJECTS} objects a run applies, as the backend words it`, async () => {
    const list = (n: number) =>
      [
        'apiVersion: v1',
        'kind: List',
        'items:',
        ...Array.from(
          { length: n },
          (_, i) =>
            `- {apiVersion: v1, kind: ConfigMap, metadata: {name: c${i}}}`,
        ),
      ].join('\n');
    const runs = new FakeKubechartRuns();
    const action = createManifestsApplyAction({ runs, links });
    const input = { cluster: 'kube-sim', namespace: 'shop' };
    for (const isDryRun of [false, true]) {
      const ctx = {
        ...createMockActionContext({
          input: { ...input, manifests: list(MAX_POLICY_OBJECTS + 1) },
        }),
        isDryRun,
      };
      await expect(action.handler(ctx)).rejects.toThrow(
        `Manifests refused: more than ${MAX_POLICY_OBJECTS} objects (each item of a List counted); the limit maxObjects is ${MAX_POLICY_OBJECTS}`,
      );
    }
    expect(runs.created).toHaveLength(0);
    expect(runs.previewed).toHaveLength(0);
    // As many as a run applies are sent.
    await action.handler(
      createMockActionContext({
        input: { ...input, manifests: list(MAX_POLICY_OBJECTS) },
      }),
    );
    expect(runs.created).toHaveLength(1);
  });

  it('declares the task secrets the manifests hold, as written or escaped, and no other', async () => {
    const quoted = 'pa"ss\\word-1';
    const runs = new FakeKubechartRuns();
    const ctx = createMockActionContext({
      input: {
        cluster: 'kube-sim',
        namespace: 'shop',
        // `TOKEN: ${{ secrets.token }}` and `QUOTED: ${{ secrets.quoted | dump }}` as rendered.
        manifests: [
          'apiVersion: v1',
          'kind: ConfigMap',
          'metadata:',
          '  name: a',
          'data:',
          '  TOKEN: tok-91c2d7e0',
          `  QUOTED: ${JSON.stringify(quoted)}`,
          '',
        ].join('\n'),
      },
      secrets: { token: 'tok-91c2d7e0', quoted, unused: 'never-used-1' },
    });
    await createManifestsApplyAction({ runs, links }).handler(ctx);
    expect(runs.created).toHaveLength(1);
    expect([...(runs.created[0] as any).secretValues].sort()).toEqual(
      [quoted, 'tok-91c2d7e0'].sort(),
    );
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
