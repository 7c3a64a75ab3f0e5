import { extractTarget } from './target';

describe('extractTarget of scaffolder events', () => {
  it('does not make the template of a dry-run, named in the request body, the target', () => {
    // what the scaffolder records for POST /v2/dry-run: the template comes with the request
    expect(
      extractTarget({
        actionType: 'dry-run',
        templateRef: 'template:default/another-teams-template',
        parameters: {},
      }),
    ).toEqual({});
  });

  it('keeps the template of a task created from the catalog as the target', () => {
    expect(
      extractTarget({
        actionType: 'create',
        templateRef: 'template:default/create-app',
      }),
    ).toEqual({ entityRef: 'template:default/create-app' });
    expect(
      extractTarget({ templateRef: 'template:default/create-app' }),
    ).toEqual({ entityRef: 'template:default/create-app' });
  });
});
