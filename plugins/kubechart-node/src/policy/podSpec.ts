import { KubeObject } from './types';

/**
 * Where the pod spec sits in the built-in pod-bearing kinds. Any other kind (a custom resource such
 * as an Argo Rollout or a KEDA ScaledJob) counts as pod-bearing when it has containers under one of
 * {@link CUSTOM_POD_SPEC_PATHS}; Argo workflows and Tekton tasks make many pods (see {@link customPodsOf}).
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
/** A KEDA ScaledJob's job template. */
const JOB_TARGET_PATH = ['spec', 'jobTargetRef', 'template', 'spec'];
const CUSTOM_POD_SPEC_PATHS = [
  TEMPLATE_PATH,
  JOB_TEMPLATE_PATH,
  JOB_TARGET_PATH,
];

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
 * template under `spec.template`, `spec.jobTemplate` or `spec.jobTargetRef.template`), or undefined
 * when the object bears no pods or makes them from many templates ({@link customPodsOf}).
 */
export function podSpecPath(obj: KubeObject): string[] | undefined {
  if (isBuiltinPodBearingKind(obj?.kind)) return POD_SPEC_PATHS[obj.kind!];
  if (manyPodsKind(obj)) return undefined;
  return CUSTOM_POD_SPEC_PATHS.find(
    path => at(obj, [...path, 'containers']) !== undefined,
  );
}

/**
 * Returns the pod spec of a pod-bearing object, or undefined for other kinds. For an Argo workflow
 * or a Tekton task, one pod spec stands for all the pods it makes ({@link CustomPods.spec}).
 */
export function podSpecOf(obj: KubeObject): any | undefined {
  const many = customPodsOf(obj);
  if (many) return many.spec;
  const path = podSpecPath(obj);
  const spec = path ? at(obj, path) : undefined;
  return isMapping(spec) ? spec : undefined;
}

/** Whether the object's pods run to completion (probes do not apply): Jobs and what makes them. */
export function runsToCompletion(obj: KubeObject): boolean {
  if (obj?.kind === 'Job' || obj?.kind === 'CronJob') return true;
  if (manyPodsKind(obj)) return true;
  const path = podSpecPath(obj);
  return path?.[1] === 'jobTemplate' || path?.[1] === 'jobTargetRef';
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

/** A container of a pod a custom resource makes: as its controller runs it, and where it is written. */
export type PlacedContainer = {
  /** The container with what its controller merges into it (Argo `templateDefaults`, Tekton `stepTemplate`). */
  value: unknown;
  where: string;
  list: 'initContainers' | 'containers';
  /** The name the controller gives it when it has none (Argo's `main`, Tekton's `unnamed-<n>`). */
  defaultName?: string;
  /** Its controller sets the image when it has none (an Argo Events sensor or event source). */
  imageFromController?: boolean;
};

/**
 * Set (true) on a container, as the rules see it, whose image its controller supplies because none
 * is written: the image rules leave it alone. A symbol: no manifest can set it.
 */
export const IMAGE_FROM_CONTROLLER = Symbol('image from controller');

/** The pods an Argo workflow or a Tekton task makes, as the policy reads them. */
export type CustomPods = {
  containers: PlacedContainer[];
  /** Mappings that set fields of the pods (hostNetwork, volumes, securityContext, …), and where. */
  podFields: Array<{ value: Record<string, any>; where: string }>;
  /** What the pods are made of, for the check that no container is left unjudged. */
  placed: Set<object>;
  /**
   * Fields written where the pods are made from that their controller does not put in them (a key
   * of an Argo Events `spec.template` it has no field for), by path: what they would do cannot be
   * told, so `valid-object` refuses the object.
   */
  unmapped: string[];
  /**
   * One pod spec for the pod rules, that fails wherever one of the pods would: every container
   * (named by its path) with the pod-level securityContext of its own pod merged in, every volume,
   * the host namespaces any pod shares, and a token mounted unless every pod leaves it out; for a
   * kind that makes one pod (an Argo Events sensor or event source), its other pod-level fields
   * too, as its controller sets them (serviceAccountName, nodeSelector, …).
   * Undefined when the object sets nothing of a pod.
   */
  spec?: Record<string, any>;
};

const ARGO_WORKFLOW_KINDS = [
  'Workflow',
  'CronWorkflow',
  'WorkflowTemplate',
  'ClusterWorkflowTemplate',
];
const TEKTON_KINDS = [
  'Task',
  'ClusterTask',
  'TaskRun',
  'Pipeline',
  'PipelineRun',
  'StepAction',
];
/** Argo Events kinds whose controller makes one pod from `spec.template`. */
const ARGO_EVENTS_KINDS = ['Sensor', 'EventSource'];
const groupOfObject = (obj: KubeObject) =>
  String(obj?.apiVersion ?? '').split('/')[0];

/**
 * Kinds whose controller makes pods from many templates (Argo workflows, Tekton tasks and
 * pipelines), or from a template not in the form of a pod spec (Argo Events).
 */
function manyPodsKind(
  obj: KubeObject,
): 'argo' | 'argoEvents' | 'tekton' | undefined {
  const group = groupOfObject(obj);
  const kind = String(obj?.kind ?? '');
  if (group === 'argoproj.io' && ARGO_WORKFLOW_KINDS.includes(kind))
    return 'argo';
  if (group === 'argoproj.io' && ARGO_EVENTS_KINDS.includes(kind))
    return 'argoEvents';
  if (group === 'tekton.dev' && TEKTON_KINDS.includes(kind)) return 'tekton';
  return undefined;
}

const listOf = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** `over` merged onto `base` as the controllers merge defaults (mappings key by key, the rest replaced). */
function mergedOver(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (!isMapping(base) || !isMapping(over)) return over;
  // fromEntries defines keys as data: a `__proto__` key stays a key.
  return Object.fromEntries([
    ...Object.entries(base).filter(([k]) => !(k in over)),
    ...Object.entries(over).map(([k, v]) => [k, mergedOver(base[k], v)]),
  ]);
}

/** Fields of a pod securityContext that a container's own securityContext overrides. */
const POD_LEVEL_SECURITY = [
  'runAsUser',
  'runAsGroup',
  'runAsNonRoot',
  'seLinuxOptions',
  'seccompProfile',
  'appArmorProfile',
];

/** The container as the kubelet runs it in a pod with this securityContext. */
function withPodSecurity(container: unknown, podSecurity: unknown): unknown {
  if (!isMapping(container) || !isMapping(podSecurity)) return container;
  const own = container.securityContext;
  // A malformed securityContext is left for valid-object to refuse.
  if (own !== undefined && own !== null && !isMapping(own)) return container;
  const sc: Record<string, any> = {};
  for (const k of POD_LEVEL_SECURITY)
    if (podSecurity[k] !== undefined) sc[k] = podSecurity[k];
  if (podSecurity.windowsOptions !== undefined)
    sc.windowsOptions = podSecurity.windowsOptions;
  return {
    ...container,
    securityContext: mergedOver(sc, isMapping(own) ? own : undefined),
  };
}

const POD_FIELDS = [
  'hostNetwork',
  'hostPID',
  'hostIPC',
  'volumes',
  'securityContext',
  'automountServiceAccountToken',
];

/** Collects the pods of a custom resource into {@link CustomPods}. */
class PodsReader {
  readonly pods: CustomPods = {
    containers: [],
    podFields: [],
    placed: new Set(),
    unmapped: [],
  };
  private readonly merged = {
    containers: [] as unknown[],
    initContainers: [] as unknown[],
    volumes: [] as unknown[],
    hostNetwork: false,
    hostPID: false,
    hostIPC: false,
    hostProcess: false,
    tokens: [] as unknown[],
    setsPod: false,
    /** The one pod's other fields (serviceAccountName, nodeSelector, …), as its controller sets them. */
    podLevel: {} as Record<string, unknown>,
  };

  /** A mapping that sets fields of pods (the workflow's spec, a template, a Tekton pod template). */
  fields(value: unknown, where: string) {
    if (!isMapping(value)) return;
    this.pods.podFields.push({ value, where });
    const m = this.merged;
    if (POD_FIELDS.some(k => value[k] !== undefined)) m.setsPod = true;
    for (const k of ['hostNetwork', 'hostPID', 'hostIPC'] as const)
      if (value[k] === true) m[k] = true;
    if (value.securityContext?.windowsOptions?.hostProcess === true)
      m.hostProcess = true;
    m.volumes.push(...listOf(value.volumes));
  }

  /** One pod: its containers, its pod securityContext and whether it mounts a token. */
  pod(containers: PlacedContainer[], podSecurity: unknown, token: unknown) {
    if (!containers.length) return;
    const m = this.merged;
    m.setsPod = true;
    m.tokens.push(token);
    for (const c of containers) {
      this.pods.containers.push(c);
      const run = withPodSecurity(c.value, podSecurity);
      const fromController =
        c.imageFromController && isMapping(run) && run.image === undefined;
      m[c.list].push(
        isMapping(run)
          ? {
              ...run,
              name: c.where,
              ...(fromController && { [IMAGE_FROM_CONTROLLER]: true }),
            }
          : run,
      );
    }
  }

  /**
   * The fields of the one pod a kind makes besides its containers, volumes and token, as its
   * controller sets them: they are the judged pod's.
   */
  podLevel(fields: Record<string, unknown>) {
    if (Object.keys(fields).length) this.merged.setsPod = true;
    Object.assign(this.merged.podLevel, fields);
  }

  /** A field the controller does not put in the pods, by path. */
  unmapped(where: string) {
    this.pods.unmapped.push(where);
  }

  /** A mapping the pods are made of (a container, a container template, defaults). */
  place(value: unknown) {
    if (isMapping(value)) this.pods.placed.add(value);
  }

  done(): CustomPods {
    const m = this.merged;
    if (!m.setsPod) return this.pods;
    // Mounted if any pod mounts it; not mounted only if every pod says so; else as defaulted.
    let token: boolean | undefined;
    if (m.tokens.some(t => t === true)) token = true;
    else if (m.tokens.length && m.tokens.every(t => t === false)) token = false;
    this.pods.spec = {
      containers: m.containers,
      initContainers: m.initContainers,
      volumes: m.volumes,
      ...(m.hostNetwork && { hostNetwork: true }),
      ...(m.hostPID && { hostPID: true }),
      ...(m.hostIPC && { hostIPC: true }),
      ...(m.hostProcess && {
        securityContext: { windowsOptions: { hostProcess: true } },
      }),
      ...(token !== undefined && { automountServiceAccountToken: token }),
      // Of one pod: its own securityContext stands for the hostProcess flag above.
      ...m.podLevel,
    };
    return this.pods;
  }
}

/** Argo template kinds; a template of one kind takes no other kind from `templateDefaults`, only its own. */
const ARGO_TEMPLATE_TYPES = [
  'container',
  'script',
  'containerSet',
  'steps',
  'dag',
  'resource',
  'suspend',
  'data',
  'http',
  'plugin',
];

/**
 * The containers of an Argo template (or of `templateDefaults`) the policy reads: what is not in
 * the form Argo reads is left for valid-object to refuse.
 */
function placeArgoContainers(t: Record<string, any>, r: PodsReader) {
  for (const k of ['container', 'script']) if (isMapping(t[k])) r.place(t[k]);
  if (Array.isArray(at(t, ['containerSet', 'containers'])))
    r.place(t.containerSet);
  for (const k of ['initContainers', 'sidecars'])
    listOf(t[k]).forEach(c => r.place(c));
}

/**
 * An Argo workflow's pods: one per template that runs containers (`container`, `script`,
 * `containerSet`, with `initContainers` and `sidecars`), inline templates of steps and DAG tasks
 * included, with `templateDefaults` merged in; the pod securityContext is the template's, or else
 * the workflow's; volumes and hostNetwork are the workflow's and the template's.
 */
function readArgo(obj: KubeObject, r: PodsReader) {
  const cron = obj.kind === 'CronWorkflow';
  const wf = cron ? at(obj, ['spec', 'workflowSpec']) : obj.spec;
  const wfWhere = cron ? 'spec.workflowSpec' : 'spec';
  if (!isMapping(wf)) return;
  r.fields(wf, wfWhere);
  const defaults = isMapping(wf.templateDefaults)
    ? wf.templateDefaults
    : undefined;
  if (defaults) {
    // Its containers are merged into the templates that run them, and judged there.
    r.fields(defaults, `${wfWhere}.templateDefaults`);
    placeArgoContainers(defaults, r);
  }
  const queue = listOf(wf.templates).map((t, i) => ({
    t,
    where: `${wfWhere}.templates[${i}]`,
  }));
  const seen = new Set<unknown>();
  for (let next = queue.shift(); next; next = queue.shift()) {
    const { t, where } = next;
    if (!isMapping(t) || seen.has(t)) continue;
    seen.add(t);
    listOf(t.steps).forEach((group, i) =>
      listOf(group).forEach((step, j) => {
        if (isMapping(step) && step.inline !== undefined)
          queue.push({
            t: step.inline,
            where: `${where}.steps[${i}][${j}].inline`,
          });
      }),
    );
    listOf(at(t, ['dag', 'tasks'])).forEach((task, i) => {
      if (isMapping(task) && task.inline !== undefined)
        queue.push({
          t: task.inline,
          where: `${where}.dag.tasks[${i}].inline`,
        });
    });
    let tmpl: Record<string, any> = t;
    if (defaults) {
      const typed = ARGO_TEMPLATE_TYPES.some(k => t[k] !== undefined);
      const base = Object.fromEntries(
        Object.entries(defaults).filter(
          ([k]) =>
            !typed || !ARGO_TEMPLATE_TYPES.includes(k) || t[k] !== undefined,
        ),
      );
      tmpl = mergedOver(base, t) as Record<string, any>;
    }
    r.fields(t, where);
    const containers: PlacedContainer[] = [];
    placeArgoContainers(t, r);
    const add = (
      value: unknown,
      where_: string,
      list: PlacedContainer['list'],
      defaultName?: string,
    ) => {
      if (value !== undefined && value !== null)
        containers.push({ value, where: where_, list, defaultName });
    };
    add(tmpl.container, `${where}.container`, 'containers', 'main');
    add(tmpl.script, `${where}.script`, 'containers', 'main');
    listOf(at(tmpl, ['containerSet', 'containers'])).forEach((c, i) =>
      add(c, `${where}.containerSet.containers[${i}]`, 'containers'),
    );
    listOf(tmpl.initContainers).forEach((c, i) =>
      add(c, `${where}.initContainers[${i}]`, 'initContainers'),
    );
    listOf(tmpl.sidecars).forEach((c, i) =>
      add(c, `${where}.sidecars[${i}]`, 'containers'),
    );
    r.pod(
      containers,
      tmpl.securityContext ?? wf.securityContext,
      tmpl.automountServiceAccountToken ?? wf.automountServiceAccountToken,
    );
  }
}

/** A Tekton task spec's pod: its steps (with `stepTemplate` merged in) and sidecars. */
function readTektonTask(
  spec: unknown,
  where: string,
  r: PodsReader,
  podSecurity: unknown,
  token: unknown,
) {
  if (!isMapping(spec)) return;
  r.fields({ volumes: spec.volumes }, where);
  if (isMapping(spec.stepTemplate)) r.place(spec.stepTemplate);
  const containers: PlacedContainer[] = [];
  listOf(spec.steps).forEach((step, i) => {
    r.place(step);
    containers.push({
      value: mergedOver(spec.stepTemplate ?? undefined, step),
      where: `${where}.steps[${i}]`,
      list: 'containers',
      defaultName: `unnamed-${i}`,
    });
  });
  listOf(spec.sidecars).forEach((c, i) => {
    r.place(c);
    containers.push({
      value: c,
      where: `${where}.sidecars[${i}]`,
      list: 'containers',
    });
  });
  r.pod(containers, podSecurity, token);
}

/**
 * Tekton's pods: one per task spec (a Task's, a TaskRun's `taskSpec`, the `taskSpec` of each task
 * of a Pipeline or a PipelineRun's `pipelineSpec`), and a StepAction's step. A run's pod templates
 * set hostNetwork, volumes, the token and the pod securityContext; where tasks of a PipelineRun have
 * pod templates of their own with a securityContext, none is counted (steps then set their own).
 */
function readTekton(obj: KubeObject, r: PodsReader) {
  const spec = obj.spec;
  if (!isMapping(spec)) return;
  if (obj.kind === 'StepAction') {
    r.place(spec);
    r.pod(
      [{ value: spec, where: 'spec', list: 'containers', defaultName: 'step' }],
      undefined,
      undefined,
    );
    return;
  }
  const runTemplate = isMapping(spec.podTemplate)
    ? { value: spec.podTemplate, where: 'spec.podTemplate' }
    : {
        value: at(spec, ['taskRunTemplate', 'podTemplate']),
        where: 'spec.taskRunTemplate.podTemplate',
      };
  const templates = [runTemplate];
  listOf(spec.taskRunSpecs).forEach((s, i) => {
    for (const k of ['podTemplate', 'taskPodTemplate'])
      templates.push({
        value: at(s, [k]),
        where: `spec.taskRunSpecs[${i}].${k}`,
      });
  });
  for (const t of templates) r.fields(t.value, t.where);
  const perTask = templates
    .slice(1)
    .some(t => isMapping(t.value) && t.value.securityContext !== undefined);
  const podSecurity = perTask
    ? undefined
    : at(runTemplate.value, ['securityContext']);
  const tokens = templates
    .map(t => at(t.value, ['automountServiceAccountToken']))
    .filter(v => v !== undefined);
  const token = tokens.includes(true) ? true : tokens[0];
  if (obj.kind === 'Task' || obj.kind === 'ClusterTask')
    readTektonTask(spec, 'spec', r, podSecurity, token);
  else if (obj.kind === 'TaskRun')
    readTektonTask(spec.taskSpec, 'spec.taskSpec', r, podSecurity, token);
  else {
    const pipeline = obj.kind === 'Pipeline' ? spec : spec.pipelineSpec;
    const where = obj.kind === 'Pipeline' ? 'spec' : 'spec.pipelineSpec';
    if (!isMapping(pipeline)) return;
    for (const list of ['tasks', 'finally'])
      listOf(pipeline[list]).forEach((task, i) =>
        readTektonTask(
          at(task, ['taskSpec']),
          `${where}.${list}[${i}].taskSpec`,
          r,
          podSecurity,
          token,
        ),
      );
  }
}

/**
 * The fields of an Argo Events pod template (`spec.template`) its controller copies into the spec of
 * the pod it makes, as they are (`buildDeploymentSpec` of the sensor and event source reconcilers),
 * besides `metadata` (the pod's labels and annotations) and `container` (merged into its one
 * container). It reads no other field: the API server keeps any other (the CRDs preserve unknown
 * fields), the controller ignores it.
 */
const ARGO_EVENTS_POD_FIELDS = [
  'serviceAccountName',
  'volumes',
  'securityContext',
  'nodeSelector',
  'tolerations',
  'imagePullSecrets',
  'priorityClassName',
  'priority',
  'affinity',
];
/** Every field of an Argo Events pod template. */
export const ARGO_EVENTS_TEMPLATE_FIELDS = [
  'metadata',
  'container',
  ...ARGO_EVENTS_POD_FIELDS,
];

/**
 * The pod of an Argo Events Sensor or EventSource, as its controller builds it from `spec.template`:
 * the template's pod fields ({@link ARGO_EVENTS_POD_FIELDS}: serviceAccountName, volumes,
 * securityContext, nodeSelector, …) are the pod's, and its `container` is merged into the one
 * container, whose image the controller supplies. Any other field of the template is unmapped
 * (fail closed: `valid-object` refuses it), never read as the pod's (a template's
 * `automountServiceAccountToken: false` leaves the pod mounting its token).
 */
function readArgoEvents(obj: KubeObject, r: PodsReader) {
  const template = at(obj, ['spec', 'template']);
  if (!isMapping(template)) return;
  const fields: Record<string, unknown> = {};
  for (const k of Object.keys(template)) {
    if (ARGO_EVENTS_POD_FIELDS.includes(k)) {
      if (template[k] !== undefined && template[k] !== null)
        fields[k] = template[k];
    } else if (!ARGO_EVENTS_TEMPLATE_FIELDS.includes(k)) {
      r.unmapped(`spec.template.${k}`);
    }
  }
  r.fields(fields, 'spec.template');
  const { volumes: _volumes, ...podLevel } = fields;
  r.podLevel(podLevel);
  const container = template.container;
  if (container === undefined || container === null) return;
  r.place(container);
  r.pod(
    [
      {
        value: container,
        where: 'spec.template.container',
        list: 'containers',
        defaultName: 'main',
        imageFromController: true,
      },
    ],
    template.securityContext,
    undefined,
  );
}

/** Keys of a Tekton object that refer to a Task, Pipeline or StepAction to run. */
const TEKTON_REF_KEYS = new Set(['taskRef', 'pipelineRef', 'ref']);

/**
 * Where a Tekton object refers to a task, pipeline or step that a resolver fetches from outside
 * the cluster (`resolver: bundles|git|http|hub|cluster|…`, or the old `bundle`): the policy never
 * sees what it runs. A reference by name alone is to an object in the namespace, judged when applied.
 */
export function tektonRemoteRefPaths(obj: KubeObject): string[] {
  if (manyPodsKind(obj) !== 'tekton') return [];
  const out: string[] = [];
  const seen = new Set<object>();
  const stack: Array<{ value: unknown; path: string }> = [
    { value: obj.spec, path: 'spec' },
  ];
  while (stack.length) {
    const { value, path } = stack.pop()!;
    if (!value || typeof value !== 'object' || seen.has(value)) continue;
    seen.add(value);
    const entries: Array<[string, unknown]> = Array.isArray(value)
      ? value.map((v, i) => [`${path}[${i}]`, v])
      : Object.entries(value).map(([k, v]) => {
          if (
            TEKTON_REF_KEYS.has(k) &&
            isMapping(v) &&
            ((v.resolver !== undefined && v.resolver !== null) ||
              (v.bundle !== undefined && v.bundle !== null))
          )
            out.push(`${path}.${k}`);
          return [`${path}.${k}`, v];
        });
    for (let i = entries.length - 1; i >= 0; i--)
      stack.push({ value: entries[i][1], path: entries[i][0] });
  }
  return out;
}

const customPodsCache = new WeakMap<object, CustomPods | null>();

/**
 * The pods an Argo Workflow, CronWorkflow, WorkflowTemplate or ClusterWorkflowTemplate, an Argo
 * Events Sensor or EventSource, or a Tekton Task, ClusterTask, TaskRun, Pipeline, PipelineRun or
 * StepAction makes; undefined for other kinds.
 */
export function customPodsOf(obj: KubeObject): CustomPods | undefined {
  const which = manyPodsKind(obj);
  if (!which) return undefined;
  const cached = customPodsCache.get(obj);
  if (cached !== undefined) return cached ?? undefined;
  const r = new PodsReader();
  if (which === 'argo') readArgo(obj, r);
  else if (which === 'argoEvents') readArgoEvents(obj, r);
  else readTekton(obj, r);
  const pods = r.done();
  customPodsCache.set(obj, pods);
  return pods;
}
