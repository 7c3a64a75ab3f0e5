import { SchemaNode } from '../schema/openapi';
import { deepClone, isPlainObject, KubeObject } from '../server/types';

const MAX_DEPTH = 64;

/**
 * Structural-schema defaulting of a custom resource, as the apiextensions server does it on every
 * write (after pruning, before validation): a property with a `default` that the object leaves out
 * (or sets to null where the schema is not `nullable`) gets a copy of the default, and the walk goes on
 * into it, so `default: {}` on an object fills in its children's defaults. `metadata` is not defaulted.
 */
export function applySchemaDefaults(schema: SchemaNode, obj: KubeObject) {
  const walk = (node: SchemaNode, value: unknown, depth: number) => {
    if (depth > MAX_DEPTH) return;
    if (Array.isArray(value)) {
      if (node.items)
        for (const item of value) walk(node.items, item, depth + 1);
      return;
    }
    if (!isPlainObject(value)) return;
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      if (depth === 0 && name === 'metadata') continue;
      const missing =
        value[name] === undefined || (value[name] === null && !child.nullable);
      if (missing && child.default !== undefined)
        value[name] = deepClone(child.default);
      if (value[name] !== undefined)
        walk(child as SchemaNode, value[name], depth + 1);
    }
    const extra = node.additionalProperties;
    if (isPlainObject(extra)) {
      for (const [name, v] of Object.entries(value)) {
        if (!node.properties?.[name]) walk(extra as SchemaNode, v, depth + 1);
      }
    }
  };
  walk(schema, obj, 0);
}
