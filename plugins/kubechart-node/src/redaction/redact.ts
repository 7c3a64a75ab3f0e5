import yaml from 'js-yaml';
import { KubeObject } from '../policy/types';

/** The placeholder that replaces redacted values. @public */
export const REDACTED = '***';

const SECRET_KEY = /password|passwd|token|secret|key|credential/i;

/**
 * Whether a values key or env name holds a secret (matches password, token, secret, key, credential).
 * @public
 */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/**
 * Deep copy of `value` with every scalar under a secret-looking key replaced by `***`.
 * @public
 */
export function redactValues<T>(value: T): T {
  const walk = (v: unknown, secret: boolean): unknown => {
    if (Array.isArray(v)) return v.map(i => walk(i, secret));
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).map(([k, c]) => [k, walk(c, secret || isSecretKey(k))]),
      );
    }
    if (secret && v !== null && v !== undefined && v !== '' && typeof v !== 'boolean') {
      return REDACTED;
    }
    return v;
  };
  return walk(value, false) as T;
}

/**
 * Redacts a Kubernetes object: Secret `data`/`stringData`, the last-applied annotation, ConfigMap
 * keys and plain env values whose names look secret.
 * @public
 */
export function redactObject(obj: KubeObject): KubeObject {
  const copy: KubeObject = JSON.parse(JSON.stringify(obj));
  if (copy.kind === 'Secret') {
    for (const field of ['data', 'stringData']) {
      if (copy[field] && typeof copy[field] === 'object') {
        copy[field] = Object.fromEntries(Object.keys(copy[field]).map(k => [k, REDACTED]));
      }
    }
  }
  const ann = copy.metadata?.annotations;
  if (ann?.['kubectl.kubernetes.io/last-applied-configuration']) {
    ann['kubectl.kubernetes.io/last-applied-configuration'] = REDACTED;
  }
  if (copy.kind === 'ConfigMap' && copy.data && typeof copy.data === 'object') {
    for (const k of Object.keys(copy.data)) {
      if (isSecretKey(k)) copy.data[k] = REDACTED;
    }
  }
  const visitContainers = (spec: any) => {
    for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])]) {
      for (const e of Array.isArray(c?.env) ? c.env : []) {
        if (typeof e?.value === 'string' && e.value && isSecretKey(String(e.name ?? ''))) {
          e.value = REDACTED;
        }
      }
    }
  };
  visitContainers(copy.spec);
  visitContainers(copy.spec?.template?.spec);
  visitContainers(copy.spec?.jobTemplate?.spec?.template?.spec);
  return copy;
}

/**
 * Redacts a multi-document YAML manifest, document by document, keeping the text of documents that
 * hold nothing secret. Unparseable documents are dropped rather than leaked.
 * @public
 */
export function redactManifest(manifest: string): string {
  const docs = manifest.split(/^---[ \t]*$/m);
  const out: string[] = [];
  for (const doc of docs) {
    if (!doc.trim()) continue;
    let parsed: unknown;
    try {
      parsed = yaml.load(doc);
    } catch {
      out.push('# (document not shown: not valid YAML)\n');
      continue;
    }
    if (!parsed || typeof parsed !== 'object') {
      if (doc.replace(/#.*$/gm, '').trim()) continue;
      out.push(doc.replace(/^\n+/, ''));
      continue;
    }
    const redacted = redactObject(parsed as KubeObject);
    const changed = JSON.stringify(redacted) !== JSON.stringify(parsed);
    const comments = doc.match(/^#.*$/gm)?.join('\n');
    out.push(changed ? `${comments ? `${comments}\n` : ''}${yaml.dump(redacted, { lineWidth: -1 })}` : doc.replace(/^\n+/, ''));
  }
  return out.map(d => (d.endsWith('\n') ? d : `${d}\n`)).join('---\n');
}

/**
 * Collects the secret scalar values of a values object, to scrub them from free text (logs).
 * @public
 */
export function collectSecretValues(value: unknown): string[] {
  const out = new Set<string>();
  const walk = (v: unknown, secret: boolean) => {
    if (Array.isArray(v)) v.forEach(i => walk(i, secret));
    else if (v && typeof v === 'object') {
      for (const [k, c] of Object.entries(v as Record<string, unknown>)) walk(c, secret || isSecretKey(k));
    } else if (secret && (typeof v === 'string' || typeof v === 'number') && String(v).length >= 4) {
      out.add(String(v));
    }
  };
  walk(value, false);
  return [...out];
}

/**
 * Returns a function that scrubs free text: the given secret strings (and their base64 forms) and
 * `password=…`/`token: …` style pairs (unless `keyValuePairs: false`, for text we wrote ourselves)
 * are replaced with `***`.
 * @public
 */
export function createTextRedactor(
  secrets: Iterable<string> = [],
  options: { keyValuePairs?: boolean } = {},
): (text: string) => string {
  const needles = new Set<string>();
  for (const s of secrets) {
    if (s && s.length >= 4) {
      needles.add(s);
      needles.add(Buffer.from(s).toString('base64'));
    }
  }
  const sorted = [...needles].sort((a, b) => b.length - a.length);
  const pair = /\b([\w.-]*(?:password|passwd|token|secret|credential|apikey|api_key)[\w.-]*)(["']?\s*[:=]\s*["']?)([^\s"',}]+)/gi;
  return text => {
    let out = text;
    for (const n of sorted) out = out.split(n).join(REDACTED);
    if (options.keyValuePairs === false) return out;
    return out.replace(pair, (_m, k, sep) => `${k}${sep}${REDACTED}`);
  };
}
