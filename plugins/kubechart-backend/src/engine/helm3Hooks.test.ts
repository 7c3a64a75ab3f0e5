import type {
  HelmHook,
  InstallTimeInputs,
} from '@kubechart/plugin-kubechart-node';
import {
  findInstallTimeInputs,
  parseManifests,
} from '@kubechart/plugin-kubechart-node';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import nodePath from 'node:path';
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
    ).toContain(
      'helm 3 renders any hook its templates render then again at install',
    );
  });

  it('refuses lookup in a template no checked hook comes from: that template may render a hook at install', () => {
    for (const hooks of [[hook('h', 'app/templates/job.yaml')], []]) {
      expect(
        helm3HookRefusal(
          'r',
          hooks,
          inputs({
            hookTemplates: ['templates/job.yaml'],
            calls: [{ fn: 'lookup', file: 'templates/deployment.yaml' }],
          }),
        ),
      ).toContain('use lookup (templates/deployment.yaml)');
    }
  });

  it('allows hooks that render the same at install', () => {
    const hooks = [hook('h', 'app/templates/job.yaml')];
    expect(
      helm3HookRefusal(
        'r',
        hooks,
        inputs({
          hookTemplates: ['templates/job.yaml'],
          namedTemplateFiles: ['templates/_helpers.tpl'],
        }),
      ),
    ).toBeUndefined();
    expect(helm3HookRefusal('r', [], inputs())).toBeUndefined();
  });
});

describe('helm3HookRefusal on charts read by findInstallTimeInputs', () => {
  let root: string;
  const chartWith = async (file: string, text: string) => {
    await fs.mkdir(nodePath.join(root, 'templates'), { recursive: true });
    await fs.writeFile(
      nodePath.join(root, 'Chart.yaml'),
      'apiVersion: v2\nname: c\nversion: 0.1.0\n',
    );
    await fs.writeFile(nodePath.join(root, 'templates', file), text);
    return findInstallTimeInputs(root);
  };
  beforeEach(async () => {
    root = await fs.mkdtemp(nodePath.join(os.tmpdir(), 'helm3-hooks-'));
  });
  afterEach(() => fs.rm(root, { recursive: true, force: true }));

  it('refuses a hook whose template draws a random salt (bcrypt), naming the template, the function and helm 4', async () => {
    const found = await chartWith(
      'hook.yaml',
      [
        'apiVersion: v1',
        'kind: Pod',
        'metadata:',
        '  name: h',
        '  annotations: { "helm.sh/hook": pre-install }',
        'spec:',
        ' {{- if lt (bcrypt "x" | sha256sum | trunc 1) "8" }}',
        ' hostNetwork: true',
        ' {{- end }}',
        ' containers: [{ name: c, image: busybox }]',
        '',
      ].join('\n'),
    );
    const reason = helm3HookRefusal(
      'r',
      [hook('h', 'c/templates/hook.yaml')],
      found,
    );
    expect(reason).toContain('bcrypt (templates/hook.yaml)');
    expect(reason).toContain('Install it with helm 4 (kubechart.helm.binary)');
    expect(reason).toContain('or remove those calls from the chart');
  });

  it('refuses a chart whose hook annotation is built at render time, though the dry run rendered no hook and no template spells helm.sh/hook', async () => {
    const found = await chartWith(
      'pod.yaml',
      [
        '{{- if lt (randAlphaNum 1) "a" }}',
        'apiVersion: v1',
        'kind: Pod',
        'metadata:',
        '  name: p',
        '  annotations:',
        '    {{ printf "helm.sh/%s" "hook" }}: pre-install',
        'spec:',
        '  hostNetwork: true',
        '  containers: [{ name: c, image: busybox }]',
        '{{- end }}',
        '',
      ].join('\n'),
    );
    const reason = helm3HookRefusal('r', [], found);
    expect(reason).toContain(
      'helm 3 cannot install release r with its hooks checked as they run; nothing was applied.',
    );
    expect(reason).toContain('randAlphaNum (templates/pod.yaml)');
    expect(reason).toContain('Install it with helm 4 (kubechart.helm.binary)');
  });

  it('with kubechart.helm.helm3HookInputs hook-templates, reads only the templates hooks come from or spell helm.sh/hook, and named templates', async () => {
    const renderTime = await chartWith(
      'pod.yaml',
      [
        '{{- if lt (randAlphaNum 1) "a" }}',
        'metadata:',
        '  annotations:',
        '    {{ printf "helm.sh/%s" "hook" }}: pre-install',
        '{{- end }}',
        '',
      ].join('\n'),
    );
    // The documented risk of the narrower mode: this chart's hook is never checked.
    expect(
      helm3HookRefusal('r', [], renderTime, 'hook-templates'),
    ).toBeUndefined();
    expect(helm3HookRefusal('r', [], renderTime, 'any-template')).toContain(
      'randAlphaNum (templates/pod.yaml)',
    );
    expect(helm3HookRefusal('r', [], renderTime)).toContain(
      'randAlphaNum (templates/pod.yaml)',
    );

    const mode = 'hook-templates' as const;
    const withLookup = inputs({
      calls: [{ fn: 'lookup', file: 'templates/deployment.yaml' }],
      hookTemplates: ['templates/job.yaml'],
    });
    const jobHook = [hook('h', 'app/templates/job.yaml')];
    expect(helm3HookRefusal('r', jobHook, withLookup, mode)).toBeUndefined();
    expect(helm3HookRefusal('r', [], withLookup, mode)).toBeUndefined();
    // A call in a template the dry run names as a hook, one spelling helm.sh/hook, or a named template.
    expect(
      helm3HookRefusal(
        'r',
        [hook('h', 'app/templates/deployment.yaml')],
        withLookup,
        mode,
      ),
    ).toContain(
      'hooks (Job/h) again at install and does not pass them through the post-renderer, and the templates they come from or may include use lookup (templates/deployment.yaml)',
    );
    expect(
      helm3HookRefusal(
        'r',
        [],
        inputs({
          calls: [{ fn: 'now', file: 'templates/job.yaml' }],
          hookTemplates: ['templates/job.yaml'],
        }),
        mode,
      ),
    ).toContain('hooks (templates/job.yaml)');
    expect(
      helm3HookRefusal(
        'r',
        jobHook,
        inputs({
          calls: [{ fn: 'tpl', file: 'templates/_helpers.tpl' }],
          namedTemplateFiles: ['templates/_helpers.tpl'],
        }),
        mode,
      ),
    ).toContain('use tpl (templates/_helpers.tpl)');
    expect(
      helm3HookRefusal(
        'r',
        jobHook,
        inputs({ unreadable: ['charts/db-1.0.0.tgz'] }),
        mode,
      ),
    ).toContain(
      'a packaged subchart the check cannot read (charts/db-1.0.0.tgz)',
    );
  });

  it('installs a chart that ranges over sorted keys on helm 3, and refuses one that ranges over unsorted keys', async () => {
    const sorted = await chartWith(
      'cm.yaml',
      [
        'metadata: { name: c }',
        'data:',
        '{{- range $k := keys .Values.env | sortAlpha }}',
        '  {{ $k }}: {{ index $.Values.env $k | quote }}',
        '{{- end }}',
        '',
      ].join('\n'),
    );
    expect(helm3HookRefusal('r', [], sorted)).toBeUndefined();
    const unsorted = await chartWith(
      'cm.yaml',
      '{{- range $k := keys .Values.env }}{{ $k }}{{- end }}\n',
    );
    expect(helm3HookRefusal('r', [], unsorted)).toContain(
      'keys (templates/cm.yaml)',
    );
  });

  it('installs an ordinary chart without such calls, hooks or not', async () => {
    const found = await chartWith(
      'job.yaml',
      [
        'apiVersion: batch/v1',
        'kind: Job',
        'metadata:',
        '  name: {{ .Release.Name }}-migrate',
        '  annotations: { "helm.sh/hook": pre-install }',
        'spec: { template: { spec: { containers: [{ name: c, image: {{ .Values.image | default "busybox" | quote }} }] } } }',
        '',
      ].join('\n'),
    );
    expect(
      helm3HookRefusal('r', [hook('r-migrate', 'c/templates/job.yaml')], found),
    ).toBeUndefined();
    expect(helm3HookRefusal('r', [], found)).toBeUndefined();
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
