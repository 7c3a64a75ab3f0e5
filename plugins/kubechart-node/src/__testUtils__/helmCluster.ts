import { startKubeSim, KubeSim } from '@internal/kube-sim';
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { execFileSync } from 'node:child_process';

/** Absolute path of a binary on PATH (`helm3`, `helm4`). */
export const which = (bin: string) =>
  execFileSync('sh', ['-c', `command -v ${bin}`])
    .toString()
    .trim();

/**
 * kube-sim over TLS (helm sends bearer tokens only over TLS) with one namespace created, and clients
 * to inspect what helm applied.
 */
export async function startHelmSim(namespace: string): Promise<{
  sim: KubeSim;
  core: CoreV1Api;
  apps: AppsV1Api;
}> {
  const sim = await startKubeSim({ tls: true, podReadyDelayMs: 50 });
  const kc = new KubeConfig();
  kc.loadFromString(sim.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  return { sim, core, apps };
}
