import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { simCluster, TestCluster } from './__testUtils__/cluster';
import { helmRunner } from './__testUtils__/helm';
import { rawRequest } from './__testUtils__/http';

jest.setTimeout(120_000);

// The chart of ../shared/reference/kube-api/crd/helm/: a CRD in crds/ and a Widget in templates/.
// Against a real v1.26 server helm 3 and helm 4 both installed it, and uninstall kept the CRD.
const chart = resolve(__dirname, '__fixtures__/crd-chart');

describe('helm installs a chart with a crds/ folder against kube-sim', () => {
  let cluster: TestCluster;
  let dir: string;

  beforeAll(async () => {
    cluster = await simCluster({ tls: true, podReadyDelayMs: 50 });
    dir = mkdtempSync(join(tmpdir(), 'kube-sim-crd-'));
    writeFileSync(join(dir, 'kubeconfig'), cluster.sim!.kubeconfig, {
      mode: 0o600,
    });
  });

  afterAll(async () => {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  // Runs first: the CRD does not exist yet. helm 3 validates the Widget against /openapi/v2 (in protobuf), since
  // /openapi/v3 does not list its group, then fails to map the kind, as against a real server.
  it('helm 3 reports a custom resource whose CRD is missing as "resource mapping not found"', async () => {
    const withoutCrds = join(dir, 'chart-without-crds');
    cpSync(chart, withoutCrds, { recursive: true });
    rmSync(join(withoutCrds, 'crds'), { recursive: true, force: true });
    const helm = helmRunner('helm3', dir);
    let stderr = '';
    try {
      await helm('install', 'nocrd', withoutCrds, '-n', 'default', '--dry-run');
    } catch (e) {
      stderr = String((e as { stderr?: string }).stderr);
    }
    expect(stderr).toContain(
      'Error: INSTALLATION FAILED: unable to build kubernetes objects from release manifest: resource mapping not found for name: "nocrd-widget" namespace: "" from "": no matches for kind "Widget" in version "stable.example.com/v1"',
    );
    expect(stderr).toContain('ensure CRDs are installed first');
  });

  it.each(['helm4', 'helm3', 'helm4'] as const)(
    '%s installs it (the CRD may already exist) and uninstall keeps the CRD',
    async helmName => {
      const helm = helmRunner(helmName, dir);
      const release = `crd-${helmName}-${Math.random()
        .toString(36)
        .slice(2, 6)}`;
      const out = await helm(
        'install',
        release,
        chart,
        '-n',
        release,
        '--create-namespace',
      );
      expect(out).toContain('STATUS: deployed');
      const custom = cluster.kc.makeApiClient(CustomObjectsApi);
      const widget = (await custom.getNamespacedCustomObject({
        group: 'stable.example.com',
        version: 'v1',
        namespace: release,
        plural: 'widgets',
        name: `${release}-widget`,
      })) as any;
      expect(widget.spec).toEqual({ size: 3, color: 'red' });

      await helm('uninstall', release, '-n', release);
      const crd = await rawRequest(
        cluster.kc,
        'GET',
        '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.stable.example.com',
      );
      expect(crd.status).toBe(200);
      const left = await rawRequest(
        cluster.kc,
        'GET',
        `/apis/stable.example.com/v1/namespaces/${release}/widgets/${release}-widget`,
      );
      expect(left.status).toBe(404);
    },
  );
});
