import { KubeSim, startKubeSim } from '@internal/kube-sim';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { Plan } from '@kubechart/plugin-assistant-common';
import yaml from 'js-yaml';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ClusterRegistry } from './clusters';
import { PlanExecutor } from './PlanExecutor';

jest.setTimeout(60_000);

const execFileAsync = promisify(execFile);

/** The kubectl the repository installs (scripts/install-helm.sh), as kube-sim's own tests use it. */
function kubectlBinary(): string {
  const local = resolve(__dirname, '../../../../.tools/bin/kubectl');
  if (existsSync(local)) return local;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'kubectl'))) return join(dir, 'kubectl');
  }
  throw new Error(
    'kubectl not found: run scripts/install-helm.sh (or make bootstrap) first',
  );
}

describe('PlanExecutor answers what kubectl prints', () => {
  let sim: KubeSim;
  let registry: ClusterRegistry;
  let dir: string;
  const executor = new PlanExecutor({ maxRows: 200 });
  const run = (plan: Plan) =>
    executor.execute(plan, registry.kubeConfig('sim'));

  /** kubectl's stdout, stderr and exit code. */
  async function kubectl(...args: string[]) {
    try {
      const { stdout, stderr } = await execFileAsync(kubectlBinary(), args, {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: dir,
          KUBECONFIG: join(dir, 'kubeconfig'),
        },
        timeout: 30_000,
      });
      return { stdout, stderr, code: 0 };
    } catch (e) {
      const error = e as { stdout: string; stderr: string; code: number };
      return { stdout: error.stdout, stderr: error.stderr, code: error.code };
    }
  }

  const secretValue = 'hunter2-parity-secret';

  beforeAll(async () => {
    sim = await startKubeSim({ seed: 'demo', tls: true, podReadyDelayMs: 50 });
    registry = new ClusterRegistry([
      {
        name: 'sim',
        url: sim.url,
        serviceAccountToken: sim.token,
        caData: sim.caData,
        skipTLSVerify: false,
      },
    ]);
    dir = mkdtempSync(join(tmpdir(), 'assistant-kubectl-'));
    writeFileSync(join(dir, 'kubeconfig'), sim.kubeconfig, { mode: 0o600 });
    const kc = new KubeConfig();
    kc.loadFromString(sim.kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    const words = 'word '.repeat(30).trim();
    // Values whose YAML needs each of kubectl's quoting, folding and block styles, and keys in the
    // order only kubectl's sorting gives.
    await core.createNamespacedConfigMap({
      namespace: 'payments',
      body: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: 'parity',
          namespace: 'payments',
          labels: { enabled: 'true', 'app.kubernetes.io/name': 'parity' },
          annotations: {
            note: words,
            [`${'a'.repeat(100)}.example.com/${'n'.repeat(40)}`]: 'long key',
          },
        },
        data: {
          long: words,
          longIndicator: `x: ${words}`,
          longSpecial: `tab\there ${words}`,
          multi: 'line1\nline2\n',
          multiNoEnd: 'a\nb',
          multiKeep: 'a\n\n',
          multiLeading: '  indented\nnext\n',
          leadingSpace: ' x',
          trailingSpace: 'x ',
          colon: 'a: b',
          star: '*x',
          dash: '- x',
          hash: 'a #b',
          quote: "it's",
          html: '<a&b> "q"',
          bool: 'true',
          yes: 'yes',
          num: '123',
          octal: '0755',
          float: '1.5',
          exp: '1e3',
          date: '2024-01-02',
          time: '2024-01-02T03:04:05Z',
          nul: 'null',
          tilde: '~',
          empty: '',
          tab: 'a\tb',
          uni: 'café',
          emoji: 'ok 👍',
          separator: 'a\u2028b',
          nbsp: 'a\u00a0b',
          bom: '\ufeffx y',
          item10: '',
          item9: '',
          a_b: '',
          aB: '',
          'a-b': '',
          'a.b': '',
          Z: '',
          _z: '',
          '10': '',
          '9': '',
        },
      },
    });
    for (const [name, value] of [
      ['parity-del', 'a\u007fb'],
      ['parity-nel', 'a\u0085b'],
    ]) {
      await core.createNamespacedConfigMap({
        namespace: 'payments',
        body: {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name, namespace: 'payments' },
          data: { value },
        },
      });
    }
    await core.createNamespacedSecret({
      namespace: 'payments',
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'Opaque',
        metadata: { name: 'parity-secret', namespace: 'payments' },
        data: { password: Buffer.from(secretValue).toString('base64') },
      },
    });
  });

  afterAll(async () => {
    await sim?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('prints one object as YAML and JSON exactly as kubectl get -o yaml|json does', async () => {
    const objects: Array<[Plan['resource'], string, string, string?]> = [
      ['configmaps', 'configmap', 'parity', 'payments'],
      ['deployments', 'deployment', 'payments-api', 'payments'],
      ['services', 'service', 'payments-api', 'payments'],
      ['namespaces', 'namespace', 'payments'],
    ];
    for (const [resource, kind, name, namespace] of objects) {
      for (const output of ['yaml', 'json'] as const) {
        const printed = await kubectl(
          'get',
          kind,
          name,
          ...(namespace ? ['-n', namespace] : []),
          '-o',
          output,
        );
        expect(printed.code).toBe(0);
        const result = await run({
          verb: 'get',
          resource,
          name,
          ...(namespace ? { namespace } : {}),
          output,
        });
        expect({ resource, output, result }).toEqual({
          resource,
          output,
          result: { type: 'text', text: printed.stdout },
        });
      }
    }
  });

  it('fails as kubectl does on an object it cannot print as YAML, and refuses one it would not print as kubectl', async () => {
    const printed = await kubectl(
      'get',
      'configmap',
      'parity-del',
      '-n',
      'payments',
      '-o',
      'yaml',
    );
    expect(printed.code).not.toBe(0);
    await expect(
      run({
        verb: 'get',
        resource: 'configmaps',
        name: 'parity-del',
        namespace: 'payments',
        output: 'yaml',
      }),
    ).rejects.toThrow(printed.stderr.trim());
    // kubectl folds a NEL into a space when it turns JSON into YAML: not reproduced, so refused.
    await expect(
      run({
        verb: 'get',
        resource: 'configmaps',
        name: 'parity-nel',
        namespace: 'payments',
        output: 'yaml',
      }),
    ).rejects.toThrow(
      'The assistant cannot print configmap/parity-nel as kubectl would: a key or value of this object holds a NEL character (U+0085)',
    );
    // Both print as JSON.
    for (const name of ['parity-del', 'parity-nel']) {
      const json = await kubectl(
        'get',
        'configmap',
        name,
        '-n',
        'payments',
        '-o',
        'json',
      );
      expect(
        await run({
          verb: 'get',
          resource: 'configmaps',
          name,
          namespace: 'payments',
          output: 'json',
        }),
      ).toEqual({ type: 'text', text: json.stdout });
    }
  });

  it("never prints a Secret's values: the rest is what kubectl prints", async () => {
    for (const output of ['yaml', 'json'] as const) {
      const printed = await kubectl(
        'get',
        'secret',
        'parity-secret',
        '-n',
        'payments',
        '-o',
        output,
      );
      const result = await run({
        verb: 'get',
        resource: 'secrets',
        name: 'parity-secret',
        namespace: 'payments',
        output,
      });
      expect(result.type).toBe('text');
      const text = (result as { text: string }).text;
      expect(text).not.toContain(secretValue);
      expect(text).not.toContain(Buffer.from(secretValue).toString('base64'));
      const expected = yaml.load(printed.stdout) as any;
      expected.data.password = `<${secretValue.length} bytes>`;
      expect(yaml.load(text)).toEqual(expected);
    }
  });

  it('answers a named object that does not exist with the error kubectl prints', async () => {
    const cases: Array<[Plan, string[]]> = [
      [
        {
          verb: 'get',
          resource: 'configmaps',
          name: 'nope',
          namespace: 'payments',
        },
        ['get', 'configmap', 'nope', '-n', 'payments'],
      ],
      [
        {
          verb: 'get',
          resource: 'deployments',
          name: 'nope',
          namespace: 'payments',
          output: 'yaml',
        },
        ['get', 'deployment', 'nope', '-n', 'payments', '-o', 'yaml'],
      ],
      [
        { verb: 'get', resource: 'nodes', name: 'nope' },
        ['get', 'node', 'nope'],
      ],
      [
        {
          verb: 'describe',
          resource: 'pods',
          name: 'nope',
          namespace: 'payments',
        },
        ['describe', 'pod', 'nope', '-n', 'payments'],
      ],
    ];
    for (const [plan, args] of cases) {
      const printed = await kubectl(...args);
      expect(printed.code).not.toBe(0);
      const error = await run(plan).then(
        result => ({ result }),
        (e: Error) => ({ name: e.name, message: e.message }),
      );
      expect({ args, error }).toEqual({
        args,
        error: { name: 'NotFoundError', message: printed.stderr.trim() },
      });
    }
  });
});
