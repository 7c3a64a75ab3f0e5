import {
  ARGO_EVENTS_TEMPLATE_FIELDS,
  CONTAINER_LISTS,
  customPodsOf,
  isBuiltinPodBearingKind,
  IMAGE_FROM_CONTROLLER,
  isMapping,
  podSpecPath,
  tektonRemoteRefPaths,
} from './podSpec';
import { unplacedContainersProblem } from './podTemplates';
import type { KubeObject } from './types';

/** The id of the structural check; it cannot be turned off or exempted (fail closed). */
export const VALID_OBJECT_RULE_ID = 'valid-object';

const MAX_PROBLEMS = 10;

/**
 * Top-level keys helm would take for `items`. client-go reads any document with an `items` field as a
 * list, whatever its kind; the name is matched case-insensitively in case a JSON decoder does.
 */
export const isItemsKey = (k: string) =>
  k.toLowerCase() === 'items' || k.toUpperCase() === 'ITEMS';

/**
 * A list the policy unpacks: a `…List` kind with an `items` array and no other spelling of `items`.
 * Its items are what helm creates (it ignores the list's own fields).
 */
export function isList(doc: unknown): doc is { items: unknown[] } {
  return (
    isMapping(doc) &&
    typeof doc.kind === 'string' &&
    doc.kind.endsWith('List') &&
    Array.isArray(doc.items) &&
    Object.keys(doc).filter(isItemsKey).length === 1
  );
}

/**
 * The objects of parsed manifest documents, as helm creates them: empty documents skipped, a
 * `…List` document's items in its place.
 */
export function manifestObjects(docs: unknown[]): KubeObject[] {
  const out: KubeObject[] = [];
  for (const d of docs) {
    if (d === null || d === undefined) continue;
    // One by one: spreading a List of many items into push() overflows the stack.
    if (isList(d)) for (const item of d.items) out.push(item as KubeObject);
    else out.push(d as KubeObject);
  }
  return out;
}

/** Why a document is a list the policy does not unpack (helm would create its items), or undefined. */
function itemsProblem(doc: Record<string, any>): string | undefined {
  const key = Object.keys(doc).find(isItemsKey);
  if (key === undefined) return undefined;
  return `it has an "${key}" field: helm reads a document with one as a list and creates its items instead of this ${String(
    doc.kind || 'object',
  )}; put the objects in a document of kind List (not nested), or remove the field`;
}

/** The name of the Secrets helm stores a release in: `sh.helm.release.v1.<release>.v<revision>`. */
const HELM_RELEASE_RECORD_NAME = /^sh\.helm\.release\.v1\./;

/**
 * Why an object is (or passes for) a helm release record, or undefined. Helm and a rollback trust these
 * (a rollback applies the manifest one holds): only helm writes them, never a chart or manifests.
 */
function releaseRecordProblem(doc: Record<string, any>): string | undefined {
  if (doc.kind !== 'Secret' && doc.kind !== 'ConfigMap') return undefined;
  const md = isMapping(doc.metadata) ? doc.metadata : {};
  const labels = isMapping(md.labels) ? md.labels : {};
  if (
    (doc.kind === 'Secret' && doc.type === 'helm.sh/release.v1') ||
    (typeof md.name === 'string' && HELM_RELEASE_RECORD_NAME.test(md.name)) ||
    labels.owner === 'helm'
  ) {
    return 'it is a helm release record (type helm.sh/release.v1, a name sh.helm.release.v1.…, or the label owner=helm): only helm writes these, and helm and rollbacks trust what they hold';
  }
  return undefined;
}

/**
 * Fields that switch host access or a security control on and off. Helm and the API server read
 * them as booleans; any other value (a quoted "yes", a number) is refused rather than guessed at.
 */
const POD_FLAGS = [
  'hostNetwork',
  'hostPID',
  'hostIPC',
  'hostUsers',
  'shareProcessNamespace',
  'automountServiceAccountToken',
];
const SECURITY_CONTEXT_FLAGS = [
  'privileged',
  'allowPrivilegeEscalation',
  'runAsNonRoot',
  'readOnlyRootFilesystem',
];

function flagProblems(
  holder: Record<string, any>,
  flags: string[],
  where: string,
): string[] {
  return flags
    .filter(k => holder[k] !== undefined && holder[k] !== null)
    .filter(k => typeof holder[k] !== 'boolean')
    .map(
      k =>
        `${where}${k} is not a boolean (${JSON.stringify(holder[k]).slice(
          0,
          40,
        )}); write true or false`,
    );
}

/** Problems of a (pod or container) securityContext's flags, `windowsOptions.hostProcess` included. */
function securityContextProblems(
  sc: Record<string, any>,
  where: string,
): string[] {
  const out = flagProblems(sc, SECURITY_CONTEXT_FLAGS, `${where}.`);
  const wo = sc.windowsOptions;
  if (wo !== undefined && wo !== null) {
    if (!isMapping(wo)) out.push(`${where}.windowsOptions is not a mapping`);
    else
      out.push(
        ...flagProblems(wo, ['hostProcess'], `${where}.windowsOptions.`),
      );
  }
  return out;
}

function containerProblems(c: unknown, where: string): string[] {
  if (!isMapping(c)) return [`${where} is not a mapping`];
  const out: string[] = [];
  if (typeof c.name !== 'string' || !c.name) out.push(`${where} has no name`);
  const fromController =
    c.image === undefined &&
    (c as Record<PropertyKey, unknown>)[IMAGE_FROM_CONTROLLER];
  if ((typeof c.image !== 'string' || !c.image) && !fromController)
    out.push(`${where} has no image`);
  const sc = c.securityContext;
  if (sc !== undefined && sc !== null) {
    if (!isMapping(sc)) out.push(`${where}.securityContext is not a mapping`);
    else if (sc.capabilities !== undefined && sc.capabilities !== null) {
      if (!isMapping(sc.capabilities))
        out.push(`${where}.securityContext.capabilities is not a mapping`);
      else {
        for (const k of ['add', 'drop']) {
          const v = sc.capabilities[k];
          if (
            v !== undefined &&
            v !== null &&
            (!Array.isArray(v) || v.some(x => typeof x !== 'string'))
          ) {
            out.push(
              `${where}.securityContext.capabilities.${k} is not a list of strings`,
            );
          }
        }
      }
    }
  }
  if (isMapping(sc))
    out.push(...securityContextProblems(sc, `${where}.securityContext`));
  for (const list of ['env', 'ports', 'volumeMounts']) {
    const v = c[list];
    if (
      v !== undefined &&
      v !== null &&
      (!Array.isArray(v) || v.some(x => !isMapping(x)))
    ) {
      out.push(`${where}.${list} is not a list of mappings`);
    }
  }
  return out;
}

/** Problems of the fields of a pod spec (or what sets them) the rules read as the API server does. */
function podFieldProblems(spec: Record<string, any>, where: string): string[] {
  const out: string[] = [];
  const v = spec.volumes;
  if (
    v !== undefined &&
    v !== null &&
    (!Array.isArray(v) || v.some(x => !isMapping(x)))
  ) {
    out.push(`${where}.volumes is not a list of mappings`);
  }
  out.push(...flagProblems(spec, POD_FLAGS, `${where}.`));
  if (
    spec.securityContext !== undefined &&
    spec.securityContext !== null &&
    !isMapping(spec.securityContext)
  ) {
    out.push(`${where}.securityContext is not a mapping`);
  } else if (isMapping(spec.securityContext)) {
    out.push(
      ...securityContextProblems(
        spec.securityContext,
        `${where}.securityContext`,
      ),
    );
  }
  return out;
}

/**
 * What makes a rendered document something the policy cannot judge: not a mapping, no kind or
 * apiVersion, no name, a pod-bearing object whose pod spec or containers are malformed, a security
 * flag that is not a boolean, a custom resource holding containers the policy cannot place in a pod
 * or a pod template field its controller does not put in the pod (an Argo Events template's), an `items` field outside a list the policy unpacks (helm would create
 * the items), or a helm release record. Empty when the object is well-formed enough for every rule.
 */
export function objectProblems(doc: unknown): string[] {
  if (!isMapping(doc)) {
    return [
      `the document is ${
        Array.isArray(doc) ? 'a list' : `a ${typeof doc}`
      }, not a Kubernetes object`,
    ];
  }
  const out: string[] = [];
  const items = itemsProblem(doc);
  if (items) out.push(items);
  const record = releaseRecordProblem(doc);
  if (record) out.push(record);
  if (typeof doc.apiVersion !== 'string' || !doc.apiVersion)
    out.push('apiVersion is missing');
  if (typeof doc.kind !== 'string' || !doc.kind) out.push('kind is missing');
  const md = doc.metadata;
  if (!isMapping(md)) {
    out.push('metadata is missing or not a mapping');
  } else {
    if (
      (typeof md.name !== 'string' || !md.name) &&
      (typeof md.generateName !== 'string' || !md.generateName)
    ) {
      out.push('metadata.name is missing');
    }
    if (
      md.namespace !== undefined &&
      md.namespace !== null &&
      typeof md.namespace !== 'string'
    ) {
      out.push('metadata.namespace is not a string');
    }
    for (const k of ['labels', 'annotations']) {
      if (md[k] !== undefined && md[k] !== null && !isMapping(md[k]))
        out.push(`metadata.${k} is not a mapping`);
    }
  }
  if (doc.kind === 'ServiceAccount')
    out.push(...flagProblems(doc, ['automountServiceAccountToken'], ''));
  const path = podSpecPath(doc);
  if (path) {
    let cur: unknown = doc;
    for (const p of path) cur = isMapping(cur) ? cur[p] : undefined;
    const where = path.join('.');
    if (!isMapping(cur)) {
      out.push(`${where} is missing or not a mapping`);
    } else {
      const spec = cur;
      if (!Array.isArray(spec.containers) || spec.containers.length === 0) {
        out.push(
          `${where}.containers is ${
            Array.isArray(spec.containers) ? 'empty' : 'missing or not a list'
          }`,
        );
      }
      for (const list of CONTAINER_LISTS) {
        const v = spec[list];
        if (v === undefined || v === null) continue;
        if (!Array.isArray(v)) {
          if (list !== 'containers') out.push(`${where}.${list} is not a list`);
          continue;
        }
        v.forEach((c, i) =>
          out.push(...containerProblems(c, `${where}.${list}[${i}]`)),
        );
      }
      out.push(...podFieldProblems(spec, where));
    }
  } else if (isBuiltinPodBearingKind(doc.kind)) {
    out.push('the pod template is missing');
  }
  // The pods of an Argo workflow or a Tekton task, where they are written.
  const pods = customPodsOf(doc);
  for (const { value, where } of pods?.podFields ?? [])
    out.push(...podFieldProblems(value, where));
  const unmapped = pods?.unmapped ?? [];
  if (unmapped.length) {
    const one = unmapped.length === 1;
    out.push(
      `${unmapped.slice(0, 5).join(', ')}${
        unmapped.length > 5 ? ` and ${unmapped.length - 5} more` : ''
      }: ${
        one ? 'not a field' : 'not fields'
      } of the pod template of an Argo Events ${String(
        doc.kind,
      )}: its controller puts only ${ARGO_EVENTS_TEMPLATE_FIELDS.join(
        ', ',
      )} into the pod it makes and ignores ${
        one ? 'this one' : 'these'
      }, so the policy cannot judge the pod by ${one ? 'it' : 'them'}; remove ${
        one ? 'it' : 'them'
      }`,
    );
  }
  for (const c of pods?.containers ?? []) {
    const named =
      isMapping(c.value) &&
      ((c.defaultName && c.value.name === undefined) || c.imageFromController)
        ? {
            ...c.value,
            ...(c.defaultName &&
              c.value.name === undefined && { name: c.defaultName }),
            ...(c.imageFromController && { [IMAGE_FROM_CONTROLLER]: true }),
          }
        : c.value;
    out.push(...containerProblems(named, c.where));
  }
  const remote = tektonRemoteRefPaths(doc);
  if (remote.length)
    out.push(
      `${remote.slice(0, 5).join(', ')}${
        remote.length > 5 ? ` and ${remote.length - 5} more` : ''
      }: a ${String(
        doc.kind,
      )} that runs a task, pipeline or step a resolver fetches (resolver or bundle), which the policy cannot judge; refer to a Task or Pipeline of the chart by name, or write it inline (taskSpec, pipelineSpec)`,
    );
  const unplaced = unplacedContainersProblem(doc);
  if (unplaced) out.push(unplaced);
  return out.length > MAX_PROBLEMS
    ? [...out.slice(0, MAX_PROBLEMS), `and ${out.length - MAX_PROBLEMS} more`]
    : out;
}
