/*
 * The example Software Templates as a new user meets them in the form: a field with a pattern
 * explains a refused value in a sentence (ajv-errors `errorMessage`, which the scaffolder form
 * reads) instead of printing the regular expression, and choices use `oneOf` titles, not the
 * deprecated `enumNames`. Every kubechart step names an action this module registers.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';

const dir = path.resolve(__dirname, '../../../examples/templates');

function templateFiles(): string[] {
  return readdirSync(dir).flatMap(name => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) {
      return [path.join(file, 'template.yaml')];
    }
    return name.endsWith('.yaml') ? [file] : [];
  });
}

const templates = templateFiles().flatMap(file =>
  (yaml.loadAll(readFileSync(file, 'utf8')) as any[])
    .filter(doc => doc?.kind === 'Template')
    .map(doc => [doc.metadata.name as string, doc] as const),
);

/** Every schema object under `node`, with its path. */
function* schemas(node: unknown, at: string): Generator<[string, any]> {
  if (Array.isArray(node)) {
    for (const [i, item] of node.entries()) yield* schemas(item, `${at}[${i}]`);
  } else if (node && typeof node === 'object') {
    yield [at, node];
    for (const [key, value] of Object.entries(node)) {
      // ajv-errors messages are not schemas (their `pattern` is the sentence).
      if (key !== 'errorMessage') yield* schemas(value, `${at}.${key}`);
    }
  }
}

const ACTIONS = [
  'kubechart:chart:install',
  'kubechart:chart:validate',
  'kubechart:manifests:apply',
  'kubechart:tenant:delete',
  'kubechart:tenant:provision',
];

describe('example templates', () => {
  it('finds the example templates', () => {
    expect(templates.map(([name]) => name).sort()).toEqual(
      expect.arrayContaining([
        'kubechart-chart',
        'kubechart-manifests',
        'kubechart-tenant',
        'kubechart-tenant-delete',
      ]),
    );
  });

  it.each(templates)(
    '%s explains every pattern in a sentence and uses no enumNames',
    (_name, template) => {
      const problems: string[] = [];
      for (const [at, schema] of schemas(
        template.spec.parameters,
        'parameters',
      )) {
        if ('enumNames' in schema) {
          problems.push(`${at} uses the deprecated enumNames`);
        }
        if (typeof schema.pattern === 'string') {
          const sentence = schema.errorMessage?.pattern;
          if (
            typeof sentence !== 'string' ||
            sentence.includes(schema.pattern)
          ) {
            problems.push(`${at} refuses its pattern without a sentence`);
          }
        }
      }
      expect(problems).toEqual([]);
    },
  );

  it.each(templates)(
    '%s uses only actions this module registers',
    (_name, template) => {
      const kubechartSteps = (template.spec.steps as Array<{ action: string }>)
        .map(step => step.action)
        .filter(action => action.startsWith('kubechart:'));
      for (const action of kubechartSteps) {
        expect(ACTIONS).toContain(action);
      }
    },
  );
});
