import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repoRoot = resolve(__dirname, '../../../..');

/** The real helm binaries scripts/install-helm.sh puts in .tools/bin (also on PATH after scripts/env.sh). */
export function helmBinary(name: 'helm3' | 'helm4'): string {
  const local = join(repoRoot, '.tools/bin', name);
  if (existsSync(local)) return local;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  throw new Error(
    `${name} not found: run scripts/install-helm.sh (or make bootstrap) first`,
  );
}

/** Runs helm with its state under `dir` and the kubeconfig at `dir/kubeconfig`. */
export function helmRunner(name: 'helm3' | 'helm4', dir: string) {
  return async (...args: string[]) => {
    const { stdout } = await run(helmBinary(name), args, {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        KUBECONFIG: join(dir, 'kubeconfig'),
        HELM_CACHE_HOME: join(dir, 'cache'),
        HELM_CONFIG_HOME: join(dir, 'config'),
        HELM_DATA_HOME: join(dir, 'data'),
      },
      timeout: 60000,
    });
    return stdout;
  };
}
