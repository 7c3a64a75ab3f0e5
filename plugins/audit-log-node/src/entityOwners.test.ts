import { mockCredentials } from '@backstage/backend-test-utils';
import { catalogEntityOwners, CatalogOwnersSource } from './entityOwners';

type Entity = NonNullable<
  Awaited<ReturnType<CatalogOwnersSource['getEntityByRef']>>
>;

const auth = {
  getOwnServiceCredentials: async () =>
    mockCredentials.service('plugin:kubechart'),
};

const entity = (name: string, spec: object, relations?: object[]): Entity =>
  ({
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name, namespace: 'default' },
    spec,
    ...(relations ? { relations } : {}),
  } as Entity);

describe('catalogEntityOwners', () => {
  const entities: Record<string, Entity> = {
    'component:default/related': entity('related', { owner: 'ignored' }, [
      { type: 'ownedBy', targetRef: 'group:default/payments' },
    ]),
    'component:default/spec': entity('spec', { owner: 'Team-A' }),
    'component:default/ownerless': entity('ownerless', {}),
  };

  it('reads who owns each entity now, as entity ref keys, in batches of the catalog', async () => {
    const batches: Array<{ refs: string[]; fields?: string[]; by?: string }> =
      [];
    const owners = catalogEntityOwners(
      {
        getEntityByRef: async () => {
          throw new Error('not used where the catalog reads in batches');
        },
        getEntitiesByRefs: async (request, options) => {
          batches.push({
            refs: request.entityRefs,
            fields: request.fields,
            by: (options.credentials.principal as any).subject,
          });
          return {
            items: request.entityRefs.map(
              r => entities[r.toLowerCase()] ?? null,
            ),
          };
        },
      },
      auth,
      15_000,
    );
    const refs = [
      'Component:Default/Related',
      'component:default/spec',
      'component:default/ownerless',
      'component:default/absent',
      ...Array.from({ length: 150 }, (_, i) => `component:default/n${i}`),
    ];
    const read = await owners(refs);
    expect([...read.entries()]).toEqual([
      ['component:default/related', 'group:default/payments'],
      ['component:default/spec', 'group:default/team-a'],
    ]);
    expect(batches.map(b => b.refs.length)).toEqual([100, 54]);
    expect(batches[0].by).toBe('plugin:kubechart');
    expect(batches[0].fields).toEqual(
      expect.arrayContaining(['spec.owner', 'relations']),
    );
  });

  it('reads one entity at a time from a catalog without batch reads', async () => {
    const owners = catalogEntityOwners(
      { getEntityByRef: async ref => entities[ref.toLowerCase()] },
      auth,
      15_000,
    );
    expect(
      await owners(['component:default/spec', 'component:default/absent']),
    ).toEqual(new Map([['component:default/spec', 'group:default/team-a']]));
  });

  it('fails, saying so, when the catalog does not answer in time', async () => {
    const owners = catalogEntityOwners(
      {
        getEntityByRef: () => new Promise(() => {}),
        getEntitiesByRefs: () => new Promise(() => {}),
      },
      auth,
      20,
    );
    await expect(owners(['component:default/spec'])).rejects.toThrow(
      'the catalog did not answer within 0.02s',
    );
  });
});
