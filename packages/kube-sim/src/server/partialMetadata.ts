import { ResourceType } from './resources';
import { StatusError } from './status';
import { KubeObject } from './types';

/** What a client asked for with `Accept: application/json;as=PartialObjectMetadata[List];g=meta.k8s.io;v=…`. */
export interface MetadataRequest {
  as: 'PartialObjectMetadata' | 'PartialObjectMetadataList';
  version: 'v1' | 'v1beta1';
}

const ACCEPTED =
  'only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf';

function notAcceptable(message: string) {
  return new StatusError(406, 'NotAcceptable', message);
}

/**
 * Reads the Accept header in order, as the API server negotiates: the first entry it can serve
 * wins. Returns the metadata-only form asked for, or undefined for the plain object.
 */
export function metadataRequest(
  accept: string | undefined,
): MetadataRequest | undefined {
  if (!accept || !/as=PartialObjectMetadata/.test(accept)) return undefined;
  for (const entry of accept.split(',')) {
    const [media, ...params] = entry.split(';').map(p => p.trim());
    const p = Object.fromEntries(
      params.map(x => x.split('=').map(s => s.trim()) as [string, string]),
    );
    if (!p.as) {
      if (['application/json', '*/*', 'application/*'].includes(media))
        return undefined;
      continue;
    }
    if (
      media === 'application/json' &&
      (p.as === 'PartialObjectMetadata' ||
        p.as === 'PartialObjectMetadataList') &&
      p.g === 'meta.k8s.io' &&
      (p.v === 'v1' || p.v === 'v1beta1')
    ) {
      return { as: p.as, version: p.v };
    }
  }
  throw notAcceptable(ACCEPTED);
}

/** The Go type the real server names in its 406 (`*apps.Deployment`, `*core.ConfigMap`). */
function goType(type: ResourceType, list: boolean): string {
  if (type.custom) return `*unstructured.Unstructured${list ? 'List' : ''}`;
  const pkg = type.group ? type.group.split('.')[0] : 'core';
  return `*${pkg}.${type.kind}${list ? 'List' : ''}`;
}

export function partialObject(obj: KubeObject, version: string) {
  return {
    kind: 'PartialObjectMetadata',
    apiVersion: `meta.k8s.io/${version}`,
    metadata: obj.metadata,
  };
}

/** A single object in the metadata-only form asked for. */
export function partialForGet(
  type: ResourceType,
  obj: KubeObject,
  req: MetadataRequest,
) {
  if (req.as !== 'PartialObjectMetadata') {
    throw notAcceptable(
      `you requested PartialObjectMetadataList, but the requested object is not a list (${goType(
        type,
        false,
      )})`,
    );
  }
  return partialObject(obj, req.version);
}

/** A list in the metadata-only form asked for. */
export function partialForList(
  type: ResourceType,
  list: { metadata: unknown; items: KubeObject[] },
  req: MetadataRequest,
) {
  if (req.as !== 'PartialObjectMetadataList') {
    throw notAcceptable(
      `you requested PartialObjectMetadata, but the requested object is a list (${goType(
        type,
        true,
      )})`,
    );
  }
  return {
    kind: 'PartialObjectMetadataList',
    apiVersion: `meta.k8s.io/${req.version}`,
    metadata: list.metadata,
    items: list.items.map(o => partialObject(o, req.version)),
  };
}
