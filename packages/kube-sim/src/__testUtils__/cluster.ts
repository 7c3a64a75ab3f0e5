import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { KubeSim, KubeSimOptions, startKubeSim } from '../startKubeSim';

/** A cluster for a test: the one KUBECONFIG names (conformance runs), else a fresh kube-sim. */
export interface TestCluster {
  kc: KubeConfig;
  /** Set when the cluster is kube-sim (not an external cluster from KUBECONFIG). */
  sim?: KubeSim;
  stop(): Promise<void>;
}

export async function conformanceCluster(
  options: KubeSimOptions = {},
): Promise<TestCluster> {
  const kc = new KubeConfig();
  if (process.env.KUBECONFIG) {
    kc.loadFromFile(process.env.KUBECONFIG);
    return { kc, stop: async () => {} };
  }
  return simCluster(options);
}

export async function simCluster(
  options: KubeSimOptions = {},
): Promise<TestCluster> {
  const sim = await startKubeSim({ port: 0, ...options });
  const kc = new KubeConfig();
  kc.loadFromString(sim.kubeconfig);
  return { kc, sim, stop: () => sim.stop() };
}

/** A test cluster with a namespace of the test's own; `stop` deletes the namespace, then stops the cluster. */
export interface TestNamespace extends TestCluster {
  ns: string;
}

/** {@link conformanceCluster} plus a fresh namespace named after `prefix`. */
export async function conformanceNamespace(
  prefix: string,
  options: KubeSimOptions = {},
): Promise<TestNamespace> {
  const cluster = await conformanceCluster(options);
  const ns = uniqueName(prefix);
  const core = cluster.kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: ns } } });
  return {
    ...cluster,
    ns,
    stop: async () => {
      await core.deleteNamespace({ name: ns }).catch(() => {});
      await cluster.stop();
    },
  };
}

/** The Status body of a failed client-node call. */
export function statusOf(err: unknown): {
  code?: number;
  reason?: string;
  [k: string]: any;
} {
  const body = (err as any)?.body;
  if (typeof body === 'string') {
    try {
      return JSON.parse(body);
    } catch {
      return { code: (err as any)?.code };
    }
  }
  return body ?? { code: (err as any)?.code };
}

/** Awaits a call that must fail and returns its Status body. */
export async function failure(
  p: Promise<unknown>,
): Promise<Record<string, any>> {
  try {
    await p;
  } catch (e) {
    return { httpCode: (e as any)?.code, ...statusOf(e) };
  }
  throw new Error('expected the call to fail');
}

/** Polls until `check` returns a truthy value (or throws the last error after `timeoutMs`). */
export async function eventually<T>(
  check: () => Promise<T | undefined | false>,
  timeoutMs = 10000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      throw lastError ?? new Error(`condition not met within ${timeoutMs}ms`);
    }
    await new Promise(r => setTimeout(r, intervalMs));
  }
}

export function uniqueName(prefix: string) {
  return `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
}
