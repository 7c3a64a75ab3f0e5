import { Entity } from '@backstage/catalog-model';
import { entityOwnerRef, entityRefKey } from './entityOwner';

const entity = (extra: Partial<Entity>): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'web', namespace: 'shop' },
  ...extra,
});

describe('entityOwnerRef', () => {
  it("is the catalog's ownedBy relation when the entity has one", () => {
    expect(
      entityOwnerRef(
        entity({
          spec: { owner: 'team-a' },
          relations: [{ type: 'ownedBy', targetRef: 'group:default/team-b' }],
        }),
      ),
    ).toBe('group:default/team-b');
  });

  it("is spec.owner as a full ref otherwise: a group in the entity's namespace unless it says", () => {
    expect(entityOwnerRef(entity({ spec: { owner: 'team-a' } }))).toBe(
      'group:shop/team-a',
    );
    expect(entityOwnerRef(entity({ spec: { owner: 'User:jane' } }))).toBe(
      'user:shop/jane',
    );
    expect(
      entityOwnerRef(entity({ spec: { owner: 'group:default/Team-A' } })),
    ).toBe('group:default/team-a');
  });

  it('is undefined when the entity names no owner, or one that is not a ref', () => {
    expect(entityOwnerRef(entity({}))).toBeUndefined();
    expect(entityOwnerRef(entity({ spec: { owner: 42 } }))).toBeUndefined();
    expect(
      entityOwnerRef(entity({ spec: { owner: 'group:' } })),
    ).toBeUndefined();
  });
});

describe('entityRefKey', () => {
  it("is the catalog's form of a ref: lowercased, namespace default when it names none", () => {
    expect(entityRefKey('Component:Default/Web')).toBe('component:default/web');
    expect(entityRefKey('component:WEB')).toBe('component:default/web');
    expect(entityRefKey('group:shop/Team-A')).toBe('group:shop/team-a');
  });

  it('is undefined for a text that is not an entity ref', () => {
    expect(entityRefKey('web')).toBeUndefined();
    expect(entityRefKey('component:')).toBeUndefined();
    expect(entityRefKey('')).toBeUndefined();
  });
});
