import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { createMockDirectory } from '@backstage/backend-test-utils';
import { DEFAULT_INPUT_LIMITS } from '@kubechart/plugin-kubechart-node';
import { execFileSync } from 'node:child_process';
import { truncateSync } from 'node:fs';
import { join } from 'node:path';
import { FakeKubechartRuns } from '../testing/FakeKubechartRuns';
import { createManifestsApplyAction } from './manifestsApply';

const links = { appBaseUrl: 'http://localhost:3000' };

/**
 * A workspace file (from an earlier step, e.g. a user's repository fetched with fetch:plain) is
 * refused by its size before it is read: it was read whole into the backend's memory, and one over
 * 2 GiB failed with Node's RangeError instead of a refusal naming the limit.
 */
describe('kubechart:manifests:apply with a workspace file over the limit', () => {
  const workspace = createMockDirectory();
  const run = async (path: string) => {
    const runs = new FakeKubechartRuns();
    const ctx = createMockActionContext({
      workspacePath: workspace.path,
      input: { cluster: 'kube-sim', namespace: 'shop', path },
    });
    const error = await createManifestsApplyAction({ runs, links })
      .handler(ctx)
      .then(
        () => undefined,
        e => e as Error,
      );
    return { error, created: runs.created };
  };

  it('refuses a file larger than the manifests limit, naming it and the limit, and starts nothing', async () => {
    workspace.setContent({
      'out/manifests.yaml': 'a: b\n'.repeat(
        DEFAULT_INPUT_LIMITS.maxBytes / 5 + 1,
      ),
    });
    const { error, created } = await run('out/manifests.yaml');
    expect(error?.name).toBe('InputError');
    expect(error?.message).toBe(
      `Workspace file out/manifests.yaml refused: it holds ${
        DEFAULT_INPUT_LIMITS.maxBytes + 5
      } bytes; the limit maxBytes is ${DEFAULT_INPUT_LIMITS.maxBytes}`,
    );
    expect(created).toEqual([]);
  });

  it('refuses a 3 GiB (sparse) file the same way', async () => {
    workspace.setContent({ 'out/huge.yaml': '' });
    truncateSync(join(workspace.path, 'out/huge.yaml'), 3 * 1024 ** 3);
    const { error, created } = await run('out/huge.yaml');
    expect(error?.name).toBe('InputError');
    expect(error?.message).toContain(`it holds ${3 * 1024 ** 3} bytes`);
    expect(created).toEqual([]);
  });

  it('refuses a directory with a clear reason', async () => {
    workspace.setContent({ 'out/dir/a.yaml': 'a: b\n' });
    const { error, created } = await run('out/dir');
    expect(error?.name).toBe('InputError');
    expect(error?.message).toBe(
      'Workspace file out/dir refused: it is not a regular file',
    );
    expect(created).toEqual([]);
  });

  it('refuses a named pipe without waiting for a writer', async () => {
    workspace.setContent({ out: {} });
    execFileSync('mkfifo', [join(workspace.path, 'out/pipe.yaml')]);
    const { error, created } = await run('out/pipe.yaml');
    expect(error?.message).toBe(
      'Workspace file out/pipe.yaml refused: it is not a regular file',
    );
    expect(created).toEqual([]);
  });

  it('takes a file within the limit', async () => {
    const text = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  a: ${'x'.repeat(
      1024 * 1024,
    )}\n`;
    workspace.setContent({ 'out/fits.yaml': text });
    const { error, created } = await run('out/fits.yaml');
    expect(error).toBeUndefined();
    expect(created).toEqual([expect.objectContaining({ manifests: text })]);
  });
});
