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
});
