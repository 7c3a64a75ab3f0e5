import yaml from 'js-yaml';
import { parseYamlLimited } from '../yaml/parseYamlLimited';

/**
 * Labels for everything the engine applies for a tenant: added by the post-render step to every
 * object helm is about to send, and to the pod templates in them, so that the pods carry the label
 * the tenant's catalog entity selects (`backstage.io/kubernetes-label-selector`).
 *
 * Helm reads the post-renderer's output with YAML 1.1 rules (go-yaml v2: `yes`/`on` are booleans,
 * `0644` is octal). The documents are read and written here with the same rules, so a value means
 * to helm after labelling exactly what it meant before; a number that does not fit a JavaScript
 * number exactly is refused rather than rounded.
 */

const BOOL_TRUE = [
  'y',
  'Y',
  'yes',
  'Yes',
  'YES',
  'true',
  'True',
  'TRUE',
  'on',
  'On',
  'ON',
];
const BOOL_FALSE = [
  'n',
  'N',
  'no',
  'No',
  'NO',
  'false',
  'False',
  'FALSE',
  'off',
  'Off',
  'OFF',
];

const bool11 = new yaml.Type('tag:yaml.org,2002:bool', {
  kind: 'scalar',
  resolve: (data: string) =>
    BOOL_TRUE.includes(data) || BOOL_FALSE.includes(data),
  construct: (data: string) => BOOL_TRUE.includes(data),
  predicate: (o: unknown) => typeof o === 'boolean',
  represent: (o: object) => (o ? 'true' : 'false'),
});

const INT_DEC = /^[-+]?(0|[1-9][0-9_]*)$/;
const INT_OCT = /^[-+]?0[0-7_]+$/;
const INT_HEX = /^[-+]?0x[0-9a-fA-F_]+$/;
const INT_BIN = /^[-+]?0b[01_]+$/;

function intValue(data: string): bigint {
  const sign = data.startsWith('-') ? -1n : 1n;
  const digits = data.replace(/^[-+]/, '').replace(/_/g, '');
  if (INT_HEX.test(data) || INT_BIN.test(data)) return sign * BigInt(digits);
  if (INT_OCT.test(data)) return sign * BigInt(`0o${digits.slice(1)}`);
  return sign * BigInt(digits);
}

const int11 = new yaml.Type('tag:yaml.org,2002:int', {
  kind: 'scalar',
  resolve: (data: string) =>
    [INT_DEC, INT_OCT, INT_HEX, INT_BIN].some(r => r.test(data)),
  construct: (data: string) => {
    const value = intValue(data);
    if (
      value > BigInt(Number.MAX_SAFE_INTEGER) ||
      value < BigInt(Number.MIN_SAFE_INTEGER)
    ) {
      throw new Error(
        `the integer ${data} cannot be relabelled without losing precision`,
      );
    }
    return Number(value);
  },
  predicate: (o: unknown) => typeof o === 'number' && Number.isInteger(o),
  represent: (o: object) => String(o),
});

// js-yaml exports its built-in types at run time; @types/js-yaml does not declare them.
const builtin = (
  yaml as unknown as { types: Record<'null' | 'float' | 'merge', yaml.Type> }
).types;

/** YAML 1.1 as go-yaml v2 reads it: null, booleans, integers (octal too), floats, merge keys. */
const HELM_YAML_SCHEMA = yaml.FAILSAFE_SCHEMA.extend({
  implicit: [builtin.null, bool11, int11, builtin.float, builtin.merge],
});

/** Kinds whose `spec.template` is a pod template. */
const POD_TEMPLATE_KINDS = new Set([
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'ReplicaSet',
  'ReplicationController',
  'Job',
]);

type Obj = Record<string, any>;
const isObj = (v: unknown): v is Obj =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function addLabels(meta: unknown, labels: Record<string, string>): Obj {
  const m = isObj(meta) ? meta : {};
  return { ...m, labels: { ...(isObj(m.labels) ? m.labels : {}), ...labels } };
}

function labelTemplate(holder: unknown, labels: Record<string, string>) {
  if (isObj(holder) && isObj(holder.template)) {
    holder.template.metadata = addLabels(holder.template.metadata, labels);
  }
}

/**
 * Adds `labels` to one object (a `…List` gets them on every item) and to its pod templates (a
 * label of the same key is replaced). Mutates the object.
 * @public
 */
export function labelObject(
  obj: unknown,
  labels: Record<string, string>,
): void {
  if (!isObj(obj)) return;
  if (
    typeof obj.kind === 'string' &&
    obj.kind.endsWith('List') &&
    Array.isArray(obj.items)
  ) {
    obj.items.forEach(item => labelObject(item, labels));
    return;
  }
  obj.metadata = addLabels(obj.metadata, labels);
  if (POD_TEMPLATE_KINDS.has(obj.kind)) labelTemplate(obj.spec, labels);
  if (obj.kind === 'PodTemplate') labelTemplate(obj, labels);
  if (
    obj.kind === 'CronJob' &&
    isObj(obj.spec) &&
    isObj(obj.spec.jobTemplate)
  ) {
    obj.spec.jobTemplate.metadata = addLabels(
      obj.spec.jobTemplate.metadata,
      labels,
    );
    labelTemplate(obj.spec.jobTemplate.spec, labels);
  }
}

/**
 * Returns the manifests helm rendered with `labels` set on every object and on the pod templates
 * of every workload (a label the chart set under the same key is replaced: the engine decides the
 * tenant). Throws, so the post-render gate refuses and helm applies nothing, when the manifests
 * exceed the input limits, are not valid YAML or hold a number that cannot be carried exactly.
 * @public
 */
export function labelManifests(
  manifest: string,
  labels: Record<string, string>,
): string {
  // Bounds first (size, documents, depth, aliases): the same limits as every other parse.
  parseYamlLimited(manifest, { what: 'Rendered manifests' });
  const docs = yaml.loadAll(manifest, null, { schema: HELM_YAML_SCHEMA });
  return docs
    .filter(d => d !== null && d !== undefined)
    .map(d => {
      labelObject(d, labels);
      return yaml.dump(d, {
        schema: HELM_YAML_SCHEMA,
        noRefs: true,
        lineWidth: -1,
      });
    })
    .join('---\n');
}
