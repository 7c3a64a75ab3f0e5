import { containersOf, podSpecOf } from '../podSpec';
import { KubeObject } from '../types';

/** Applies `fn` to each container of a pod-bearing object; undefined when it bears no pods. */
export function perContainer(
  obj: KubeObject,
  fn: (container: any, podSpec: any) => string | string[] | undefined,
  containers: (spec: any) => any[] = containersOf,
): string[] | undefined {
  const spec = podSpecOf(obj);
  if (!spec) return undefined;
  const out: string[] = [];
  for (const c of containers(spec)) {
    const m = fn(c, spec);
    const messages = Array.isArray(m) ? m : [m];
    for (const msg of messages.filter(Boolean)) {
      out.push(`container "${c?.name ?? '?'}": ${msg}`);
    }
  }
  return out;
}

/** Applies `fn` to the pod spec of a pod-bearing object; undefined when it bears no pods. */
export function perPod(
  obj: KubeObject,
  fn: (podSpec: any) => string[],
): string[] | undefined {
  const spec = podSpecOf(obj);
  return spec ? fn(spec) : undefined;
}

/** Splits an image reference into registry (host, `docker.io` for Docker Hub), repository path and tag. @public */
export function parseImage(image: string): {
  registry: string;
  path: string;
  tag?: string;
  digest?: string;
} {
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
  }
  const firstSlash = rest.indexOf('/');
  const first = firstSlash >= 0 ? rest.slice(0, firstSlash) : '';
  // As the container runtime reads a reference: a first part with `.` or `:`, `localhost`, or an
  // upper-case letter (Docker Hub's paths are lower case) is the registry's host.
  const hasRegistry =
    firstSlash >= 0 &&
    (first.includes('.') ||
      first.includes(':') ||
      first === 'localhost' ||
      first !== first.toLowerCase());
  return hasRegistry
    ? { registry: first, path: rest.slice(firstSlash + 1), tag, digest }
    : { registry: 'docker.io', path: rest, tag, digest };
}

export const isTrue = (v: unknown) => v === true;

/** `apps/v1` → `apps`; `v1` → `` (core). */
export function groupOf(apiVersion: unknown): string {
  const s = typeof apiVersion === 'string' ? apiVersion : '';
  const slash = s.indexOf('/');
  return slash >= 0 ? s.slice(0, slash) : '';
}

/** Unset as the API server stores it: absent, null or the empty string (`omitempty`). */
export const unset = (v: unknown) => v === undefined || v === null || v === '';

/** A string of the manifest, quoted and cut to 80 characters, for a message. */
export const quote = (text: string) =>
  JSON.stringify(text.slice(0, 80)) + (text.length > 80 ? '…' : '');
