import yaml from 'js-yaml';
import { HELM_YAML_SCHEMA } from '../yaml/helmYamlSchema';
import { MANIFEST_DOCUMENT_LIMITS } from '../yaml/limits';
import {
  ParseYamlOptions,
  parseYamlLimited,
  parseYamlLimitedInTurns,
} from '../yaml/parseYamlLimited';
import { Pausable, runAtOnce, runInTurns } from '../yaml/turns';

/**
 * Labels for everything the engine applies for a tenant: added by the post-render step to every
 * object helm is about to send, and to the pod templates in them, so that the pods carry the label
 * the tenant's catalog entity selects (`backstage.io/kubernetes-label-selector`).
 *
 * Helm reads the post-renderer's output with YAML 1.1 rules (go-yaml v2: `yes`/`on` are booleans,
 * `0644` is octal). The documents are read and written here with the same rules
 * ({@link HELM_YAML_SCHEMA}), so a value means to helm after labelling exactly what it meant before;
 * a number that does not fit a JavaScript number exactly is refused rather than rounded.
 */

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
 * Adds `labels` to one object and to its pod templates (a label of the same key is replaced).
 * A document with an `items` list gets them on every item instead, whatever its kind: helm (client-go)
 * reads any such document as a list and creates its items, never the document itself (the policy
 * refuses one whose kind is not a list). Mutates the object.
 * @public
 */
export function labelObject(
  obj: unknown,
  labels: Record<string, string>,
): void {
  if (!isObj(obj)) return;
  if (Array.isArray(obj.items)) {
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

/** Each document labelled and written out as helm reads it, pausing before each document. */
function* labellingDocuments(
  docs: unknown[],
  labels: Record<string, string>,
): Pausable<string> {
  const labelling = Object.keys(labels).length > 0;
  const out: string[] = [];
  for (const d of docs) {
    if (d === null || d === undefined) continue;
    // A pause before each: reading the last document and writing the first are two turns.
    yield undefined;
    if (labelling) labelObject(d, labels);
    out.push(
      yaml.dump(d, {
        schema: HELM_YAML_SCHEMA,
        noRefs: true,
        lineWidth: -1,
      }),
    );
  }
  return out.join('---\n');
}

/** How the rendered manifests are read: bounded like every other parse, each document as one object. */
const RENDERED: ParseYamlOptions = {
  what: 'Rendered manifests',
  schema: 'helm',
  limits: MANIFEST_DOCUMENT_LIMITS,
};

/**
 * Returns the manifests helm rendered with `labels` set on every object and on the pod templates
 * of every workload (a label the chart set under the same key is replaced: the engine decides the
 * tenant), written out again as helm reads them. With no labels it changes no value, only the text:
 * every value is then written in the one form helm and the policy read alike (`yes` becomes `true`).
 * Throws, so the post-render gate refuses and helm applies nothing, when the manifests exceed the
 * input limits (a document over {@link MANIFEST_DOCUMENT_LIMITS} included: larger than the API
 * server stores), are not valid YAML or hold a number that cannot be carried exactly.
 * @public
 */
export function labelManifests(
  manifest: string,
  labels: Record<string, string>,
): string {
  return runAtOnce(
    labellingDocuments(parseYamlLimited(manifest, RENDERED), labels),
  );
}

/**
 * {@link labelManifests}, read and written one document per turn of the event loop (what the
 * post-render gate uses): the longest the event loop is held is what one document costs.
 * @public
 */
export async function labelManifestsInTurns(
  manifest: string,
  labels: Record<string, string>,
): Promise<string> {
  const docs = await parseYamlLimitedInTurns(manifest, RENDERED);
  return runInTurns(labellingDocuments(docs, labels));
}
