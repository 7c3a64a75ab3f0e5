import {
  TestDatabases,
  mockCredentials,
  mockServices,
} from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { NamespaceOwners } from '../context/namespaceOwners';
import { DatabaseConversationStore } from '../database/DatabaseConversationStore';
import { ClusterNames, ClusterObjectName } from '../execution/ClusterNames';
import { ClusterRegistry } from '../execution/clusters';
import { PlanExecutor } from '../execution/PlanExecutor';
import { BuiltinProvider } from '../providers/builtin/BuiltinProvider';
import { ProviderChain } from '../providers/ProviderChain';
import { AssistantService } from './AssistantService';

jest.setTimeout(60_000);

const WEB: ClusterObjectName = {
  name: 'web',
  resource: 'deployments',
  namespace: 'staging',
  selector: 'app=web',
};

/**
 * The builtin parser reads the cluster's names within `kubeAssistant.nameLookupTimeoutMs` (400 ms by
 * default): a look-up answering within it shapes the plan, one that does not is left behind and the
 * question planned without the names.
 */
describe('AssistantService: how long a question waits for the names of the cluster', () => {
  const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
  const userRef = 'user:default/mock';
  const caller = { credentials: mockCredentials.user(userRef), userRef };
  let store: DatabaseConversationStore;

  beforeAll(async () => {
    store = await DatabaseConversationStore.create({
      database: mockServices.database({
        knex: await databases.init('SQLITE_3'),
      }),
    });
  });

  /** A service whose name look-up answers as `lookup` does, waiting `nameLookupTimeoutMs` for it. */
  function serviceWith(
    lookup: () => Promise<ClusterObjectName[]>,
    nameLookupTimeoutMs?: number,
  ) {
    const logger = mockServices.logger.mock();
    return new AssistantService({
      // A provider budget far above the look-up's: what is measured is the look-up's alone.
      chain: new ProviderChain(
        [{ provider: new BuiltinProvider(), timeoutMs: 45_000 }],
        logger,
      ),
      store,
      clusters: ClusterRegistry.fromConfig(
        new ConfigReader({
          kubernetes: {
            clusterLocatorMethods: [
              {
                type: 'config',
                clusters: [
                  {
                    name: 'sim',
                    url: 'https://127.0.0.1:1',
                    serviceAccountToken: 'token',
                  },
                ],
              },
            ],
          },
        }),
      ),
      executor: new PlanExecutor({ maxRows: 200 }),
      // Everything, kube-assistant.cluster-wide included: the look-up reads the whole cluster.
      permissions: mockServices.permissions.mock({
        authorize: jest.fn(async requests =>
          requests.map(() => ({ result: AuthorizeResult.ALLOW })),
        ) as any,
      }),
      auditor: mockServices.auditor.mock(),
      catalog: catalogServiceMock({ entities: [] }),
      userInfo: mockServices.userInfo(),
      logger,
      allowDangerous: false,
      confirmations: store.confirmations(),
      confirmationTtlMs: 60_000,
      names: { lookup } as unknown as ClusterNames,
      nameLookupTimeoutMs,
      namespaceOwners: NamespaceOwners.fromConfig(new ConfigReader({})),
    });
  }

  const QUESTION = 'get pods of deployment web';

  it('waits for the names as long as nameLookupTimeoutMs says', async () => {
    // 600 ms: past the default 400 ms, well within the 20 s configured.
    const slow = () =>
      new Promise<ClusterObjectName[]>(resolve =>
        setTimeout(() => resolve([WEB]), 600),
      );
    const asked = await serviceWith(slow, 20_000).ask(
      { question: QUESTION },
      caller,
    );
    expect(asked.plan).toMatchObject({
      verb: 'get',
      resource: 'pods',
      namespace: 'staging',
      labelSelector: 'app=web',
    });
  });

  it('plans without the names when the look-up does not answer within it', async () => {
    const never = () => new Promise<ClusterObjectName[]>(() => {});
    const none = async () => [];
    const withoutNames = await serviceWith(none, 20_000)
      .ask({ question: QUESTION }, caller)
      .catch(e => e);
    expect(withoutNames.message).toContain(
      'the assistant did not find deployment web',
    );
    const gaveUp = await serviceWith(never, 50)
      .ask({ question: QUESTION }, caller)
      .catch(e => e);
    // Answered as if the cluster had no such name, not left to the provider's 45 s budget.
    expect(gaveUp.message).toBe(withoutNames.message);
  });
});
