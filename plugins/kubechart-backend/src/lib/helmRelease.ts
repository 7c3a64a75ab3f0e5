import { gunzipSync } from 'node:zlib';
import { KubeClient } from './KubeClient';

/** The parts of a stored Helm release that kubechart reads. */
export type StoredHelmRelease = {
  name: string;
  version: number;
  status: string;
  chart: { name?: string; version?: string };
  config: Record<string, unknown>;
  manifest: string;
  /** The release's hooks (not part of `manifest`), with the template each came from. */
  hooks: Array<{ path: string; manifest: string }>;
};

/** Decodes the `release` field of a `helm.sh/release.v1` Secret: base64 of gzipped JSON. */
export function decodeHelmRelease(data: string): any {
  // Secret data is base64 of the bytes helm stored, which are themselves base64 text.
  const inner = Buffer.from(Buffer.from(data, 'base64').toString('utf8'), 'base64');
  const json = inner[0] === 0x1f && inner[1] === 0x8b ? gunzipSync(inner) : inner;
  return JSON.parse(json.toString('utf8'));
}

/**
 * Reads the latest revision of a Helm release the way helm finds it: Secrets labelled
 * `name=<release>,owner=helm`. Cheaper than spawning `helm status`, and the same for helm 3 and 4.
 */
export async function readLatestHelmRelease(client: KubeClient, namespace: string, name: string): Promise<StoredHelmRelease | undefined> {
  const list = await client.core.listNamespacedSecret({ namespace, labelSelector: `name=${name},owner=helm` });
  const latest = list.items
    .filter(s => s.type === 'helm.sh/release.v1' && s.data?.release)
    .sort((a, b) => Number(b.metadata?.labels?.version ?? 0) - Number(a.metadata?.labels?.version ?? 0))[0];
  if (!latest) return undefined;
  const r = decodeHelmRelease(latest.data!.release);
  return {
    name: r.name,
    version: Number(r.version),
    status: r.info?.status ?? latest.metadata?.labels?.status ?? 'unknown',
    chart: { name: r.chart?.metadata?.name, version: r.chart?.metadata?.version },
    config: r.config ?? {},
    manifest: r.manifest ?? '',
    hooks: (Array.isArray(r.hooks) ? r.hooks : []).map((h: any) => ({ path: String(h?.path ?? ''), manifest: String(h?.manifest ?? '') })),
  };
}
