import {
  TestDatabaseId,
  TestDatabases,
  mockServices,
} from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { startKubeSim, KubeSim, KubeSimOptions } from '@internal/kube-sim';
import {
  ClusterRegistry,
  HelmCli,
  PolicyEngine,
  TenantResourceProvider,
} from '@kubechart/plugin-kubechart-node';
import { execFileSync } from 'node:child_process';
import { resolvePackagePath } from '@backstage/backend-plugin-api';
import { DatabaseRunStore } from '../database/DatabaseRunStore';
import { ApprovalNotifier, RunEngine } from '../engine/RunEngine';
import { RequesterDirectory } from '../engine/caller';
import { Entity } from '@backstage/catalog-model';
import { readApprovalSettings } from '../approvals/rules';
import { readEngineSettings } from '../engine/settings';

export const chartDirectory = resolvePackagePath(
  '@kubechart/plugin-kubechart-backend',
  'src/__fixtures__/charts',
);

/** Absolute path of a helm binary on PATH (`helm3` or `helm4`). */
export const helmBinary = (name: 'helm3' | 'helm4') =>
  execFileSync('sh', ['-c', `command -v ${name}`])
    .toString()
    .trim();

/** Config for a cluster named `dev` pointing at kube-sim, plus test-friendly engine settings. */
export function testConfig(sim: KubeSim, extra: Record<string, any> = {}) {
  return {
    kubernetes: {
      clusterLocatorMethods: [
        {
          type: 'config',
          clusters: [
            {
              name: 'dev',
              url: sim.url,
              authProvider: 'serviceAccount',
              serviceAccountToken: sim.token,
              caData: sim.caData,
            },
          ],
        },
      ],
    },
    kubechart: {
      helm: {
        chartDirectories: [chartDirectory],
        binary: helmBinary('helm3'),
        timeoutSeconds: 60,
      },
      policy: { mode: 'enforce', trustedRegistries: ['registry.example.com'] },
      wait: { timeoutSeconds: 30, pollIntervalMs: 200, failFastSeconds: 1 },
      // Tests start many runs of one user quickly, often without waiting for the last one to end;
      // a test of a limit sets its own.
      limits: {
        runsPerUserPerMinute: 100,
        runsPerUserAtOnce: 100,
        maxTenants: 20,
      },
      recovery: { staleAfterSeconds: 60, heartbeatSeconds: 1 },
      ...extra,
    },
  };
}

export async function startSim(options: KubeSimOptions = {}) {
  // helm (client-go) sends bearer tokens only over TLS, so kube-sim serves HTTPS with its own CA.
  return startKubeSim({
    tls: true,
    podReadyDelayMs: 200,
    crashLoopBackoffMs: 200,
    namespaceDeletionDelayMs: 100,
    ...options,
  });
}

/** An engine on the given database against kube-sim. */
export async function createTestEngine(options: {
  databases: TestDatabases;
  databaseId: TestDatabaseId;
  sim: KubeSim;
  config?: Record<string, any>;
  helm?: 'helm3' | 'helm4';
  tenantResources?: TenantResourceProvider[];
  notifier?: ApprovalNotifier;
  /** What requesters own when their kept approved runs start (see {@link testRequesters}). */
  requesters?: RequesterDirectory;
  /** Another engine (a restarted or second backend) on the database of a test engine. */
  knex?: Awaited<ReturnType<TestDatabases['init']>>;
  /** Wraps the helm runner the engine uses (e.g. to act on the cluster while helm runs). */
  wrapHelm?: (helm: HelmCli) => HelmCli;
}) {
  const knex =
    options.knex ?? (await options.databases.init(options.databaseId));
  const store = await DatabaseRunStore.create({
    database: mockServices.database.mock({ getClient: async () => knex }),
  });
  const configData = options.config ?? testConfig(options.sim);
  if (options.helm) configData.kubechart.helm.binary = helmBinary(options.helm);
  const config = new ConfigReader(configData);
  const clusters = ClusterRegistry.fromConfig(config);
  const helm = HelmCli.fromConfig(config);
  const engine = new RunEngine({
    store,
    clusters,
    helm: options.wrapHelm?.(helm) ?? helm,
    policy: PolicyEngine.fromConfig(config),
    logger: mockServices.logger.mock(),
    settings: readEngineSettings(config),
    tenantResources: options.tenantResources,
    approvals: readApprovalSettings(config),
    notifier: options.notifier,
    requesters: options.requesters,
  });
  return { knex, store, engine, clusters, config };
}

/**
 * Requesters as a catalog would have them: each user's groups (`groups`, changed by a test as a
 * user joins or leaves a group), and `entities`. `unreadable` makes every read fail, as a catalog
 * that is down.
 */
export function testRequesters(
  groups: Record<string, string[]>,
  entities: Entity[] = [],
): RequesterDirectory & { unreadable: boolean } {
  const directory = {
    unreadable: false,
    async ownershipRefs(actor: string) {
      if (directory.unreadable) throw new Error('catalog unavailable');
      return [actor, ...(groups[actor] ?? [])];
    },
    async readEntity(ref: string) {
      if (directory.unreadable) throw new Error('catalog unavailable');
      return entities.find(
        e =>
          `${e.kind}:${e.metadata.namespace ?? 'default'}/${
            e.metadata.name
          }`.toLocaleLowerCase('en-US') === ref.toLocaleLowerCase('en-US'),
      );
    },
  };
  return directory;
}
