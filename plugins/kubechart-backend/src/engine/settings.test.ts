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
});
