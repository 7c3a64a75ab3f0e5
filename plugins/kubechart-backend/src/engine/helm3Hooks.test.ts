import type {
  HelmHook,
  InstallTimeInputs,
} from '@kubechart/plugin-kubechart-node';
import { parseManifests } from '@kubechart/plugin-kubechart-node';
import {
  helm3HookRefusal,
  hooksManifest,
  uncheckedHooks,
  withHooks,
} from './helm3Hooks';

const hook = (
  name: string,
  path: string,
  manifest = `kind: Job\nmetadata: { name: ${name} }\n`,
): HelmHook => ({
  name,
  kind: 'Job',
  path,
  events: ['pre-install'],
  manifest,
});
const inputs = (over: Partial<InstallTimeInputs> = {}): InstallTimeInputs => ({
  calls: [],
  hookTemplates: [],
  namedTemplateFiles: [],
  unreadable: [],
  ...over,
});

describe('helm3HookRefusal', () => {
  it('refuses hooks whose template calls lookup, naming the call, the hook and helm 4', () => {
    const reason = helm3HookRefusal(
      'web',
      [hook('web-migrate', 'app/templates/job.yaml')],
      inputs({
        calls: [{ fn: 'lookup', file: 'templates/job.yaml' }],
        hookTemplates: ['templates/job.yaml'],
      }),
    );
    expect(reason).toContain(
      'helm 3 cannot install release web with its hooks checked as they run; nothing was applied.',
    );
    expect(reason).toContain('hooks (Job/web-migrate)');
    expect(reason).toContain('use lookup (templates/job.yaml)');
    expect(reason).toContain('Install it with helm 4 (kubechart.helm.binary)');
  });

  it('refuses when a named template a hook may include draws randomness or evaluates text, or a subchart is packaged', () => {
    const hooks = [hook('h', 'app/charts/db/templates/init.yaml')];
    expect(
      helm3HookRefusal(
        'r',
        hooks,
        inputs({
          namedTemplateFiles: ['templates/_helpers.tpl'],
          calls: [{ fn: 'randAlphaNum', file: 'templates/_helpers.tpl' }],
        }),
      ),
    ).toContain('randAlphaNum (templates/_helpers.tpl)');
    expect(
      helm3HookRefusal(
        'r',
        hooks,
        inputs({
          calls: [{ fn: 'tpl', file: 'charts/db/templates/init.yaml' }],
        }),
      ),
    ).toContain('tpl (charts/db/templates/init.yaml)');
    expect(
      helm3HookRefusal(
        'r',
        hooks,
        inputs({ unreadable: ['charts/db-1.0.0.tgz'] }),
      ),
    ).toContain(
      'a packaged subchart the check cannot read (charts/db-1.0.0.tgz)',
    );
  });

  it('refuses a template that names helm.sh/hook even when the dry run rendered no hook from it', () => {
    expect(
      helm3HookRefusal(
        'r',
        [],
        inputs({
          hookTemplates: ['templates/maybe.yaml'],
          calls: [{ fn: 'lookup', file: 'templates/maybe.yaml' }],
        }),
      ),
    ).toContain('hooks (templates/maybe.yaml)');
  });

  it('allows hooks that render the same at install, and lookup in templates no hook reaches', () => {
    const hooks = [hook('h', 'app/templates/job.yaml')];
    expect(
      helm3HookRefusal(
        'r',
        hooks,
        inputs({ hookTemplates: ['templates/job.yaml'] }),
      ),
    ).toBeUndefined();
    expect(
      helm3HookRefusal(
        'r',
        hooks,
        inputs({
          hookTemplates: ['templates/job.yaml'],
          calls: [{ fn: 'lookup', file: 'templates/deployment.yaml' }],
        }),
      ),
    ).toBeUndefined();
    // Without hooks helm 3's post-renderer sees everything helm applies (except crds/, checked apart).
    expect(
      helm3HookRefusal(
        'r',
        [],
        inputs({
          calls: [{ fn: 'lookup', file: 'templates/deployment.yaml' }],
        }),
      ),
    ).toBeUndefined();
  });
});

describe('uncheckedHooks and hooksManifest', () => {
  it('names the hooks helm ran that differ from the checked ones, byte for byte', () => {
    const checked = [
      hook('a', 'c/templates/a.yaml'),
      hook('b', 'c/templates/b.yaml'),
    ];
    const ran = [
      checked[0],
      hook(
        'b',
        'c/templates/b.yaml',
        'kind: Job\nmetadata: { name: b }\nspec: { privileged: true }\n',
      ),
      hook('c', 'c/templates/c.yaml'),
    ];
    expect(uncheckedHooks(ran, checked).map(h => h.name)).toEqual(['b', 'c']);
    expect(uncheckedHooks(checked, checked)).toEqual([]);
  });

  it('prints hooks as helm get hooks does', () => {
    expect(
      hooksManifest([
        { path: 'c/templates/a.yaml', manifest: 'kind: Job' },
        { path: 'c/templates/b.yaml', manifest: 'kind: Pod\n' },
      ]),
    ).toBe(
      '---\n# Source: c/templates/a.yaml\nkind: Job\n---\n# Source: c/templates/b.yaml\nkind: Pod\n',
    );
  });

  it('follows a release manifest that does not end in a newline with its hooks as separate documents', () => {
    const text = withHooks('kind: ConfigMap\nmetadata:\n  name: cfg', [
      {
        path: 'c/templates/job.yaml',
        manifest: 'kind: Job\nmetadata:\n  name: j\n',
      },
    ]);
    expect(
      parseManifests(text).map(o => `${o.kind}/${o.metadata?.name}`),
    ).toEqual(['ConfigMap/cfg', 'Job/j']);
    expect(withHooks('kind: ConfigMap\n', [])).toBe('kind: ConfigMap\n');
  });
});
