import { KubeObject } from './types';

/** Kinds whose pod template the workload rules look at. */
const POD_TEMPLATE_PATHS: Record<string, string[]> = {
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
  Pod: ['spec'],
};

/** Returns the pod spec of a workload object, or undefined for other kinds. */
export function podSpecOf(obj: KubeObject): any | undefined {
  const path = obj.kind ? POD_TEMPLATE_PATHS[obj.kind] : undefined;
  if (!path) {
    return undefined;
  }
  let cur: any = obj;
  for (const p of path) {
    cur = cur?.[p];
  }
  return cur && typeof cur === 'object' ? cur : undefined;
}

/** Returns pod template labels of a workload. */
export function podLabelsOf(obj: KubeObject): Record<string, string> {
  if (obj.kind === 'Pod') {
    return obj.metadata?.labels ?? {};
  }
  if (obj.kind === 'CronJob') {
    return obj.spec?.jobTemplate?.spec?.template?.metadata?.labels ?? {};
  }
  return obj.spec?.template?.metadata?.labels ?? {};
}

/** Containers and init containers of a pod spec. */
export function containersOf(spec: any): any[] {
  return [
    ...(Array.isArray(spec?.initContainers) ? spec.initContainers : []),
    ...(Array.isArray(spec?.containers) ? spec.containers : []),
  ];
}

/** Long-running containers only (probes do not apply to init containers or Jobs). */
export function mainContainersOf(spec: any): any[] {
  return Array.isArray(spec?.containers) ? spec.containers : [];
}
