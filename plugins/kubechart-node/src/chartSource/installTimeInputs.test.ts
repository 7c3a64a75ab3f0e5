import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findInstallTimeInputs } from './installTimeInputs';

describe('findInstallTimeInputs', () => {
  let root: string;
  const write = async (file: string, text: string) => {
    await fs.mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await fs.writeFile(path.join(root, file), text);
  };
  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'inputs-'));
  });
  afterEach(() => fs.rm(root, { recursive: true, force: true }));

  it('finds lookup, tpl, randomness and the clock inside template actions, in the chart and its subcharts', async () => {
    await write(
      'templates/job.yaml',
      'metadata:\n  annotations: { "helm.sh/hook": pre-install }\n{{- $m := lookup "v1" "ConfigMap" .Release.Namespace "x" }}\n',
    );
    await write(
      'templates/_helpers.tpl',
      '{{- define "pw" -}}{{ randAlphaNum 16 | b64enc }}{{- end }}\n{{- define "t" -}}{{ tpl .Values.extra . }}{{ now | date "2006" }}{{- end }}\n',
    );
    await write(
      'charts/sub/templates/cm.yaml',
      'data:\n  host: {{ getHostByName "db.internal" }}\n',
    );
    const found = await findInstallTimeInputs(root);
    expect(found.calls.map(c => `${c.fn} ${c.file}`).sort()).toEqual([
      'date templates/_helpers.tpl',
      'getHostByName charts/sub/templates/cm.yaml',
      'lookup templates/job.yaml',
      'now templates/_helpers.tpl',
      'randAlphaNum templates/_helpers.tpl',
      'tpl templates/_helpers.tpl',
    ]);
    expect(found.hookTemplates).toEqual(['templates/job.yaml']);
    expect(found.namedTemplateFiles).toEqual(['templates/_helpers.tpl']);
    expect(found.unreadable).toEqual([]);
  });

  it('finds every sprig and helm function whose output can change between two renders of the same values', async () => {
    await write(
      'templates/hook.yaml',
      [
        'metadata:\n  annotations: { "helm.sh/hook": pre-install }',
        'spec:',
        '  {{- if lt (bcrypt "x" | sha256sum | trunc 1) "8" }}',
        '  hostNetwork: true',
        '  {{- end }}',
        '  a: {{ htpasswd "u" "p" }} {{ encryptAES "k" "t" }}',
        '  b: {{ first (keys (dict "a" 1 "b" 2)) }} {{ first (values .Values.m) }}',
        '  c: {{ date "2006" .Values.when }} {{ dateInZone "2006" .Values.when "UTC" }} {{ date_in_zone "2006" 0 "UTC" }}',
        '  d: {{ htmlDate .Values.when }} {{ htmlDateInZone .Values.when "UTC" }} {{ durationRound .Values.since }}',
        '  e: {{ dateModify "1h" .Values.t }} {{ date_modify "1h" .Values.t }} {{ mustDateModify "1h" .Values.t }} {{ must_date_modify "1h" .Values.t }}',
        '',
      ].join('\n'),
    );
    const found = await findInstallTimeInputs(root);
    expect(found.calls.map(c => c.fn).sort()).toEqual(
      [
        'bcrypt',
        'date',
        'dateInZone',
        'dateModify',
        'date_in_zone',
        'date_modify',
        'durationRound',
        'encryptAES',
        'htmlDate',
        'htmlDateInZone',
        'htpasswd',
        'keys',
        'mustDateModify',
        'must_date_modify',
        'values',
      ].sort(),
    );
  });

  it('does not count keys or values piped straight into sortAlpha, and counts every other use of them', async () => {
    await write(
      'templates/sorted.yaml',
      [
        '{{- range $k := keys .Values.env | sortAlpha }}{{ $k }}{{ end }}',
        '{{- range sortAlpha (keys $.Values.labels) }}{{ . }}{{ end }}',
        '{{- $v := values $m | sortAlpha }}{{ $w := sortAlpha ( values $m.a ) }}',
        '{{- range $k := keys',
        '  .Values.multi | sortAlpha }}{{ end }}',
        '',
      ].join('\n'),
    );
    await write(
      'templates/unsorted.yaml',
      [
        '{{- range keys .Values.env }}{{ . }}{{ end }}',
        '{{- $f := first (values .Values.m) }}',
        '{{- $s := keys .Values.m | first }}',
        '{{- $t := sortAlpha (keys (merge $a $b)) }}',
        '{{- $u := keys (merge $a $b) | sortAlpha }}',
        '{{- $x := sortAlpha (keys $a | reverse) }}',
        '',
      ].join('\n'),
    );
    const found = await findInstallTimeInputs(root);
    expect(found.calls).toEqual([
      { fn: 'keys', file: 'templates/unsorted.yaml' },
      { fn: 'values', file: 'templates/unsorted.yaml' },
    ]);
    // Each unsorted form alone counts.
    const lines = [
      '{{ range keys .Values.env }}{{ end }}',
      '{{ $f := first (values .Values.m) }}',
      '{{ $s := keys .Values.m | first }}',
      '{{ $t := sortAlpha (keys (merge $a $b)) }}',
      '{{ $u := keys (merge $a $b) | sortAlpha }}',
      '{{ $x := sortAlpha (keys $a | reverse) }}',
      '{{ $y := keys $a $b | sortAlpha }}',
      '{{ $z := keys $a | sortAlpha | first }}{{ keys $a }}',
    ];
    for (const line of lines) {
      await fs.rm(path.join(root, 'templates'), { recursive: true });
      await write('templates/one.yaml', `${line}\n`);
      expect({
        line,
        calls: (await findInstallTimeInputs(root)).calls.length,
      }).toEqual({ line, calls: 1 });
    }
  });

  it('ignores the same words as values fields, variables, YAML keys, string literals, comments and text outside actions', async () => {
    await write(
      'templates/cm.yaml',
      'data:\n  lookup: "{{ .Values.lookup }}"\n  mode: {{ $tpl := .Values.now }}{{ $tpl }}\n  note: use lookup or tpl here\n  rand: {{ .Values.randAlphaNum | quote }}\n  {{- /* no lookup here */}}\n  {{- if ne .Values.attack "lookup" }}{{ printf `tpl %s` "now" }}{{ end }}\n',
    );
    const found = await findInstallTimeInputs(root);
    expect(found).toEqual({
      calls: [],
      hookTemplates: [],
      namedTemplateFiles: [],
      unreadable: [],
    });
  });

  it('lists packaged subcharts as unreadable, so a caller can fail closed', async () => {
    await write('templates/cm.yaml', 'kind: ConfigMap\n');
    await write('charts/db-1.0.0.tgz', 'not read');
    expect((await findInstallTimeInputs(root)).unreadable).toEqual([
      'charts/db-1.0.0.tgz',
    ]);
  });

  it('refuses a chart with more template files than the bound', async () => {
    await fs.mkdir(path.join(root, 'templates'), { recursive: true });
    await Promise.all(
      Array.from({ length: 2001 }, (_, i) =>
        fs.writeFile(path.join(root, 'templates', `t${i}.yaml`), 'x'),
      ),
    );
    await expect(findInstallTimeInputs(root)).rejects.toThrow(
      /more than 2000 files/,
    );
  });
});
