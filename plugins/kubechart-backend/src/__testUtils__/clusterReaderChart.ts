import { promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * Writes chart `clusterreader` into `charts`: a ClusterRole named by `roleName` (default `reader`)
 * and a ConfigMap `<release>-cfg`, the release the tests of cluster-scoped objects install.
 */
export async function writeClusterReaderChart(charts: string): Promise<void> {
  const chart = path.join(charts, 'clusterreader');
  await fs.mkdir(path.join(chart, 'templates'), { recursive: true });
  await fs.writeFile(
    path.join(chart, 'Chart.yaml'),
    'apiVersion: v2\nname: clusterreader\nversion: 0.1.0\n',
  );
  await fs.writeFile(path.join(chart, 'values.yaml'), 'roleName: reader\n');
  await fs.writeFile(
    path.join(chart, 'templates', 'role.yaml'),
    [
      'apiVersion: rbac.authorization.k8s.io/v1',
      'kind: ClusterRole',
      'metadata:',
      '  name: {{ .Values.roleName }}',
      'rules:',
      '  - apiGroups: [""]',
      '    resources: [configmaps]',
      '    verbs: [get, list]',
      '',
    ].join('\n'),
  );
  await fs.writeFile(
    path.join(chart, 'templates', 'cm.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: {{ .Release.Name }}-cfg }\ndata: { a: b }\n',
  );
}
