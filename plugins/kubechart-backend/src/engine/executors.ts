import {
  ChartRunInput,
  CreateRunRequest,
  KUBECHART_TENANT_LABEL,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  ManifestsRunInput,
  ReleaseSpec,
  RollbackRunInput,
  Run,
  TENANT_CREDENTIALS_SECRET,
  TenantDeleteRunInput,
  TenantRunInput,
} from '@kubechart/plugin-kubechart-common';
import {
  ClusterRegistry,
  HelmCli,
  PolicyEngine,
  TenantResourceProvider,
  formatPolicyFailures,
  parseManifests,
  redactManifest,
  redactValues,
} from '@kubechart/plugin-kubechart-node';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { RunStore } from '../database/RunStore';
import { KubeClient } from '../lib/KubeClient';
import { StoredHelmRelease, readLatestHelmRelease } from '../lib/helmRelease';
import { RunFailure } from './errors';
import { RunContext } from './RunContext';
import { EngineSettings } from './settings';
import { waitForReady } from './waitForReady';

type Deps = {
  helm: HelmCli;
  policy: PolicyEngine;
  clusters: ClusterRegistry;
  store: RunStore;
  settings: EngineSettings;
  tenantResources: TenantResourceProvider[];
  client(cluster: string): KubeClient;
};

const isPlainObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** Deep merge, `b` wins. */
export function mergeValues(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? mergeValues(out[k] as any, v) : v;
  }
  return out;
}

const canonical = (v: unknown) => JSON.stringify(v, (_k, x) => (isPlainObject(x) ? Object.fromEntries(Object.entries(x).sort(([p], [q]) => p.localeCompare(q))) : x));

/** Why a release must be (re)installed, or undefined when the deployed one already matches. */
function upgradeReason(
  status: StoredHelmRelease | undefined,
  chartName: string,
  version: string | undefined,
  values: Record<string, unknown>,
): string | undefined {
  if (!status) return 'not installed yet';
  if (status.status !== 'deployed') return `release status is ${status.status}`;
  if (status.chart.name !== chartName) return `chart changes from ${status.chart.name}`;
  if (version && status.chart.version !== version) return `chart version changes from ${status.chart.version}`;
  if (canonical(status.config) !== canonical(values)) return 'values changed';
  return undefined;
}

/** The steps of each run kind. */
export class Executors {
  constructor(private readonly deps: Deps) {}

  run(run: Run, request: CreateRunRequest, ctx: RunContext): Promise<void> {
    switch (request.kind) {
      case 'tenant':
        return this.tenant(run, request, ctx);
      case 'chart':
        return this.chart(run, request, ctx);
      case 'manifests':
        return this.manifests(run, request, ctx);
      case 'rollback':
        return this.rollback(run, request, ctx);
      case 'tenant-delete':
        return this.tenantDelete(run, request, ctx);
      default:
        throw new RunFailure(`Unsupported run kind ${(request as any).kind}`);
    }
  }

  /** Resolves a chart name to a local chart directory when one of `kubechart.helm.chartDirectories` has it. */
  resolveChart(r: ReleaseSpec): { chart: string; repo?: string; version?: string } {
    if (!r.repo && !r.chart.startsWith('oci://') && !r.chart.includes('/')) {
      for (const dir of this.deps.settings.chartDirectories) {
        const candidate = path.join(dir, r.chart);
        if (existsSync(path.join(candidate, 'Chart.yaml'))) return { chart: candidate, version: r.version };
      }
    }
    return { chart: r.chart, repo: r.repo, version: r.version };
  }

  private async step<T>(ctx: RunContext, name: string, fn: () => Promise<T | 'skipped'>, message?: (r: T | 'skipped') => string): Promise<T | 'skipped'> {
    ctx.step(name, 'started');
    try {
      const r = await fn();
      ctx.step(name, r === 'skipped' || r === 'unchanged' ? 'skipped' : 'succeeded', message?.(r));
      return r;
    } catch (e) {
      ctx.step(name, 'failed', `${name} failed`);
      throw e;
    }
  }

  private async ensureNamespace(client: KubeClient, namespace: string, labels: Record<string, string>) {
    return client.ensure({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: namespace, labels },
    });
  }

  /**
   * Helm render → policy → install of one release, skipped when the deployed release already has
   * the same chart and values. Returns the revision and the redacted manifest.
   */
  private async installRelease(
    run: Run,
    ctx: RunContext,
    cluster: string,
    namespace: string,
    release: ReleaseSpec,
    values: Record<string, unknown>,
  ): Promise<{ revision?: number; manifest: string; skipped: boolean }> {
    const { helm, policy, store, clusters } = this.deps;
    const chart = this.resolveChart(release);
    const prefix = `[${release.name}]`;
    const onLine = (line: string) => line.trim() && ctx.log(`${prefix} ${line}`, 'info', `release:${release.name}`);
    const rendered = await helm.template({ release: release.name, namespace, values, ...chart });
    const report = policy.checkYaml(rendered);
    await store.updateRun(run.id, { policyReport: report });
    const failed = report.results.filter(r => !r.passed);
    for (const r of failed) {
      ctx.log(`${prefix} policy ${r.severity} [${r.ruleId}] ${r.object.kind}/${r.object.name}: ${r.message}`, r.severity === 'error' ? 'error' : 'warn', `release:${release.name}`);
    }
    if (report.blocking) {
      throw new RunFailure(`Chart policy (enforce) blocked release ${release.name}; nothing was installed:\n${formatPolicyFailures(report)}`);
    }
    const kubeconfig = clusters.kubeconfigYaml(cluster);
    const status = await readLatestHelmRelease(this.deps.client(cluster), namespace, release.name);
    const chartName = path.basename(chart.chart);
    const why = upgradeReason(status, chartName, chart.version, values);
    if (!why) {
      ctx.log(`${prefix} release is deployed at revision ${status!.version} with the same chart and values; nothing to do`, 'info', `release:${release.name}`);
      return { revision: status!.version, manifest: redactManifest(status!.manifest || rendered), skipped: true };
    }
    ctx.log(`${prefix} helm upgrade --install (${why})`, 'info', `release:${release.name}`);
    const result = await helm.upgradeInstall({ release: release.name, namespace, values, kubeconfig, onLine, ...chart });
    ctx.log(`${prefix} installed revision ${result.revision}`, 'info', `release:${release.name}`);
    return { revision: result.revision, manifest: redactManifest(result.manifest ?? rendered), skipped: false };
  }

  private async tenant(run: Run, input: TenantRunInput, ctx: RunContext) {
    const { settings, tenantResources } = this.deps;
    const { cluster } = input;
    const namespace = run.target.namespace;
    const client = this.deps.client(cluster);
    const labels = { [KUBECHART_TENANT_LABEL]: input.tenant, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE };
    const meta = (name: string) => ({ name, namespace, labels });

    await this.step(ctx, 'validate', async () => 'validated', () => `tenant ${input.tenant}, ${input.releases.length} release(s) on ${cluster}`);
    await this.step(ctx, 'namespace', () => this.ensureNamespace(client, namespace, labels), r => `namespace ${namespace}: ${r}`);
    await this.step(
      ctx,
      'resource-quota',
      () =>
        client.ensure({
          apiVersion: 'v1',
          kind: 'ResourceQuota',
          metadata: meta('kubechart-quota'),
          spec: { hard: { ...settings.defaultQuota, ...input.quota?.hard } },
        } as any),
      r => `ResourceQuota kubechart-quota: ${r}`,
    );
    await this.step(
      ctx,
      'limit-range',
      () =>
        client.ensure({
          apiVersion: 'v1',
          kind: 'LimitRange',
          metadata: meta('kubechart-limits'),
          spec: {
            limits: [
              {
                type: 'Container',
                default: { ...settings.defaultLimits, ...input.quota?.defaultLimits },
                defaultRequest: { ...settings.defaultRequests, ...input.quota?.defaultRequests },
              },
            ],
          },
        } as any),
      r => `LimitRange kubechart-limits: ${r}`,
    );
    await this.step(
      ctx,
      'network-policy',
      () =>
        client.ensure({
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: meta('kubechart-default-deny'),
          spec: {
            podSelector: {},
            policyTypes: ['Ingress'],
            ingress: [
              { from: [{ podSelector: {} }] },
              { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': settings.ingressNamespace } } }] },
            ],
          },
        } as any),
      r => `NetworkPolicy kubechart-default-deny (same namespace and ${settings.ingressNamespace} allowed): ${r}`,
    );
    for (const provider of tenantResources) {
      await this.step(ctx, `resources:${provider.name}`, async () => {
        const objects = await provider.resources({ tenant: input.tenant, namespace, cluster, input });
        const outcomes = [];
        for (const o of objects) {
          const obj = { ...o, metadata: { ...o.metadata, namespace: o.metadata?.namespace ?? namespace } };
          outcomes.push(`${o.kind}/${o.metadata?.name}: ${await client.applyIfChanged(obj as any)}`);
        }
        return outcomes.join(', ') || 'nothing to apply';
      }, r => String(r));
    }
    let credentials: Record<string, string> = {};
    if (input.credentials?.length) {
      credentials = (await this.step(ctx, 'credentials', () => this.ensureCredentials(client, namespace, labels, input.credentials!, ctx), () => `Secret ${TENANT_CREDENTIALS_SECRET}: ${input.credentials!.length} credential(s)`)) as Record<string, string>;
    }
    const storedValues: Record<string, unknown> = {};
    const manifests: string[] = [];
    for (const release of input.releases) {
      const values = mergeValues(release.values ?? {}, {
        kubechart: { tenant: input.tenant, namespace, ...(input.credentials?.length ? { credentials } : {}) },
      });
      ctx.addSecrets(values);
      await this.step(ctx, `release:${release.name}`, async () => {
        const r = await this.installRelease(run, ctx, cluster, namespace, release, values);
        storedValues[release.name] = redactValues(values);
        manifests.push(r.manifest);
        return r.skipped ? 'skipped' : r;
      });
    }
    await this.deps.store.updateRun(run.id, { values: storedValues, manifest: manifests.join('---\n') });
    await this.step(ctx, 'wait', () =>
      waitForReady({
        client,
        cluster,
        namespace,
        timeoutMs: (input.waitTimeoutSeconds ?? settings.waitTimeoutSeconds) * 1000,
        pollIntervalMs: settings.waitPollIntervalMs,
        failFastMs: settings.failFastSeconds * 1000,
        ctx,
        step: 'wait',
      }),
      r => (r === 'skipped' ? '' : `${r.workloads.length} workload(s) Ready`),
    );
  }

  /** Reads the tenant's credentials Secret, generating only the credentials it lacks. */
  private async ensureCredentials(client: KubeClient, namespace: string, labels: Record<string, string>, names: string[], ctx: RunContext) {
    const existing = await client.read<any>({ apiVersion: 'v1', kind: 'Secret', metadata: { name: TENANT_CREDENTIALS_SECRET, namespace } });
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries<string>(existing?.data ?? {})) data[k] = Buffer.from(v, 'base64').toString('utf8');
    const missing = names.filter(n => !data[n]);
    for (const n of missing) data[n] = randomBytes(18).toString('base64url');
    ctx.addSecrets(Object.values(data));
    if (!existing || missing.length) {
      await client.apply({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: TENANT_CREDENTIALS_SECRET, namespace, labels },
        type: 'Opaque',
        data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
      } as any);
      ctx.log(`generated ${missing.length} credential(s): ${missing.join(', ')}`, 'info', 'credentials');
    }
    return Object.fromEntries(names.map(n => [n, data[n]]));
  }

  private async chart(run: Run, input: ChartRunInput, ctx: RunContext) {
    const { settings } = this.deps;
    const client = this.deps.client(input.cluster);
    const values = input.release.values ?? {};
    ctx.addSecrets(values);
    await this.step(ctx, 'namespace', async () => {
      if (await client.namespaceExists(input.namespace)) return 'skipped';
      return this.ensureNamespace(client, input.namespace, { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE });
    });
    const result = await this.step(ctx, `release:${input.release.name}`, async () => {
      const r = await this.installRelease(run, ctx, input.cluster, input.namespace, input.release, values);
      return r;
    });
    if (result !== 'skipped') {
      await this.deps.store.updateRun(run.id, { helmRevision: result.revision, manifest: result.manifest, values: redactValues(values) });
    }
    await this.step(ctx, 'wait', () =>
      waitForReady({
        client,
        cluster: input.cluster,
        namespace: input.namespace,
        release: input.release.name,
        timeoutMs: (input.waitTimeoutSeconds ?? settings.waitTimeoutSeconds) * 1000,
        pollIntervalMs: settings.waitPollIntervalMs,
        failFastMs: settings.failFastSeconds * 1000,
        ctx,
        step: 'wait',
      }),
    );
  }

  private async manifests(run: Run, input: ManifestsRunInput, ctx: RunContext) {
    const client = this.deps.client(input.cluster);
    const objects = parseManifests(input.manifests).map(o => ({ ...o, metadata: { ...o.metadata, namespace: input.namespace } }));
    const report = this.deps.policy.check(objects);
    await this.deps.store.updateRun(run.id, { policyReport: report, manifest: redactManifest(input.manifests) });
    for (const r of report.results.filter(x => !x.passed)) {
      ctx.log(`policy ${r.severity} [${r.ruleId}] ${r.object.kind}/${r.object.name}: ${r.message}`, r.severity === 'error' ? 'error' : 'warn', 'policy');
    }
    if (report.blocking) {
      throw new RunFailure(`Chart policy (enforce) blocked the manifests; nothing was applied:\n${formatPolicyFailures(report)}`);
    }
    await this.step(ctx, 'namespace', async () => {
      if (await client.namespaceExists(input.namespace)) return 'skipped';
      return this.ensureNamespace(client, input.namespace, { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE });
    });
    for (const o of objects) {
      // Cluster-scoped kinds are not applied by a namespaced run.
      await this.step(ctx, `apply:${o.kind}/${o.metadata.name}`, async () => client.applyIfChanged(o as any), r => `${o.kind}/${o.metadata.name}: ${r}`);
    }
  }

  private async rollback(run: Run, input: RollbackRunInput, ctx: RunContext) {
    const { helm, clusters, store } = this.deps;
    const kubeconfig = clusters.kubeconfigYaml(input.cluster);
    const history = await helm.history({ release: input.release, namespace: input.namespace, kubeconfig });
    if (!history.some(h => h.revision === input.revision)) {
      throw new RunFailure(
        `Release ${input.release} in ${input.namespace} has no revision ${input.revision}; known revisions: ${history.map(h => h.revision).join(', ') || 'none'}`,
      );
    }
    await this.step(ctx, `rollback:${input.release}`, async () => {
      await helm.rollback({ release: input.release, namespace: input.namespace, revision: input.revision, kubeconfig, onLine: l => l.trim() && ctx.log(`[${input.release}] ${l}`) });
      return 'done';
    });
    const status = await helm.status({ release: input.release, namespace: input.namespace, kubeconfig });
    await store.updateRun(run.id, {
      helmRevision: status?.version,
      manifest: status?.manifest ? redactManifest(status.manifest) : undefined,
      values: status?.config ? redactValues(status.config) : undefined,
    });
  }

  private async tenantDelete(run: Run, input: TenantDeleteRunInput, ctx: RunContext) {
    const { helm, clusters, store } = this.deps;
    const namespace = run.target.namespace;
    const client = this.deps.client(input.cluster);
    const kubeconfig = clusters.kubeconfigYaml(input.cluster);
    const tenant = (await store.getTenants(input.tenant)).find(t => t.cluster === input.cluster);
    // Releases we recorded, plus any helm release stored in the namespace.
    const helmSecrets = (await client.namespacePhase(namespace)) !== 'absent'
      ? await client.core.listNamespacedSecret({ namespace, labelSelector: 'owner=helm' })
      : { items: [] };
    const releases = new Set([...(tenant?.releases ?? []), ...helmSecrets.items.map(s => s.metadata?.labels?.name).filter((n): n is string => !!n)]);
    for (const release of releases) {
      await this.step(ctx, `uninstall:${release}`, async () => {
        const removed = await helm.uninstall({ release, namespace, kubeconfig, onLine: l => l.trim() && ctx.log(`[${release}] ${l}`) });
        return removed ? 'uninstalled' : 'skipped';
      });
    }
    await this.step(ctx, 'namespace', async () => ((await client.deleteNamespace(namespace)) === 'absent' ? 'skipped' : 'deleted'), r => `namespace ${namespace}: ${r}`);
    // A deleted namespace stays Terminating until its contents are gone; the tenant is deleted only then.
    const { namespaceDeletionTimeoutSeconds, waitPollIntervalMs } = this.deps.settings;
    await this.step(ctx, 'namespace-gone', async () => {
      const gone = await client.waitForNamespaceGone(namespace, {
        timeoutMs: namespaceDeletionTimeoutSeconds * 1000,
        pollIntervalMs: waitPollIntervalMs,
        onProgress: (ms, detail) => ctx.log(`namespace ${namespace} is still terminating after ${Math.round(ms / 1000)}s${detail ? `: ${detail}` : ''}`, 'info', 'namespace-gone'),
      });
      if (!gone) {
        throw new RunFailure(
          `namespace ${namespace} is still terminating after ${namespaceDeletionTimeoutSeconds}s (kubechart.wait.namespaceDeletionTimeoutSeconds); check what blocks it (finalizers, remaining objects) and delete the tenant again`,
        );
      }
      return 'gone';
    }, () => `namespace ${namespace} is gone`);
  }
}
