import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findUnknownValues } from './unknownValues';

const exampleChart = path.resolve(
  __dirname,
  '../../../../examples/charts/kubechart-service',
);

describe('findUnknownValues', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'unknown-values-'));
    await fs.mkdir(path.join(dir, 'templates'));
    await fs.writeFile(
      path.join(dir, 'Chart.yaml'),
      'apiVersion: v2\nname: shop\nversion: 1.0.0\ndependencies:\n  - name: redis\n    alias: cache\n    version: 1.0.0\n',
    );
    await fs.writeFile(
      path.join(dir, 'values.yaml'),
      'image:\n  tag: "1"\npodAnnotations: {}\nservice:\n  port: 80\n',
    );
    await fs.writeFile(
      path.join(dir, 'values.schema.json'),
      JSON.stringify({
        type: 'object',
        properties: {
          ingress: { type: 'object', properties: { host: { type: 'string' } } },
          labels: { type: 'object', additionalProperties: { type: 'string' } },
        },
      }),
    );
    await fs.writeFile(
      path.join(dir, 'templates', 'deploy.yaml'),
      'replicas: {{ .Values.replicaCount | default 1 }}\nannotations: {{ toYaml .Values.extra.annotations }}\n',
    );
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  it('warns about a key the example chart does not use', async () => {
    expect(
      await findUnknownValues(
        { privileged: true, host: 'shop.example.com', image: { tag: '2.0.0' } },
        exampleChart,
      ),
    ).toEqual(['value `privileged` is not used by chart kubechart-service']);
  });

  it('knows values.yaml, values.schema.json, template references, subcharts and global', async () => {
    const warnings = await findUnknownValues(
      {
        image: { tag: '2', pullSecret: 'x' },
        podAnnotations: { anything: 'goes' },
        service: { port: 8080, nodePort: 30000 },
        ingress: { host: 'a', tls: true },
        labels: { team: 'a' },
        replicaCount: 3,
        extra: { annotations: { a: 'b' } },
        cache: { enabled: true },
        global: { registry: 'x' },
        hostNetwork: true,
      },
      dir,
    );
    expect(warnings).toEqual([
      'value `image.pullSecret` is not used by chart shop',
      'value `service.nodePort` is not used by chart shop',
      'value `ingress.tls` is not used by chart shop',
      'value `hostNetwork` is not used by chart shop',
    ]);
  });

  it('says nothing when every key is known, and refuses a directory that is not a chart', async () => {
    expect(await findUnknownValues({ image: { tag: '3' } }, dir)).toEqual([]);
    await expect(findUnknownValues({}, os.tmpdir())).rejects.toThrow(
      /not an unpacked chart/,
    );
  });
});
