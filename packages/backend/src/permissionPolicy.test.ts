import { mockCredentials } from '@backstage/backend-test-utils';
import {
  AuthorizeResult,
  createPermission,
} from '@backstage/plugin-permission-common';
import { PolicyQueryUser } from '@backstage/plugin-permission-node';
import { ExamplePermissionPolicy } from './permissionPolicy';

const read = (name: string, resourceType?: string) =>
  createPermission({
    name,
    attributes: { action: 'read' },
    ...(resourceType ? { resourceType } : {}),
  } as any);
const runsRead = read('kubechart.runs.read', 'catalog-entity');
const tenantsRead = read('kubechart.tenants.read', 'catalog-entity');
const entityEvents = read('audit-log.entity-events.read', 'catalog-entity');
const catalogRead = read('catalog.entity.read', 'catalog-entity');
const wholeAudit = read('audit-log.events.read');
const create = createPermission({
  name: 'kubechart.runs.create',
  attributes: { action: 'create' },
});

const user = (ref: string, ownership: string[]): PolicyQueryUser =>
  ({
    credentials: mockCredentials.user(ref),
    info: { userEntityRef: ref, ownershipEntityRefs: [ref, ...ownership] },
    token: 'token',
    expiresInSeconds: 3600,
  } as PolicyQueryUser);

describe('ExamplePermissionPolicy', () => {
  const policy = new ExamplePermissionPolicy();
  const guest = user('user:default/guest', [
    'group:default/guests',
    'group:default/platform-team',
  ]);
  const owner = user('user:default/alice', ['group:default/shop-team']);

  it('lets an admin (the example guest, in platform-team) do and read everything', async () => {
    for (const permission of [
      runsRead,
      tenantsRead,
      entityEvents,
      wholeAudit,
      create,
    ]) {
      expect(await policy.handle({ permission }, guest)).toEqual({
        result: AuthorizeResult.ALLOW,
      });
    }
  });

  it("lets an owner read their entities' history, through the catalog's IS_ENTITY_OWNER rule", async () => {
    for (const permission of [runsRead, tenantsRead, entityEvents]) {
      expect(await policy.handle({ permission }, owner)).toEqual({
        result: AuthorizeResult.CONDITIONAL,
        pluginId: 'catalog',
        resourceType: 'catalog-entity',
        conditions: {
          rule: 'IS_ENTITY_OWNER',
          resourceType: 'catalog-entity',
          params: { claims: ['user:default/alice', 'group:default/shop-team'] },
        },
      });
    }
  });

  it('keeps the whole audit trail from non-admins and leaves the rest of the portal usable', async () => {
    expect(await policy.handle({ permission: wholeAudit }, owner)).toEqual({
      result: AuthorizeResult.DENY,
    });
    expect(await policy.handle({ permission: catalogRead }, owner)).toEqual({
      result: AuthorizeResult.ALLOW,
    });
    expect(await policy.handle({ permission: create }, owner)).toEqual({
      result: AuthorizeResult.ALLOW,
    });
  });

  it('refuses entity history to a caller without a user', async () => {
    expect(await policy.handle({ permission: runsRead })).toEqual({
      result: AuthorizeResult.DENY,
    });
  });
});
