import { KubeConfig } from '@kubernetes/client-node';
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
