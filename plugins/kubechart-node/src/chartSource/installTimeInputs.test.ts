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
