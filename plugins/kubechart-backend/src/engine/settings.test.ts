import { ConfigReader } from '@backstage/config';
import { readEngineSettings } from './settings';

describe('readEngineSettings', () => {
  const read = (helm: object) =>
    readEngineSettings(new ConfigReader({ kubechart: { helm } }));

  it('reads kubechart.helm.helm3HookInputs, any-template by default, and refuses other values at start-up', () => {
    expect(read({}).helm3HookInputs).toBe('any-template');
    expect(read({ helm3HookInputs: 'hook-templates' }).helm3HookInputs).toBe(
      'hook-templates',
    );
    expect(() => read({ helm3HookInputs: 'hooks' })).toThrow(
      'Invalid kubechart.helm.helm3HookInputs "hooks": use any-template or hook-templates',
    );
  });

  it('reads kubechart.limits.maxOpenStreams, 500 by default, and refuses one that holds no stream at start-up', () => {
    const limits = (maxOpenStreams?: number) =>
      readEngineSettings(
        new ConfigReader({ kubechart: { limits: { maxOpenStreams } } }),
      ).maxOpenStreams;
    expect(limits()).toBe(500);
    expect(limits(2000)).toBe(2000);
    for (const bad of [0, -1, 2.5])
      expect(() => limits(bad)).toThrow(
        `kubechart.limits.maxOpenStreams must be a whole number of at least 1; got ${bad}`,
      );
  });

  it('reads kubechart.drift.ignoreAddedFields, which drift and tenant runs share, and refuses a path it cannot read at start-up', () => {
    const drift = (ignoreAddedFields?: object) =>
      readEngineSettings(
        new ConfigReader({
          kubechart: ignoreAddedFields ? { drift: { ignoreAddedFields } } : {},
        }),
      ).driftIgnoreAddedFields;
    expect(drift()).toBeUndefined();
    expect(
      drift([
        { path: 'metadata.labels.team' },
        { manager: 'policy-ctl', path: 'metadata.annotations["a/b"]' },
      ]),
    ).toEqual([
      { path: 'metadata.labels.team' },
      { manager: 'policy-ctl', path: 'metadata.annotations["a/b"]' },
    ]);
    expect(() => drift([{ path: 'metadata.labels[' }])).toThrow(
      'drift ignore path "metadata.labels[" cannot be read',
    );
  });

  it('reads kubechart.tenant.deployer.namespace, kubechart-deployers by default, and refuses a name that is no namespace at start-up', () => {
    const deployers = (namespace?: string) =>
      readEngineSettings(
        new ConfigReader({
          kubechart: namespace ? { tenant: { deployer: { namespace } } } : {},
        }),
      ).deployerNamespace;
    expect(deployers()).toBe('kubechart-deployers');
    expect(deployers('platform-deployers')).toBe('platform-deployers');
    expect(() => deployers('Deployers')).toThrow(
      `Invalid kubechart.tenant.deployer.namespace "Deployers": a namespace name (lower-case letters, digits and '-', at most 63 characters)`,
    );
  });

  it('refuses at start-up a deployers namespace that is a tenant namespace, an assigned namespace or one of the cluster', () => {
    const deployers = (namespace: string) =>
      readEngineSettings(
        new ConfigReader({
          kubechart: {
            tenant: { deployer: { namespace } },
            clusters: {
              prod: { namespaces: { shared: { owner: 'group:default/ops' } } },
            },
          },
        }),
      ).deployerNamespace;
    for (const name of [
      'tenant-deployers',
      'shared',
      'default',
      'kube-system',
    ]) {
      expect(() => deployers(name)).toThrow(
        `Invalid kubechart.tenant.deployer.namespace "${name}": `,
      );
    }
    expect(() => deployers('shared')).toThrow(
      'assigned in kubechart.clusters.prod.namespaces',
    );
    expect(deployers('platform-deployers')).toBe('platform-deployers');
  });
});
