import { applySchemaDefaults } from './defaults';
import { Admission } from '../server/api';
import { ResourceType, typeId } from '../server/resources';
import { isPlainObject, KubeObject, Verb } from '../server/types';
import { KindSchema } from '../schema/validation';
import { SchemaNode } from '../schema/openapi';

/** The CustomResourceDefinition resource's storage id. */
export const CRD_TYPE_ID = 'customresourcedefinitions.apiextensions.k8s.io';

const CR_VERBS: Verb[] = [
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'create',
  'update',
  'watch',
];

/** The resource types a CRD serves: one per served version. */
export function typesOf(crd: KubeObject): ResourceType[] {
  const spec = crd.spec ?? {};
  const names = spec.names ?? {};
  return (spec.versions ?? [])
    .filter((v: any) => v.served)
    .map(
      (v: any): ResourceType => ({
        group: spec.group,
        version: v.name,
        plural: names.plural,
        kind: names.kind,
        namespaced: spec.scope !== 'Cluster',
        ...(names.shortNames ? { shortNames: names.shortNames } : {}),
        ...(names.categories ? { categories: names.categories } : {}),
        verbs: CR_VERBS,
        ...(v.subresources?.status ? { subresources: ['status'] } : {}),
        generation: true,
        custom: {
          crd: crd.metadata.name!,
          schema: v.schema?.openAPIV3Schema ?? {},
          listKind: names.listKind ?? `${names.kind}List`,
          singular: names.singular ?? String(names.kind).toLowerCase(),
          printerColumns: Array.isArray(v.additionalPrinterColumns)
            ? v.additionalPrinterColumns
            : undefined,
        },
      }),
    );
}

/**
 * The schema the decoder uses for a custom resource: the version's structural schema, with
 * `apiVersion`, `kind` and `metadata` always allowed (the API server adds them).
 */
export function customKindSchema(type: ResourceType): KindSchema | undefined {
  if (!type.custom) return undefined;
  const schema = type.custom.schema as SchemaNode;
  const root: SchemaNode = {
    ...schema,
    type: 'object',
    properties: {
      ...(schema.properties ?? {}),
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
    },
  };
  return {
    root,
    rootName: type.kind,
    resolve: node => ({ node }),
    customResource: true,
  };
}

type Cause = { field: string; message: string; reason?: string };

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(want: string, v: unknown): boolean {
  const got = jsonType(v);
  if (want === 'number') return got === 'number' || got === 'integer';
  return want === got;
}

/** Validation of a custom resource against its schema, worded as the real server words it. */
export function validateCustomResource(
  schema: SchemaNode,
  obj: KubeObject,
): Cause[] {
  const causes: Cause[] = [];
  const walk = (node: SchemaNode, v: unknown, path: string, depth: number) => {
    if (depth > 64 || v === undefined) return;
    if (node['x-kubernetes-int-or-string']) return;
    if (node.type && v !== null && !typeMatches(node.type, v)) {
      // The real server names the type it got, not the value ("big" → "string": crd/14-cr-create-wrong-type.json).
      const shown = JSON.stringify(jsonType(v));
      causes.push({
        field: path,
        message: `Invalid value: ${shown}: ${path} in body must be of type ${node.type}: ${shown}`,
        reason: 'FieldValueTypeInvalid',
      });
      return;
    }
    if (
      node.enum &&
      !node.enum.some(e => JSON.stringify(e) === JSON.stringify(v))
    ) {
      causes.push({
        field: path,
        message: `Unsupported value: ${JSON.stringify(
          v,
        )}: supported values: ${node.enum
          .map(e => JSON.stringify(e))
          .join(', ')}`,
        reason: 'FieldValueNotSupported',
      });
    }
    if (typeof v === 'number') {
      if (node.minimum !== undefined && v < node.minimum)
        causes.push({
          field: path,
          message: `Invalid value: ${v}: ${path} in body should be greater than or equal to ${node.minimum}`,
        });
      if (node.maximum !== undefined && v > node.maximum)
        causes.push({
          field: path,
          message: `Invalid value: ${v}: ${path} in body should be less than or equal to ${node.maximum}`,
        });
    }
    if (Array.isArray(v) && node.items) {
      v.forEach((item, i) =>
        walk(node.items!, item, `${path}[${i}]`, depth + 1),
      );
    }
    if (isPlainObject(v)) {
      for (const req of node.required ?? []) {
        if (v[req] === undefined)
          causes.push({
            field: path ? `${path}.${req}` : req,
            message: 'Required value',
            reason: 'FieldValueRequired',
          });
      }
      // In the order of the object's own keys, as the real validator reports them.
      for (const k of Object.keys(v)) {
        const child = node.properties?.[k];
        if (child) walk(child, v[k], path ? `${path}.${k}` : k, depth + 1);
      }
    }
  };
  const { apiVersion, kind, metadata, ...rest } = obj;
  const { required, ...top } = schema;
  walk(
    { ...top, required: (required ?? []).filter(r => r !== 'metadata') },
    rest,
    '',
    0,
  );
  return causes;
}

/**
 * Admission for CustomResourceDefinitions (initial status, name rule) and custom resources
 * (schema validation), in front of the built-in admission.
 */
export class CustomResourceAdmission implements Admission {
  constructor(private readonly inner: Admission) {}

  defaults(type: ResourceType, obj: KubeObject, old: KubeObject | undefined) {
    if (typeId(type) === CRD_TYPE_ID) {
      const spec = obj.spec ?? {};
      spec.conversion = spec.conversion ?? { strategy: 'None' };
      spec.names = spec.names ?? {};
      if (spec.names.kind && !spec.names.listKind)
        spec.names.listKind = `${spec.names.kind}List`;
      if (spec.names.kind && !spec.names.singular)
        spec.names.singular = String(spec.names.kind).toLowerCase();
      if (!old) {
        // What the real server answers the create with, before the CRD is established.
        obj.status = {
          conditions: null,
          acceptedNames: { plural: '', kind: '' },
          storedVersions: (spec.versions ?? [])
            .filter((v: any) => v.storage)
            .map((v: any) => v.name),
        };
      }
      return;
    }
    if (type.custom) {
      applySchemaDefaults(type.custom.schema as SchemaNode, obj);
      return;
    }
    this.inner.defaults(type, obj, old);
  }

  validate(type: ResourceType, obj: KubeObject, old: KubeObject | undefined) {
    if (typeId(type) === CRD_TYPE_ID) return validateDefinition(obj);
    if (type.custom)
      return validateCustomResource(type.custom.schema as SchemaNode, obj);
    return this.inner.validate(type, obj, old);
  }

  admit(type: ResourceType, obj: KubeObject, old: KubeObject | undefined) {
    this.inner.admit(type, obj, old);
  }

  validateAdmission(
    type: ResourceType,
    obj: KubeObject,
    old: KubeObject | undefined,
    attrs: { subresource?: string; warnings?: string[] },
  ) {
    if (type.custom || typeId(type) === CRD_TYPE_ID) return;
    this.inner.validateAdmission?.(type, obj, old, attrs);
  }
}

function validateDefinition(crd: KubeObject): Cause[] {
  const spec = crd.spec ?? {};
  const causes: Cause[] = [];
  const name = crd.metadata.name ?? '';
  if (!spec.group)
    causes.push({
      field: 'spec.group',
      message: 'Required value',
      reason: 'FieldValueRequired',
    });
  if (!spec.names?.plural)
    causes.push({
      field: 'spec.names.plural',
      message: 'Required value',
      reason: 'FieldValueRequired',
    });
  if (!spec.names?.kind)
    causes.push({
      field: 'spec.names.kind',
      message: 'Required value',
      reason: 'FieldValueRequired',
    });
  if (
    spec.group &&
    spec.names?.plural &&
    name !== `${spec.names.plural}.${spec.group}`
  )
    causes.push({
      field: 'metadata.name',
      message: `Invalid value: "${name}": must be spec.names.plural+"."+spec.group`,
    });
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster')
    causes.push({
      field: 'spec.scope',
      message: `Unsupported value: ${JSON.stringify(
        spec.scope ?? '',
      )}: supported values: "Cluster", "Namespaced"`,
      reason: 'FieldValueNotSupported',
    });
  const versions = Array.isArray(spec.versions) ? spec.versions : [];
  if (versions.length === 0)
    causes.push({
      field: 'spec.versions',
      message:
        'Invalid value: null: must have exactly one version marked as storage version',
    });
  else if (versions.filter((v: any) => v.storage).length !== 1)
    causes.push({
      field: 'spec.versions',
      message: `Invalid value: ${JSON.stringify(
        versions,
      )}: must have exactly one version marked as storage version`,
    });
  versions.forEach((v: any, i: number) => {
    if (!v?.schema?.openAPIV3Schema)
      causes.push({
        field: `spec.versions[${i}].schema.openAPIV3Schema`,
        message: 'Required value: schemas are required',
        reason: 'FieldValueRequired',
      });
  });
  return causes;
}
