import type {
  HelmHook,
  InstallTimeInputs,
} from '@kubechart/plugin-kubechart-node';
import type { Helm3HookInputs } from './settings';

/** A hook's template path (`<chart>/templates/x.yaml`, `<chart>/charts/sub/templates/y.yaml`) relative to the chart. */
const chartRelative = (hookPath: string) =>
  hookPath.split('/').slice(1).join('/');

/**
 * helm 3 does not pass hooks through the post-renderer: it renders them again at install, after the
 * engine checked them from a server dry run. That check holds only when the render cannot change in
 * between. The reason to refuse a release whose templates call a function whose output can change
 * between two renders (`lookup`, `tpl`, randomness, the clock, map order), or whose chart has packaged
 * subcharts the check cannot read; undefined when the templates looked at render the same at install.
 *
 * `any-template` (the default) looks at every template and named template: which templates render
 * hooks cannot be read from the chart (a hook's annotation may be built at render time, and a
 * template may `set` values that later templates read). `hook-templates`
 * (`kubechart.helm.helm3HookInputs`) looks only at the templates the dry run names as hooks or that
 * spell `helm.sh/hook`, and the named templates they may include: a chart whose hook annotation is
 * built at render time can then run a hook on helm 3 that was never checked.
 */
export function helm3HookRefusal(
  release: string,
  hooks: HelmHook[],
  inputs: InstallTimeInputs,
  mode: Helm3HookInputs = 'any-template',
): string | undefined {
  const hookNames = hooks.map(h => `${h.kind}/${h.name}`).join(', ');
  let calls = inputs.calls;
  let which = hooks.length
    ? `its hooks (${hookNames})`
    : 'any hook its templates render then';
  let from =
    "the chart's templates (any template may render a hook: its annotation can be built at render time)";
  if (mode === 'hook-templates') {
    const hookFiles = new Set([
      ...hooks.map(h => chartRelative(h.path)),
      ...inputs.hookTemplates,
    ]);
    if (!hookFiles.size) return undefined;
    const reachable = new Set([...hookFiles, ...inputs.namedTemplateFiles]);
    calls = calls.filter(c => reachable.has(c.file));
    which = `hooks (${hooks.length ? hookNames : [...hookFiles].join(', ')})`;
    from = 'the templates they come from or may include';
  }
  const why = [
    ...calls.map(c => `${c.fn} (${c.file})`),
    ...inputs.unreadable.map(
      u => `a packaged subchart the check cannot read (${u})`,
    ),
  ];
  if (!why.length) return undefined;
  return [
    `helm 3 cannot install release ${release} with its hooks checked as they run; nothing was applied.`,
    `helm 3 renders ${which} again at install and does not pass them through the post-renderer,`,
    `and ${from} use ${why.join(
      ', ',
    )}, so the hooks helm 3 would run may differ from the ones checked.`,
    'Install it with helm 4 (kubechart.helm.binary), whose post-renderer checks hooks as they are applied, or remove those calls from the chart.',
  ].join(' ');
}

/**
 * Hooks helm ran that are not, byte for byte, among the ones checked before the install. Equal text
 * is equal objects only because the check reads hooks as helm does: text helm's YAML reader would
 * read otherwise (U+2028 and the like, a `---` line only helm splits at) is refused when parsed.
 */
export function uncheckedHooks(
  ran: HelmHook[],
  checked: HelmHook[],
): HelmHook[] {
  const seen = new Set(checked.map(h => h.manifest));
  return ran.filter(h => !seen.has(h.manifest));
}

/** Hook manifests as `helm get hooks` prints them, to follow a release's manifest. */
export function hooksManifest(
  hooks: Array<Pick<HelmHook, 'path' | 'manifest'>>,
): string {
  return hooks
    .map(
      h =>
        `---\n# Source: ${h.path}\n${
          h.manifest.endsWith('\n') ? h.manifest : `${h.manifest}\n`
        }`,
    )
    .join('');
}

/**
 * A release's manifest followed by its hooks, as one multi-document text: a manifest that does not
 * end in a newline would run into the first hook's `---` (one document with duplicate keys, which
 * the policy's parser refuses).
 */
export function withHooks(
  manifest: string,
  hooks: Array<Pick<HelmHook, 'path' | 'manifest'>> | undefined,
): string {
  const after = hooksManifest(hooks ?? []);
  if (!after) return manifest;
  return manifest && !manifest.endsWith('\n')
    ? `${manifest}\n${after}`
    : `${manifest}${after}`;
}
