import { InputError } from '@backstage/errors';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { validateChartVersion } from '../helm/validation';

/** A chart as a run asks for it. @public */
export type ChartSourceRef = {
  /** A chart name (`kubechart-service`), or an `oci://host/path/chart` reference. */
  chart: string;
  /** An `https://` chart repository, or an `oci://host/path` registry the chart name is appended to. */
  repo?: string;
  version?: string;
};

/** Where charts may come from (`kubechart.helm.chartDirectories`, `kubechart.helm.allowedRepositories`). @public */
export type ChartSourcePolicy = {
  /** Directories holding local charts; a chart name resolves to `<dir>/<name>` (a chart directory or `.tgz`). */
  chartDirectories: string[];
  /**
   * Repositories charts may be pulled from: a host (`charts.example.com`, `ghcr.io`, `registry:5000`)
   * allows every https/oci URL on it; a URL (`https://charts.example.com/stable`, `oci://ghcr.io/acme`)
   * allows that URL and the paths below it.
   */
  allowedRepositories: string[];
};

/** A chart source that passed the rules, ready for helm's argv. @public */
export type ResolvedChartSource =
  | { type: 'directory'; chart: string; version?: string }
  | { type: 'repository'; chart: string; repo: string; version?: string }
  | { type: 'oci'; chart: string; version?: string };

const CHART_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const URL_FORBIDDEN = /[\s'"`$;|&<>\\{}^]/;

function refuse(rule: string, message: string): never {
  throw new InputError(`Chart source refused (${rule}): ${message}`);
}

/** Whether `url` is on an allowed repository (host match, or URL prefix on a path boundary). */
function isAllowed(url: URL, allowed: string[]): boolean {
  const host = url.port ? `${url.hostname}:${url.port}` : url.hostname;
  const full = `${url.protocol}//${host}${url.pathname.replace(/\/+$/, '')}`;
  return allowed.some(entry => {
    const e = entry.trim().replace(/\/+$/, '');
    if (!e.includes('://')) return e.toLowerCase() === host.toLowerCase();
    let a: URL;
    try {
      a = new URL(e);
    } catch {
      return false;
    }
    const aHost = a.port ? `${a.hostname}:${a.port}` : a.hostname;
    const prefix = `${a.protocol}//${aHost}${a.pathname.replace(/\/+$/, '')}`;
    return full === prefix || full.startsWith(`${prefix}/`);
  });
}

function parseRemote(
  ref: string,
  what: string,
  policy: ChartSourcePolicy,
): URL {
  if (ref.length > 512 || URL_FORBIDDEN.test(ref))
    refuse('chart-source-url', `${what} contains forbidden characters`);
  let url: URL;
  try {
    url = new URL(ref);
  } catch {
    return refuse('chart-source-url', `${what} "${ref}" is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'oci:') {
    refuse(
      'chart-repository-scheme',
      `${what} "${ref}" must use https:// or oci://`,
    );
  }
  if (url.username || url.password)
    refuse('chart-source-url', `${what} must not carry credentials`);
  if (url.search || url.hash)
    refuse('chart-source-url', `${what} must not carry a query or fragment`);
  // The URL parser folds "a/../b" away; helm would send the raw path, so the raw text is checked.
  if (
    ref
      .split(/[/\\]/)
      .some(s => s === '..' || s === '.' || s.toLowerCase() === '%2e%2e')
  )
    refuse('chart-source-url', `${what} must not contain "." or ".." segments`);
  if (!isAllowed(url, policy.allowedRepositories)) {
    refuse(
      'chart-repository-allowlist',
      `${url.host} is not in kubechart.helm.allowedRepositories`,
    );
  }
  return url;
}

/** Resolves a chart name inside the chart directories; refuses paths and anything that escapes them. */
async function resolveLocal(
  chart: string,
  directories: string[],
): Promise<string> {
  if (path.isAbsolute(chart) || chart.startsWith('~'))
    refuse(
      'chart-directory',
      `"${chart}" is a path; give a chart name from kubechart.helm.chartDirectories`,
    );
  if (chart.split(/[/\\]/).includes('..'))
    refuse('chart-directory', `"${chart}" must not contain ".."`);
  if (!CHART_NAME.test(chart)) {
    refuse(
      'chart-directory',
      `"${chart}" is not a chart name (letters, digits, ".", "_", "-"); charts from a repository need a repo`,
    );
  }
  if (directories.length === 0)
    refuse(
      'chart-directory',
      'no kubechart.helm.chartDirectories are configured for local charts',
    );
  for (const dir of directories) {
    let root: string;
    try {
      root = await fs.realpath(dir);
    } catch {
      continue;
    }
    for (const candidate of [chart, `${chart}.tgz`]) {
      let real: string;
      try {
        real = await fs.realpath(path.join(root, candidate));
      } catch {
        continue;
      }
      // A symlink that leads out of the chart directory is refused, not followed.
      if (
        path.relative(root, real).startsWith('..') ||
        path.isAbsolute(path.relative(root, real))
      ) {
        refuse(
          'chart-directory',
          `"${chart}" leads outside the chart directories`,
        );
      }
      const stat = await fs.stat(real);
      if (stat.isDirectory()) {
        try {
          await fs.access(path.join(real, 'Chart.yaml'));
        } catch {
          refuse('chart-directory', `"${chart}" has no Chart.yaml`);
        }
        return real;
      }
      if (stat.isFile() && candidate.endsWith('.tgz')) return real;
    }
  }
  return refuse(
    'chart-directory',
    `chart "${chart}" is not in any of kubechart.helm.chartDirectories`,
  );
}

/**
 * Decides where a chart may come from, before helm sees it. Chart names resolve only inside
 * `chartDirectories` (no absolute paths, no `..`, no symlink out); remote charts only over https://
 * or oci:// from a host in `allowedRepositories`. A refused source throws InputError naming the
 * rule (`chart-directory`, `chart-repository-scheme`, `chart-repository-allowlist`, `chart-source-url`).
 * @public
 */
export async function resolveChartSource(
  ref: ChartSourceRef,
  policy: ChartSourcePolicy,
): Promise<ResolvedChartSource> {
  if (!ref || typeof ref.chart !== 'string' || !ref.chart)
    throw new InputError('A chart is required');
  if (ref.version !== undefined) validateChartVersion(ref.version);
  const { chart, repo, version } = ref;
  if (chart.startsWith('oci://')) {
    if (repo !== undefined)
      refuse('chart-source-url', 'an oci:// chart takes no separate repo');
    parseRemote(chart, 'chart', policy);
    return { type: 'oci', chart, version };
  }
  if (chart.includes('://'))
    refuse(
      'chart-repository-scheme',
      `chart "${chart}" must be a name, or an oci:// reference`,
    );
  if (repo !== undefined) {
    if (!CHART_NAME.test(chart))
      refuse(
        'chart-source-url',
        `chart "${chart}" must be a plain chart name when a repo is given`,
      );
    const url = parseRemote(repo, 'repo', policy);
    if (url.protocol === 'oci:') {
      return {
        type: 'oci',
        chart: `${repo.replace(/\/+$/, '')}/${chart}`,
        version,
      };
    }
    return { type: 'repository', chart, repo, version };
  }
  return {
    type: 'directory',
    chart: await resolveLocal(chart, policy.chartDirectories),
    version,
  };
}
