import { createServiceFactory } from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { KubeSim } from '@internal/kube-sim';
import { KubeConfig } from '@kubernetes/client-node';
import { Knex } from 'knex';
import { kubechartPlugin } from '../plugin';

type Feature = Parameters<typeof startTestBackend>[0]['features'] extends
  | Array<infer F>
  | undefined
  ? F
  : never;

/**
 * Starts the kubechart backend plugin as production wires it, on `config` (from `testConfig`), its
 * database `knex` (default: the test backend's in-memory SQLite), signals to `onSignal` only, and
 * `features` for the services a test controls (permissions, user info, a capturing auditor).
 */
export async function startKubechartBackend(options: {
  config: object;
  knex?: Knex;
  features?: Feature[];
  /** Receives every signal the plugin publishes (default: none kept). */
  onSignal?: (signal: unknown) => void;
}) {
  return startTestBackend({
    features: [
      kubechartPlugin,
      mockServices.rootConfig.factory({ data: options.config as any }),
      ...(options.knex
        ? [mockServices.database.factory({ knex: options.knex })]
        : []),
      createServiceFactory({
        service: signalsServiceRef,
        deps: {},
        factory: () => ({
          publish: async (signal: unknown) => options.onSignal?.(signal),
        }),
      }),
      ...(options.features ?? []),
    ],
  });
}

/** kube-sim's admin kubeconfig: what a test reads and changes the cluster with, as a person would. */
export function simKubeConfig(sim: KubeSim): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(sim.kubeconfig);
  return kc;
}
