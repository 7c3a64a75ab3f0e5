import { groupVersion, ResourceType } from '../server/resources';
import { errors, StatusError } from '../server/status';
import { checkFields, componentResolver, SchemaResolver } from './fields';
import { RecordedOpenApi, SchemaNode } from './openapi';

/** The `fieldValidation` directive of a write (`Warn` when the client sends none, as on v1.26). */
export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

export function parseFieldValidation(value: string | null): FieldValidation {
  if (!value) return 'Warn';
  if (value === 'Ignore' || value === 'Warn' || value === 'Strict')
    return value;
  throw errors.badRequest(
    `fieldValidation: Unsupported value: "${value}": supported values: "Ignore", "Warn", "Strict"`,
  );
}

/** The schema of one kind: its root node and how to follow references inside it. */
export interface KindSchema {
  root: SchemaNode;
  rootName: string;
  resolve: SchemaResolver;
  /** A custom resource: wrong types are found by validation (422), not by the decoder (400). */
  customResource?: boolean;
}

/** Where kind schemas come from besides the recorded documents (CustomResourceDefinitions). */
export type SchemaSource = (type: ResourceType) => KindSchema | undefined;

/** `299 - "unknown field \"spec.bogus\""`: the real server's Warning header value. */
export function warningHeader(text: string): string {
  return `299 - ${JSON.stringify(text)}`;
}

/** Go's `%v` of a decoded JSON value (`map[a:1 b:[x y]]`), as the real server quotes a bad patch. */
export function goValue(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (typeof v === 'object') {
    const entries = Object.keys(v as object)
      .sort()
      .map(k => `${k}:${goValue((v as Record<string, unknown>)[k])}`);
    return `map[${entries.join(' ')}]`;
  }
  return String(v);
}

/**
 * Field validation against the real OpenAPI schemas: what the API server's decoder (create,
 * update, patch) and server-side apply do with undeclared fields and wrongly typed values.
 */
export class SchemaValidator {
  private readonly kinds = new Map<string, KindSchema | null>();
  private readonly resolvers = new Map<object, SchemaResolver>();
  private readonly extraSources: SchemaSource[] = [];

  constructor(private readonly openapi: RecordedOpenApi) {}

  /** Adds a source consulted before the recorded documents (e.g. CRD schemas). */
  addSource(source: SchemaSource) {
    this.extraSources.push(source);
  }

  /** Forgets a cached kind (a CRD changed). */
  invalidate(type: ResourceType) {
    this.kinds.delete(this.key(type));
  }

  schemaFor(type: ResourceType): KindSchema | undefined {
    for (const source of this.extraSources) {
      const found = source(type);
      if (found) return found;
    }
    const key = this.key(type);
    if (!this.kinds.has(key)) this.kinds.set(key, this.lookup(type) ?? null);
    return this.kinds.get(key) ?? undefined;
  }

  /**
   * A create or update body: a wrong type is 400; undeclared fields are dropped (with a warning
   * under `Warn`) or, under `Strict`, refused with 400.
   */
  decode(
    type: ResourceType,
    body: unknown,
    mode: FieldValidation,
    warnings: string[],
  ) {
    const schema = this.schemaFor(type);
    if (!schema) return;
    const check = checkFields(
      schema.resolve,
      schema.root,
      schema.rootName,
      body,
      mode !== 'Strict',
    );
    const prefix = `${type.kind} in version "${type.version}" cannot be handled as a ${type.kind}`;
    if (check.typeError && !schema.customResource)
      throw errors.badRequest(`${prefix}: ${check.typeError}`);
    if (!check.unknown.length) return;
    if (mode === 'Strict') {
      throw errors.badRequest(
        `${prefix}: strict decoding error: ${unknownList(check.unknown)}`,
      );
    }
    if (mode === 'Warn')
      warnings.push(...check.unknown.map(p => `unknown field "${p}"`));
  }

  /**
   * The object a (non-apply) patch produced. Undeclared fields are named as they appear in the
   * patch (JSON patches: in the patched object). Under `Strict` they are 422 quoting the patch
   * (strategic merge) or the patched object; otherwise dropped from the object, as `decode` does.
   */
  decodePatched(
    type: ResourceType,
    patched: unknown,
    patch: unknown,
    patchType: 'json' | 'merge' | 'strategic',
    mode: FieldValidation,
    warnings: string[],
  ) {
    const schema = this.schemaFor(type);
    if (!schema) return;
    const { resolve, root, rootName } = schema;
    const result = checkFields(
      resolve,
      root,
      rootName,
      patched,
      mode !== 'Strict',
    );
    if (result.typeError && !schema.customResource) {
      throw errors.badRequest(
        `${type.kind} in version "${type.version}" cannot be handled as a ${type.kind}: ${result.typeError}`,
      );
    }
    if (!result.unknown.length) return;
    const named =
      patchType === 'json'
        ? result.unknown
        : checkFields(resolve, root, rootName, patch, false, true).unknown;
    const unknown = named.length ? named : result.unknown;
    if (mode === 'Strict') {
      const quoted =
        patchType === 'strategic' ? goValue(patch) : JSON.stringify(patched);
      const message = `Invalid value: ${JSON.stringify(
        quoted,
      )}: strict decoding error: ${unknownList(unknown)}`;
      throw new StatusError(
        422,
        'Invalid',
        ` "" is invalid: patch: ${message}`,
        {
          causes: [{ reason: 'FieldValueInvalid', message, field: 'patch' }],
        },
      );
    }
    if (mode === 'Warn')
      warnings.push(...unknown.map(p => `unknown field "${p}"`));
  }

  /** Server-side apply: any undeclared field fails the apply (500, no reason), whatever the directive. */
  checkApply(type: ResourceType, name: string, applied: unknown) {
    const schema = this.schemaFor(type);
    if (!schema) return;
    const check = checkFields(
      schema.resolve,
      schema.root,
      schema.rootName,
      applied,
      false,
    );
    const problems = check.applyPaths.map(
      p => `${p}: field not declared in schema`,
    );
    if (check.typeError && !schema.customResource)
      problems.push(check.typeError);
    if (!problems.length) return;
    const detail =
      problems.length === 1
        ? problems[0]
        : `errors:\n${problems.map(p => `  ${p}`).join('\n')}`;
    throw new StatusError(
      500,
      '',
      `failed to create typed patch object (/${name}; ${groupVersion(
        type,
      )}, Kind=${type.kind}): ${detail}`,
    );
  }

  private key(type: ResourceType) {
    return `${groupVersion(type)}/${type.kind}`;
  }

  private lookup(type: ResourceType): KindSchema | undefined {
    const served = this.openapi.document(type.group, type.version);
    if (!served) return undefined;
    const schemas = served.doc.components?.schemas ?? {};
    let resolve = this.resolvers.get(schemas);
    if (!resolve) {
      resolve = componentResolver(schemas);
      this.resolvers.set(schemas, resolve);
    }
    for (const [name, node] of Object.entries(schemas)) {
      const gvks = node['x-kubernetes-group-version-kind'] ?? [];
      if (
        gvks.some(
          g =>
            g.group === type.group &&
            g.version === type.version &&
            g.kind === type.kind,
        )
      ) {
        return { root: node, rootName: name, resolve };
      }
    }
    return undefined;
  }
}

function unknownList(paths: string[]): string {
  return paths.map(p => `unknown field "${p}"`).join(', ');
}
