import { getKubechartTargets, isKubechartAvailable } from './entity';
import { makeEntity } from '../testUtils/fixtures';

describe('isKubechartAvailable', () => {
  it.each([
    ['kubechart.io/cluster', 'dev'],
    ['kubechart.io/tenant', 'acme'],
    ['kubechart.io/release', 'web'],
    ['kubechart.io/namespace', 'shop'],
    ['backstage.io/kubernetes-id', 'shop'],
  ])('is true with %s', (name, value) => {
    expect(isKubechartAvailable(makeEntity({ [name]: value }))).toBe(true);
  });

  it('is false without any of the annotations', () => {
    expect(
      isKubechartAvailable(makeEntity({ 'github.com/project-slug': 'a/b' })),
    ).toBe(false);
    expect(
      isKubechartAvailable(makeEntity({ 'kubechart.io/cluster': '' })),
    ).toBe(false);
  });
});

describe('getKubechartTargets', () => {
  it('reads comma-separated clusters and the tenant', () => {
    expect(
      getKubechartTargets(
        makeEntity({
          'kubechart.io/cluster': 'dev, prod,',
          'kubechart.io/tenant': 'acme',
        }),
      ),
    ).toEqual({
      entityRef: 'component:default/shop',
      clusters: ['dev', 'prod'],
      tenant: 'acme',
    });
  });

  it('means every cluster when none is named', () => {
    expect(
      getKubechartTargets(makeEntity({ 'backstage.io/kubernetes-id': 'shop' })),
    ).toEqual({
      entityRef: 'component:default/shop',
      clusters: [],
      tenant: undefined,
    });
  });
});
