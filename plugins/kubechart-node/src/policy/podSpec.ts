import { KubeObject } from './types';

/**
 * Where the pod spec sits in the built-in pod-bearing kinds. Any other kind (a custom resource such
 * as an Argo Rollout) counts as pod-bearing when it has `spec.template.spec.containers` or
 * `spec.jobTemplate.spec.template.spec.containers`.
 */
const POD_SPEC_PATHS: Record<string, string[]> = {
  Pod: ['spec'],
  PodTemplate: ['template', 'spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

const TEMPLATE_PATH = ['spec', 'template', 'spec'];
const JOB_TEMPLATE_PATH = ['spec', 'jobTemplate', 'spec', 'template', 'spec'];

/** The container lists of a pod spec, in the order the kubelet starts them. */
export const CONTAINER_LISTS = [
  'initContainers',
  'containers',
  'ephemeralContainers',
] as const;

const isMapping = (v: unknown): v is Record<string, any> =>
  !!v && typeof v === 'object' && !Array.isArray(v);

function at(obj: unknown, path: string[]): unknown {
  let cur: any = obj;
  for (const p of path) {
    if (!isMapping(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

/** Whether the kind is one of the built-in pod-bearing kinds. */
export function isBuiltinPodBearingKind(kind: unknown): boolean {
  return (
    typeof kind === 'string' &&
    Object.prototype.hasOwnProperty.call(POD_SPEC_PATHS, kind)
  );
}

/**
 * The path of the pod spec inside a pod-bearing object (built-in kind, or any object with a pod
 * template under `spec.template` or `spec.jobTemplate`), or undefined when the object bears no pods.
 */
export function podSpecPath(obj: KubeObject): string[] | undefined {
  if (isBuiltinPodBearingKind(obj?.kind)) return POD_SPEC_PATHS[obj.kind!];
  if (at(obj, [...TEMPLATE_PATH, 'containers']) !== undefined)
    return TEMPLATE_PATH;
  if (at(obj, [...JOB_TEMPLATE_PATH, 'containers']) !== undefined)
    return JOB_TEMPLATE_PATH;
  return undefined;
}

/** Returns the pod spec of a pod-bearing object, or undefined for other kinds. */
export function podSpecOf(obj: KubeObject): any | undefined {
  const path = podSpecPath(obj);
  const spec = path ? at(obj, path) : undefined;
  return isMapping(spec) ? spec : undefined;
}

/** Pod labels of a pod-bearing object (the pod template's labels, or a Pod's own). */
export function podLabelsOf(obj: KubeObject): Record<string, string> {
  const path = podSpecPath(obj);
  if (!path) return {};
  const labels = at(obj, [...path.slice(0, -1), 'metadata', 'labels']);
  return isMapping(labels) ? (labels as Record<string, string>) : {};
}

/** Every rule asks for the containers of the same pod specs: computed once per spec object. */
const containerCache = new WeakMap<object, any[]>();

/** Init, regular and ephemeral containers of a pod spec (entries that are mappings). */
export function containersOf(spec: any): any[] {
  if (!isMapping(spec)) return [];
  const cached = containerCache.get(spec);
  if (cached) return cached;
  const out: any[] = [];
  containerCache.set(spec, out);
  for (const list of CONTAINER_LISTS) {
    if (Array.isArray(spec?.[list])) out.push(...spec[list].filter(isMapping));
  }
  return out;
}

/** Long-running containers only (probes do not apply to init or ephemeral containers). */
export function mainContainersOf(spec: any): any[] {
  return Array.isArray(spec?.containers)
    ? spec.containers.filter(isMapping)
    : [];
}

export { isMapping };
