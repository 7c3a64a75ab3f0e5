import { InputError } from '@backstage/errors';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PolicyEngine } from '../policy';
import { HelmCli, HelmCommandError } from './HelmCli';
import { which } from '../__testUtils__/helmCluster';

const chart = path.resolve(__dirname, '../__fixtures__/charts/webapp');

describe.each([['helm3'], ['helm4']])('HelmCli with real %s', bin => {
  const helm = new HelmCli({ binary: which(bin) });

  it('reports its major version', async () => {
    expect((await helm.version()).major).toBe(bin === 'helm3' ? 3 : 4);
  });

  it('renders the test chart with values from a temp file', async () => {
    const lines: string[] = [];
    const manifest = await helm.template({
      release: 'shop',
      chart,
      namespace: 'team-a',
      values: { replicas: 3, database: { password: 'hunter22' } },
      onLine: (l, s) => s === 'stdout' && lines.push(l),
    });
    expect(manifest).toContain('kind: Deployment');
    expect(manifest).toContain('replicas: 3');
    expect(manifest).toContain('"hunter22"');
    expect(lines.length).toBeGreaterThan(20);
    const report = new PolicyEngine({
      trustedRegistries: ['registry.example.com'],
    }).checkYaml(manifest);
    expect(report.passed).toBe(true);
  });

  it('surfaces helm error text', async () => {
    await expect(
      helm.template({
        release: 'shop',
        chart: path.join(chart, 'missing'),
        namespace: 'x',
      }),
    ).rejects.toThrow(/helm template failed: .*(not found|no such file|path)/i);
  });
});

describe('HelmCli process handling', () => {
  let dir: string;
  let fake: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fakehelm-'));
    fake = path.join(dir, 'helm');
    // Records argv one per line, the mode and content of the --values file, then obeys FAKE_MODE.
    await fs.writeFile(
      fake,
      `#!/bin/sh
out="${dir}/calls"
for a in "$@"; do echo "ARG:$a" >> "$out"; done
env | grep -E '^(HELM_|KUBECONFIG)' | sed 's/^/ENV:/' >> "$out"
prev=""
for a in "$@"; do
  if [ "$prev" = "--values" ]; then echo "MODE:$(stat -c %a "$a")" >> "$out"; echo "VALUES:$(cat "$a")" >> "$out"; echo "$a" > "${dir}/valuesfile"; fi
  prev="$a"
done
if [ "$FAKE_MODE" = "upgraded" ]; then
  if [ "$1" = "status" ]; then
    rev=""; p=""
    for a in "$@"; do if [ "$p" = "--revision" ]; then rev="$a"; fi; p="$a"; done
    r="$rev"; if [ -z "$r" ]; then r=9; fi
    printf '{"version": %s, "manifest": "kind: ConfigMap # revision %s"}\\n' "$r" "$r"
    exit 0
  fi
  printf 'Release "web" has been upgraded. Happy Helming!\\nNAME: web\\nSTATUS: deployed\\nREVISION: 3\\nNOTES:\\nREVISION: 99\\n'
  exit 0
fi
echo "line one"
echo "line two"
echo "warn: something" >&2
if [ "$FAKE_MODE" = "sleep" ]; then sleep 30; fi
if [ "$FAKE_MODE" = "fail" ]; then echo "Error: UPGRADE FAILED: boom" >&2; exit 1; fi
if [ "$FAKE_MODE" = "failsecret" ]; then printf 'Error: execution error: db: password: "s-first\\ns-second\\ns-third\\ns-fourth\\ns-fifth\\ns-sixth" refused\\n' >&2; exit 1; fi
exit 0
`,
      { mode: 0o755 },
    );
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));
  beforeEach(() => fs.rm(path.join(dir, 'calls'), { force: true }));

  const calls = async () =>
    (await fs.readFile(path.join(dir, 'calls'), 'utf8')).split('\n');

  it('passes argv verbatim (no shell) and values via a 0600 file that is removed', async () => {
    const helm = new HelmCli({ binary: fake });
    const lines: Array<[string, string]> = [];
    await helm.template({
      release: 'r1',
      chart: 'nginx',
      repo: 'https://charts.example.com/stable',
      version: '1.2.3',
      namespace: 'ns',
      values: { msg: 'a b; $(echo pwned)' },
      onLine: (l, s) => lines.push([s, l]),
    });
    const c = await calls();
    const args = c.filter(l => l.startsWith('ARG:')).map(l => l.slice(4));
    expect(args.slice(0, 9)).toEqual([
      'template',
      'r1',
      'nginx',
      '--repo',
      'https://charts.example.com/stable',
      '--version',
      '1.2.3',
      '--namespace',
      'ns',
    ]);
    expect(args[9]).toBe('--values');
    expect(c).toContain('MODE:600');
    expect(c).toContain('VALUES:{"msg":"a b; $(echo pwned)"}');
    const valuesFile = (
      await fs.readFile(path.join(dir, 'valuesfile'), 'utf8')
    ).trim();
    await expect(fs.stat(valuesFile)).rejects.toThrow(/ENOENT/);
    expect(lines).toEqual([
      ['stdout', 'line one'],
      ['stdout', 'line two'],
      ['stderr', 'warn: something'],
    ]);
  });

  it('acts as the impersonated user on every cluster call (--kube-as-user, --kube-as-group)', async () => {
    const helm = new HelmCli({ binary: fake });
    await helm.uninstall({
      release: 'web',
      namespace: 'tenant-acme',
      kubeconfig: '{}',
      impersonate: {
        user: 'system:serviceaccount:tenant-acme:kubechart-deployer',
        groups: ['team-a'],
      },
    });
    const args = (await calls())
      .filter(l => l.startsWith('ARG:'))
      .map(l => l.slice(4));
    const at = args.indexOf('--kube-as-user');
    expect(args.slice(at, at + 4)).toEqual([
      '--kube-as-user',
      'system:serviceaccount:tenant-acme:kubechart-deployer',
      '--kube-as-group',
      'team-a',
    ]);
    expect(args[args.indexOf('--kubeconfig') + 1]).toMatch(/kubeconfig$/);
  });

  it('stores release records as Secrets at the cluster and identity it is given, whatever HELM_* or KUBECONFIG the backend has', async () => {
    const outside = {
      HELM_DRIVER: 'configmap',
      HELM_KUBEASUSER: 'system:admin',
      HELM_KUBEASGROUPS: 'system:masters',
      HELM_KUBECONTEXT: 'prod',
      HELM_KUBEAPISERVER: 'https://elsewhere.example.com',
      HELM_KUBETOKEN: 'token-from-the-environment',
      HELM_NAMESPACE: 'default',
      HELM_MAX_HISTORY: '1',
      KUBECONFIG: 'kubeconfig-of-the-backend',
    };
    const saved = { ...process.env };
    Object.assign(process.env, outside);
    try {
      const helm = new HelmCli({ binary: fake });
      await helm
        .upgradeInstall({
          release: 'web',
          chart: 'nginx',
          namespace: 'tenant-acme',
          values: {},
        })
        // The fake answers `helm status` with no release.
        .catch(() => undefined);
    } finally {
      for (const k of Object.keys(outside)) {
        if (k in saved) process.env[k] = saved[k];
        else delete process.env[k];
      }
    }
    const env = (await calls())
      .filter(l => l.startsWith('ENV:'))
      .map(l => l.slice(4));
    expect(env).toContain('HELM_DRIVER=secret');
    for (const [k, v] of Object.entries(outside)) {
      expect(env).not.toContain(`${k}=${v}`);
    }
  });

  it('upgrades with exactly the values given (--reset-values), not the values of the current release record', async () => {
    const helm = new HelmCli({ binary: fake });
    await helm
      .upgradeInstall({
        release: 'web',
        chart: 'nginx',
        namespace: 'tenant-acme',
        values: {},
      })
      // The fake answers `helm status` with no release.
      .catch(() => undefined);
    const args = (await calls())
      .filter(l => l.startsWith('ARG:'))
      .map(l => l.slice(4));
    expect(args.slice(0, 2)).toEqual(['upgrade', '--install']);
    expect(args).toContain('--reset-values');
    expect(args).not.toContain('--reuse-values');
  });

  it("returns the revision helm reports it wrote and that revision's record, not the release's latest", async () => {
    // Another revision (here 9) may be the latest once helm has exited.
    const helm = new HelmCli({ binary: fake, env: { FAKE_MODE: 'upgraded' } });
    const result = await helm.upgradeInstall({
      release: 'web',
      chart: 'nginx',
      namespace: 'tenant-acme',
      values: {},
    });
    expect(result).toEqual({
      revision: 3,
      manifest: 'kind: ConfigMap # revision 3',
      hooks: [],
    });
    const args = (await calls())
      .filter(l => l.startsWith('ARG:'))
      .map(l => l.slice(4));
    const status = args.lastIndexOf('status');
    expect(args.slice(status, status + 6)).toEqual([
      'status',
      'web',
      '--namespace',
      'tenant-acme',
      '--revision',
      '3',
    ]);
  });

  it('refuses an upgrade whose helm reports no revision it wrote', async () => {
    const helm = new HelmCli({ binary: fake });
    const err = await helm
      .upgradeInstall({
        release: 'web',
        chart: 'nginx',
        namespace: 'tenant-acme',
        values: {},
      })
      .catch(e => e);
    expect(err).toBeInstanceOf(HelmCommandError);
    expect(err.message).toBe(
      'helm upgrade --install of release web in tenant-acme did not report the revision it wrote',
    );
  });

  it("reads all of helm's output and settles as helm did when its line listener throws", async () => {
    const helm = new HelmCli({ binary: fake });
    const seen: string[] = [];
    const output = await helm.template({
      release: 'r1',
      chart: 'nginx',
      namespace: 'ns',
      onLine: line => {
        seen.push(line);
        throw new Error('the listener broke');
      },
    });
    // called until it threw, not again for this command; the output is whole
    expect(seen).toHaveLength(1);
    expect(output).toContain('line one');
    expect(output).toContain('line two');
  });

  it('kills helm on timeout', async () => {
    const helm = new HelmCli({
      binary: fake,
      env: { FAKE_MODE: 'sleep' },
      timeoutMs: 300,
    });
    const start = Date.now();
    const err = await helm
      .template({ release: 'r', chart: 'c', namespace: 'n' })
      .catch(e => e);
    expect(err).toBeInstanceOf(HelmCommandError);
    expect(err.message).toMatch(/timed out after 0s and was killed/);
    expect(err.timedOut).toBe(true);
    expect(Date.now() - start).toBeLessThan(5000);
  });

  it('turns a non-zero exit into an error with helm text', async () => {
    const helm = new HelmCli({ binary: fake, env: { FAKE_MODE: 'fail' } });
    await expect(
      helm.template({ release: 'r', chart: 'c', namespace: 'n' }),
    ).rejects.toThrow(
      'helm template failed: warn: something\nError: UPGRADE FAILED: boom',
    );
  });

  it("keeps a secret value over lines out of the error's last lines, whose key is on a line before them", async () => {
    const helm = new HelmCli({
      binary: fake,
      env: { FAKE_MODE: 'failsecret' },
    });
    const err = await helm
      .template({ release: 'r', chart: 'c', namespace: 'n' })
      .catch(e => e);
    expect(err.message).toBe(
      'helm template failed: warn: something\nError: execution error: db: password: "***" refused',
    );
    expect(err.stderr).toContain('s-sixth');
  });

  it('reports a missing binary clearly', async () => {
    const helm = new HelmCli({ binary: path.join(dir, 'nope') });
    await expect(
      helm.template({ release: 'r', chart: 'c', namespace: 'n' }),
    ).rejects.toThrow(/could not be started/);
  });

  it.each([
    [{ chart: 'nginx;rm -rf /' }, /Invalid chart/],
    [{ chart: '$(id)' }, /Invalid chart/],
    [{ chart: '--post-renderer=/bin/sh' }, /Invalid chart/],
    [{ chart: '../../etc' }, /Invalid chart/],
    [{ repo: 'http://charts.example.com' }, /only https/],
    [{ repo: 'https://u:p@charts.example.com' }, /credentials/],
    [{ release: 'Bad_Name' }, /Invalid release/],
    [{ namespace: 'a b' }, /Invalid namespace/],
    [{ version: '1.0 && id' }, /Invalid chart version/],
  ])('rejects unsafe input %p before spawning', async (override, message) => {
    const helm = new HelmCli({ binary: fake });
    const err = await helm
      .template({ release: 'r', chart: 'c', namespace: 'n', ...override })
      .catch(e => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(message);
    await expect(fs.stat(path.join(dir, 'calls'))).rejects.toThrow(/ENOENT/);
  });
});
