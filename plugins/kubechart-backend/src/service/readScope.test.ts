import { mockCredentials } from '@backstage/backend-test-utils';
import { NotAllowedError } from '@backstage/errors';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  kubechartRunsReadPermission,
  kubechartTenantsReadPermission,
} from '@kubechart/plugin-kubechart-common';
import { randomUUID } from 'node:crypto';
import { ReadScopes } from './readScope';

/** What Backstage's permission backend reads of one request: a JSON body of at most 100 KB (express.json's default). */
const PERMISSION_BODY_LIMIT = 100 * 1024;

describe('ReadScopes.filter', () => {
  it('answers for a thousand entities under a conditional decision, within what the permission backend accepts', async () => {
    const bodies: number[] = [];
    const permissions = {
      authorize: jest.fn(async (requests: any[]) => {
        // As PermissionClient sends them: one item per request, with an id and the permission.
        const body = JSON.stringify({
          items: requests.map(r => ({
            id: randomUUID(),
            permission: r.permission,
            resourceRef: r.resourceRef,
          })),
        });
        bodies.push(body.length);
        if (body.length > PERMISSION_BODY_LIMIT)
          throw new Error('PayloadTooLargeError: request entity too large');
        return requests.map(r => ({
          result: r.resourceRef.endsWith('-mine')
            ? AuthorizeResult.ALLOW
            : AuthorizeResult.DENY,
        }));
      }),
    };
    const scopes = new ReadScopes({} as any, permissions as any);
    const items = Array.from({ length: 1000 }, (_, i) => ({
      entityRef: `component:default/service-number-${i}${
        i % 10 === 0 ? '-mine' : ''
      }`,
    }));
    const visible = await scopes.filter(
      {
        credentials: mockCredentials.user('user:default/alice'),
        permission: kubechartRunsReadPermission,
        all: false,
        userRef: 'user:default/alice',
      },
      items,
    );
    expect(visible).toHaveLength(100);
    expect(visible.every(i => i.entityRef.endsWith('-mine'))).toBe(true);
    expect(Math.max(...bodies)).toBeLessThanOrEqual(PERMISSION_BODY_LIMIT);
  });
});

describe('ReadScopes.filter on entities that changed hands', () => {
  const ALICE = 'user:default/alice';
  const ACME = 'group:default/acme';
  const OTHERS = 'group:default/others';
  /** The policy allows every entity: only who owns it now decides. */
  const everyEntity = {
    authorize: async (requests: any[]) =>
      requests.map(() => ({ result: AuthorizeResult.ALLOW })),
  };
  const scope = {
    credentials: mockCredentials.user(ALICE),
    permission: kubechartRunsReadPermission,
    all: false,
    userRef: ALICE,
  };
  const items = [
    { id: 'acme-run', entityRef: 'component:default/web', entityOwner: ACME },
    {
      id: 'others-run',
      entityRef: 'component:default/web',
      entityOwner: OTHERS,
    },
    { id: 'ownerless', entityRef: 'component:default/web', entityOwner: '' },
    { id: 'before-owners-were-kept', entityRef: 'component:default/web' },
    { id: 'gone', entityRef: 'component:default/gone', entityOwner: ACME },
    { id: 'no-entity', actor: ALICE },
  ];
  const ids = (xs: Array<{ id: string }>) => xs.map(x => x.id);

  it("shows a run only while its entity has the owner it had, however the entity's ref is spelled", async () => {
    const asked: string[][] = [];
    const scopes = new ReadScopes(
      {} as any,
      everyEntity as any,
      undefined,
      async refs => {
        asked.push(refs);
        return new Map([['component:default/web', ACME]]);
      },
    );
    expect(ids(await scopes.filter(scope, items))).toEqual([
      'acme-run',
      'before-owners-were-kept',
      'no-entity',
    ]);
    // One catalog read for the entities of the whole page (none for runs no owner may read).
    expect(asked).toEqual([
      ['component:default/web', 'component:default/gone'],
    ]);
    await scopes.filter(scope, [items[2], items[3]]);
    expect(asked).toHaveLength(1);
    expect(await scopes.ownerNow('Component:Default/Web')).toBe(ACME);
    expect(await scopes.ownerNow('component:default/gone')).toBe('');
  });

  it('hides every run that records an owner when the catalog is not known, and answers 503 when it cannot be read', async () => {
    const blind = new ReadScopes({} as any, everyEntity as any);
    expect(ids(await blind.filter(scope, items))).toEqual([
      'before-owners-were-kept',
      'no-entity',
    ]);
    const broken = new ReadScopes(
      {} as any,
      everyEntity as any,
      undefined,
      async () => {
        throw new Error('connect ECONNREFUSED');
      },
    );
    await expect(broken.filter(scope, items)).rejects.toMatchObject({
      name: 'ServiceUnavailableError',
      message: expect.stringContaining('connect ECONNREFUSED'),
    });
    // A caller who may read everything is not held up by the catalog.
    expect(ids(await broken.filter({ ...scope, all: true }, items))).toEqual(
      ids(items),
    );
  });
});

describe('ReadScopes.scopeOf', () => {
  const BOB = 'user:default/bob';
  const BOT = 'service:external:ci-bot';
  /**
   * Backstage's own decision for a service principal (ServerPermissionClient): every permission,
   * unless its token's access restrictions name the permissions it may use; users are allowed all.
   */
  const asBackstageDecides = () => {
    const decide = (requests: any[], o: { credentials: any }) =>
      requests.map(r => {
        const names =
          o.credentials.principal.accessRestrictions?.permissionNames;
        return {
          result:
            names && !names.includes(r.permission.name)
              ? AuthorizeResult.DENY
              : AuthorizeResult.ALLOW,
        };
      });
    return {
      authorize: jest.fn(async (r: any[], o: any) => decide(r, o)),
      authorizeConditional: jest.fn(async (r: any[], o: any) => decide(r, o)),
    };
  };
  const runs = [
    { id: 'bot-own', actor: BOT },
    { id: 'bob-entity', entityRef: 'component:default/web', actor: BOB },
    { id: 'bob-own', actor: BOB },
    { id: 'bot-entity', entityRef: 'component:default/web', actor: BOT },
  ];
  const ids = (items: Array<{ id: string }>) => items.map(i => i.id);

  it("refuses a user's credentials passed on by a plugin not in relayingPlugins, as the routes that change something do", async () => {
    const permissions = asBackstageDecides();
    const scopes = new ReadScopes({} as any, permissions as any, [
      'plugin:scaffolder',
    ]);
    const passedOn = (plugin: string) =>
      mockCredentials.user(BOB, { actor: { subject: plugin } });
    for (const permission of [
      kubechartRunsReadPermission,
      kubechartTenantsReadPermission,
    ]) {
      const refused = scopes.scopeOf(passedOn('plugin:catalog'), permission);
      await expect(refused).rejects.toThrow(NotAllowedError);
      await expect(refused).rejects.toThrow(
        `plugin:catalog may not act on behalf of ${BOB}: a user's credentials are accepted when passed on only from the plugins listed in kubechart.onBehalfOf.relayingPlugins; nothing was done. ${BOB} calls kubechart with their own token`,
      );
      await expect(
        scopes.scopeOf(passedOn('plugin:scaffolder'), permission),
      ).resolves.toMatchObject({ all: true, userRef: BOB });
    }
    expect(
      permissions.authorizeConditional.mock.calls.map(
        ([, o]) => o.credentials.principal.actor.subject,
      ),
    ).toEqual(['plugin:scaffolder', 'plugin:scaffolder']);
  });

  it('gives a service the runs it is the actor of only, unless its token names kubechart.runs.read', async () => {
    const permissions = asBackstageDecides();
    const scopes = new ReadScopes({} as any, permissions as any);
    const unrestricted = await scopes.scopeOf(
      mockCredentials.service('external:ci-bot'),
      kubechartRunsReadPermission,
    );
    expect(unrestricted!.all).toBe(false);
    expect(ids(await scopes.filter(unrestricted!, runs))).toEqual([
      'bot-own',
      'bot-entity',
    ]);
    // The permission framework, which allows a service every entity, is not asked which ones.
    expect(permissions.authorize).not.toHaveBeenCalled();

    const granted = await scopes.scopeOf(
      mockCredentials.service('external:ci-bot', {
        permissionNames: ['kubechart.runs.create', 'kubechart.runs.read'],
      }),
      kubechartRunsReadPermission,
    );
    expect(granted!.all).toBe(true);
    expect(ids(await scopes.filter(granted!, runs))).toEqual(ids(runs));
    // A token restricted to other permissions is denied kubechart.runs.read by Backstage itself.
    expect(
      await scopes.scopeOf(
        mockCredentials.service('external:ci-bot', {
          permissionNames: ['kubechart.runs.create'],
        }),
        kubechartRunsReadPermission,
      ),
    ).toBeUndefined();
  });

  it('gives every service every tenant, which the catalog module lists with its own token', async () => {
    const scopes = new ReadScopes({} as any, asBackstageDecides() as any);
    for (const subject of ['plugin:catalog', 'external:ci-bot']) {
      const scope = await scopes.scopeOf(
        mockCredentials.service(subject),
        kubechartTenantsReadPermission,
      );
      expect(scope).toMatchObject({ all: true });
    }
  });
});
