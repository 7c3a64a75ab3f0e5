import { InputError } from '@backstage/errors';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Characters a chart reference may contain: no whitespace, quotes or shell metacharacters. */
const CHART_REF = /^[A-Za-z0-9][A-Za-z0-9._/@:+-]*$/;
const VERSION = /^[A-Za-z0-9.+_~^*-]+$/;

/** Throws InputError unless `name` is a valid Helm release name. @public */
export function validateReleaseName(name: string): void {
  if (
    typeof name !== 'string' ||
    name.length > 53 ||
    !DNS1123_LABEL.test(name)
  ) {
    throw new InputError(
      `Invalid release name "${String(
        name,
      )}": use lowercase letters, digits and "-", at most 53 characters`,
    );
  }
}

/** Throws InputError unless `namespace` is a valid namespace name. @public */
export function validateNamespace(namespace: string): void {
  if (
    typeof namespace !== 'string' ||
    namespace.length > 63 ||
    !DNS1123_LABEL.test(namespace)
  ) {
    throw new InputError(
      `Invalid namespace "${String(namespace)}": must be a DNS-1123 label`,
    );
  }
}

/**
 * Throws InputError unless `chart` is a safe chart reference: a chart name (`nginx`, `repo/nginx`),
 * an `oci://` reference or a path; no shell metacharacters, no leading "-", no "..", no other URL scheme.
 * @public
 */
export function validateChartRef(chart: string): void {
  // helm fetches a chart URL itself: only oci:// references (checked by resolveChartSource) may be URLs.
  if (
    typeof chart === 'string' &&
    chart.includes('://') &&
    !chart.startsWith('oci://')
  ) {
    throw new InputError(
      `Invalid chart "${chart}": a chart URL must be oci://; give http(s) repositories as repo`,
    );
  }
  const body = chart?.startsWith('oci://')
    ? chart.slice('oci://'.length)
    : chart;
  const absolute = typeof body === 'string' && body.startsWith('/');
  const rest = absolute ? body.slice(1) : body;
  if (
    typeof chart !== 'string' ||
    chart.length > 512 ||
    !CHART_REF.test(rest ?? '') ||
    rest.split('/').includes('..')
  ) {
    throw new InputError(
      `Invalid chart "${String(
        chart,
      )}": only letters, digits and . _ / @ : + - are allowed (no shell characters)`,
    );
  }
}

/** Throws InputError unless `repo` is an https:// URL without credentials. @public */
export function validateRepoUrl(repo: string): void {
  let url: URL;
  try {
    url = new URL(repo);
  } catch {
    throw new InputError(
      `Invalid chart repository "${String(repo)}": not a URL`,
    );
  }
  if (url.protocol !== 'https:') {
    throw new InputError(
      `Invalid chart repository "${repo}": only https:// repositories are allowed`,
    );
  }
  if (url.username || url.password) {
    throw new InputError(
      'Invalid chart repository: credentials must not be part of the URL',
    );
  }
  if (/[\s'"`$;|&<>\\]/.test(repo)) {
    throw new InputError(
      `Invalid chart repository "${repo}": contains forbidden characters`,
    );
  }
}

/** Throws InputError unless `version` is a plain version or constraint. @public */
export function validateChartVersion(version: string): void {
  if (
    typeof version !== 'string' ||
    version.length > 64 ||
    !VERSION.test(version)
  ) {
    throw new InputError(`Invalid chart version "${String(version)}"`);
  }
}
