import { warnWhenOwnActorLeftOut } from './relayingPlugins';

describe('the warning of a relaying-plugins list without the plugin itself', () => {
  const own = {
    setting: 'acme.onBehalfOf.relayingPlugins',
    actor: 'plugin:acme',
    refused: 'every acme.* action',
    calls: 'the actions call the acme REST API',
    offers: 'the actions',
  };
  const warnings = (plugins: string[], invokedBy?: string) => {
    const said: string[] = [];
    warnWhenOwnActorLeftOut({ warn: m => said.push(m) }, plugins, {
      ...own,
      invokedBy,
    });
    return said;
  };

  it('says nothing when the list names the plugin', () => {
    expect(warnings(['plugin:scaffolder', 'plugin:acme'])).toEqual([]);
  });

  it('says once what every user is refused, and how to offer it again', () => {
    expect(warnings(['plugin:scaffolder'])).toEqual([
      "acme.onBehalfOf.relayingPlugins leaves out plugin:acme: every acme.* action is refused (403) to every user, however it is invoked, since the actions call the acme REST API with the user's credentials passed on by plugin:acme. Add plugin:acme to the list to offer the actions.",
    ]);
    expect(warnings([], 'MCP, a template step')).toEqual([
      "acme.onBehalfOf.relayingPlugins leaves out plugin:acme: every acme.* action is refused (403) to every user, however it is invoked (MCP, a template step), since the actions call the acme REST API with the user's credentials passed on by plugin:acme. Add plugin:acme to the list to offer the actions.",
    ]);
  });
});
