import {
  KubeObject,
  labelObject,
  redactObject,
  scrubStrings,
} from '@kubechart/plugin-kubechart-node';
import { createHash } from 'node:crypto';
import { canonicalJson } from './plan';

/**
 * The annotation helm 4 adds to every object it hands its post-renderer (the template file it came
 * from) and removes again before it applies them: not part of what the cluster gets.
 */
const HELM4_POST_RENDER_FILENAME = 'postrenderer.helm.sh/postrender-filename';

/**
 * What a plan's render is given in place of each credential a tenant run generates at install (the
 * real ones never leave the cluster), and what the credentials are normalised to at install.
 */
export const GENERATED_AT_INSTALL = 'generated-at-install';

/**
 * What one release of an approved plan renders to, normalised (see {@link approvedManifestOf}): the
 * digest of all its objects, and of each object by `Kind name`, to name the first that differs.
 */
export type ApprovedManifest = {
  digest: string;
  objects: Record<string, string>;
};

const sha256 = (text: string) =>
  `sha256:${createHash('sha256').update(text).digest('hex')}`;

/**
 * The normalised form of a release's rendered objects, alike for the plan's offline render (`helm
 * template`, hooks included) and for what helm hands the post-render gate at install (on helm 3 with
 * the hooks of its server dry run). Only what provably differs for every chart is normalised: the
 * labels the gate adds to a tenant's objects (`labels`, added to both sides), the file-name annotation
 * helm 4 adds for its post-renderer, and document order and text layout. Each object is then redacted
 * as the plan's manifest is (Secret data, secret-looking ConfigMap keys and env values): approvers
 * saw none of it, and a chart that generates a password renders another one each time. The tenant
 * credentials generated at install (`generated`) read {@link GENERATED_AT_INSTALL}, as in the plan.
 */
export function approvedManifestOf(
  objects: KubeObject[],
  labels: Record<string, string>,
  generated: string[] = [],
): ApprovedManifest {
  // Longest first, so a credential that contains another is replaced whole.
  const values = generated
    .filter(v => v.length > 0)
    .sort((a, b) => b.length - a.length);
  const asPlanned = (text: string) =>
    values.reduce((t, v) => t.split(v).join(GENERATED_AT_INSTALL), text);
  const entries = objects.map((o, i) => {
    const copy: KubeObject =
      (values.length
        ? scrubStrings(o ?? null, asPlanned)
        : JSON.parse(JSON.stringify(o ?? null))) ?? {};
    if (Object.keys(labels).length > 0) labelObject(copy, labels);
    const annotations = copy.metadata?.annotations;
    if (annotations && typeof annotations === 'object') {
      delete annotations[HELM4_POST_RENDER_FILENAME];
      if (Object.keys(annotations).length === 0)
        delete copy.metadata!.annotations;
    }
    const name = copy.metadata?.name ?? `document ${i + 1}`;
    const namespace = copy.metadata?.namespace;
    return {
      key: `${copy.kind ?? 'Unknown'} ${
        namespace ? `${namespace}/` : ''
      }${name}`,
      text: canonicalJson(redactObject(copy)),
    };
  });
  entries.sort((a, b) =>
    a.key === b.key ? a.text.localeCompare(b.text) : a.key.localeCompare(b.key),
  );
  const digests: Record<string, string> = {};
  for (const e of entries) {
    // Two objects under one name (a list item and a document, say) both count.
    let key = e.key;
    for (let n = 2; key in digests; n++) key = `${e.key} (${n})`;
    digests[key] = sha256(e.text);
  }
  return {
    digest: sha256(canonicalJson(entries.map(e => e.text))),
    objects: digests,
  };
}

/**
 * Why what helm is about to apply for `release` is not the approved plan's, or undefined when it is
 * (the same normalised objects). Names the first object that differs.
 */
export function describeManifestDifference(
  release: string,
  approved: ApprovedManifest,
  sent: ApprovedManifest,
): string | undefined {
  if (approved.digest === sent.digest) return undefined;
  const keys = [
    ...new Set([
      ...Object.keys(approved.objects),
      ...Object.keys(sent.objects),
    ]),
  ].sort();
  const first = keys.find(k => approved.objects[k] !== sent.objects[k]);
  let detail = '';
  if (first !== undefined) {
    if (!(first in approved.objects))
      detail = ` (${first} is not in the approved plan)`;
    else if (!(first in sent.objects))
      detail = ` (${first} of the approved plan is missing)`;
    else detail = ` (${first} differs)`;
  }
  return `Release ${release} was not installed: the chart rendered differently at install than in the approved plan${detail}; nothing was applied. The plan is rendered offline as a first install, so a chart whose templates depend on an upgrade (.Release.IsUpgrade, .Release.Revision), on the cluster (lookup) or on its capabilities cannot be installed from it; this approval is used up.`;
}
