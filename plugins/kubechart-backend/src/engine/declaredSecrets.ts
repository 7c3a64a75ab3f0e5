import {
  ManifestsRunInput,
  RunInput,
} from '@kubechart/plugin-kubechart-common';
import { REDACTED } from '@kubechart/plugin-kubechart-node';

/** The shortest declared secret value honoured (as `collectSecretValues` counts values). */
const MIN_SECRET_LENGTH = 4;

/** Every string in a values object (keys aside). */
function stringsOf(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) value.forEach(v => stringsOf(v, out));
  else if (value && typeof value === 'object')
    Object.values(value).forEach(v => stringsOf(v, out));
  return out;
}

/**
 * The values a chart or tenant run's caller declares secret (`secretValues`: the scaffolder's task
 * secrets the step's values hold, under any key) that occur in the run's Helm values, as a whole
 * string or within one. Only these are honoured: they are removed from all that is kept of the run
 * (its input, stored values, manifests, events, an approval's plan) as the values under
 * secret-looking keys are, and the field itself is never kept. A declared text the values do not
 * hold, or shorter than 4 characters, is ignored, so the field hides nothing else from history.
 */
export function declaredSecretValues(request: RunInput): string[] {
  if (request.kind !== 'chart' && request.kind !== 'tenant') return [];
  return heldIn(
    request.secretValues,
    stringsOf(
      request.kind === 'chart'
        ? request.release.values
        : request.releases.map(r => r.values),
    ),
  );
}

/**
 * The values a manifests run's caller declares secret (`secretValues`, as for a chart run) that a
 * string of its `objects` (the manifests as read) holds, whole or within it: removed from all that
 * is kept of the run (its manifest, an approval's plan, events); what is applied is as given.
 */
export function declaredManifestSecretValues(
  request: ManifestsRunInput,
  objects: unknown[],
): string[] {
  return heldIn(request.secretValues, stringsOf(objects));
}

/** The distinct `declared` texts of at least 4 characters that one of `texts` holds. */
function heldIn(declared: string[] | undefined, texts: string[]): string[] {
  if (!declared?.length) return [];
  return [...new Set(declared)].filter(
    s =>
      typeof s === 'string' &&
      s.length >= MIN_SECRET_LENGTH &&
      texts.some(t => t.includes(s)),
  );
}

/** `value` with each of `secrets` replaced by `***` in its strings (the longest first). */
export function redactDeclaredSecrets<T>(value: T, secrets: string[]): T {
  if (secrets.length === 0) return value;
  const ordered = [...secrets].sort((a, b) => b.length - a.length);
  const visit = (v: unknown): unknown => {
    if (typeof v === 'string')
      return ordered.reduce((text, s) => text.split(s).join(REDACTED), v);
    if (Array.isArray(v)) return v.map(visit);
    if (v && typeof v === 'object')
      return Object.fromEntries(
        Object.entries(v).map(([k, inner]) => [k, visit(inner)]),
      );
    return v;
  };
  return visit(value) as T;
}
