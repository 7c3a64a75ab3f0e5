import { ConfigReader } from '@backstage/config';
import { NamespaceOwners } from './namespaceOwners';

describe('kubeAssistant.namespaceOwners', () => {
  const read = (namespaceOwners: unknown) =>
    NamespaceOwners.fromConfig(
      new ConfigReader({ kubeAssistant: { namespaceOwners } } as any),
    );

  it('refuses at start-up an owner that is not an entity ref', () => {
    expect(() => read({ sim: { shop: 'user:' } })).toThrow(
      'kubeAssistant.namespaceOwners.sim.shop must be an owner entity ref such as group:default/team-a; got "user:"',
    );
    expect(() => read({ sim: ['shop'] })).toThrow(
      'kubeAssistant.namespaceOwners.sim must map namespace names to owner entity refs',
    );
  });

  it('decides a configured namespace without reading the cluster, comparing refs normalised', async () => {
    const owners = read({ sim: { shop: 'Team-Shop', 'ns.with.dots': 'x' } });
    const noCluster = () => {
      throw new Error('the cluster must not be read');
    };
    const claim = {
      entityRef: 'component:default/checkout',
      cluster: 'sim',
      namespace: 'shop',
    };
    await expect(
      owners.refusal({ ...claim, owner: 'group:default/team-shop' }, noCluster),
    ).resolves.toBeUndefined();
    await expect(
      owners.refusal(
        { ...claim, owner: 'group:default/team-other' },
        noCluster,
      ),
    ).resolves.toMatch(
      /^Namespace shop on cluster sim is not assigned to group:default\/team-other, the owner of component:default\/checkout:/,
    );
  });
});
