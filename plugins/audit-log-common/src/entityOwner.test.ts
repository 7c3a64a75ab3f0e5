import { Entity } from '@backstage/catalog-model';
import { entityOwnerRef } from './entityOwner';

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
