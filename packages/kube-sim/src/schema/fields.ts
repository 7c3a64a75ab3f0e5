import { SchemaNode } from './openapi';

/**
 * Walks an object against its OpenAPI schema the way the API server's decoder and server-side
 * apply do: it finds fields the schema does not declare (and drops them when asked), and values of
 * the wrong JSON type. Schemas come from the real documents, so built-in types are closed unless a
 * node says `x-kubernetes-preserve-unknown-fields`.
 */

const MICRO_TIME = 'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime';
const MICRO_LAYOUT = '2006-01-02T15:04:05.000000Z07:00';

export interface FieldCheck {
  /** Undeclared fields as the decoder names them: `spec.template.spec.containers[0].foo`. */
  unknown: string[];
  /**
   * The same fields as server-side apply names them (`.spec.template.spec.containers[name="app"].foo`), up to
   * the first undeclared field of each object, where its validation stops.
   */
  applyPaths: string[];
  /** The first value of the wrong type, worded as Go's JSON decoder does (without the kind prefix). */
  typeError?: string;
}

/** Resolves `$ref` / `allOf: [{$ref}]` wrappers to the component they name. */
export type SchemaResolver = (node: SchemaNode) => {
  node: SchemaNode;
  name?: string;
};

export function componentResolver(
  schemas: Record<string, SchemaNode>,
): SchemaResolver {
  return function resolveNode(node) {
    let current = node;
    let name: string | undefined;
    for (let depth = 0; depth < 8; depth++) {
      const ref =
        current.$ref ??
        (current.allOf?.length === 1 ? current.allOf[0].$ref : undefined);
      if (!ref) break;
      name = ref.replace('#/components/schemas/', '');
      const next = schemas[name];
      if (!next) break;
      current = next;
    }
    return { node: current, name };
  };
}

/** `io.k8s.api.core.v1.Container` → `v1.Container` (the Go type as the decoder prints it). */
function goTypeName(component: string): string {
  const parts = component.split('.');
  return parts.slice(-2).join('.');
}

function shortName(component: string | undefined, fallback: string): string {
  return component ? component.split('.').pop()! : fallback;
}

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'object') return 'object';
  return typeof v;
}

/** Whether a node is opaque to the decoder's generic checks (custom unmarshalers, raw JSON). */
function isOpaque(node: SchemaNode): boolean {
  if (node['x-kubernetes-int-or-string'] || node.oneOf || node.anyOf)
    return true;
  if (node.format === 'date-time' || node.format === 'int-or-string')
    return true;
  if (
    node.type === 'object' &&
    !node.properties &&
    node.additionalProperties === undefined
  )
    return true;
  return !node.type && !node.properties;
}

function listKeys(node: SchemaNode): string[] | undefined {
  const listType = node['x-kubernetes-list-type'];
  if (listType === 'map') return node['x-kubernetes-list-map-keys'];
  // Lists with only strategic-merge markers are keyed by their merge key in server-side apply.
  const mergeKey = node['x-kubernetes-patch-merge-key'];
  if (
    listType === undefined &&
    mergeKey &&
    node['x-kubernetes-patch-strategy']?.includes('merge')
  )
    return [mergeKey];
  return undefined;
}

function applyKey(node: SchemaNode, item: unknown, index: number): string {
  const keys = listKeys(node);
  if (!keys || !item || typeof item !== 'object') return `[${index}]`;
  const parts = keys
    .filter(k => (item as Record<string, unknown>)[k] !== undefined)
    .map(k => `${k}=${JSON.stringify((item as Record<string, unknown>)[k])}`);
  return parts.length ? `[${parts.join(',')}]` : `[${index}]`;
}

/**
 * Checks `value` against `root` (a resolved component, e.g. the Deployment schema). With `prune`,
 * undeclared fields are deleted in place.
 */
export function checkFields(
  resolveNode: SchemaResolver,
  root: SchemaNode,
  rootName: string,
  value: unknown,
  prune: boolean,
  /** A strategic merge patch: its `$patch`, `$setElementOrder/…` and `$retainKeys` directives are not fields. */
  directives = false,
): FieldCheck {
  const result: FieldCheck = { unknown: [], applyPaths: [] };
  const typeGo = (node: SchemaNode, name: string | undefined): string => {
    if (name && node.properties) return goTypeName(name);
    switch (node.type) {
      case 'integer':
        return node.format === 'int64' ? 'int64' : 'int32';
      case 'number':
        return 'float64';
      case 'boolean':
        return 'bool';
      case 'string':
        return 'string';
      case 'array': {
        const item = resolveNode(node.items ?? {});
        return `[]${typeGo(item.node, item.name)}`;
      }
      case 'object': {
        if (isSchema(node.additionalProperties)) {
          const v = resolveNode(node.additionalProperties);
          return `map[string]${typeGo(v.node, v.name)}`;
        }
        return 'map[string]interface {}';
      }
      default:
        return 'interface {}';
    }
  };
  const typeFail = (
    struct: string,
    goPath: string,
    got: unknown,
    want: string,
  ) => {
    if (result.typeError) return;
    const what =
      typeof got === 'number' && want.startsWith('int')
        ? `number ${got}`
        : jsonKind(got);
    result.typeError = `json: cannot unmarshal ${what} into Go struct field ${struct}.${goPath} of type ${want}`;
  };

  const walk = (
    raw: SchemaNode,
    v: unknown,
    path: string,
    applyPath: string,
    struct: string,
    goPath: string,
    depth: number,
    /** Whether server-side apply's validation reaches this value (see below). */
    applyReached = true,
  ): void => {
    if (v === null || v === undefined || depth > 64) return;
    const { node, name } = resolveNode(raw);
    if (name === MICRO_TIME && typeof v === 'string') {
      const problem = microTimeProblem(v);
      if (problem && !result.typeError) result.typeError = problem;
      return;
    }
    if (isOpaque(node)) return;
    if (node['x-kubernetes-preserve-unknown-fields'] && !node.properties)
      return;
    const want = () => typeGo(node, name);
    switch (node.type) {
      case 'string':
        if (typeof v !== 'string') typeFail(struct, goPath, v, want());
        return;
      case 'integer':
        if (typeof v !== 'number' || !Number.isInteger(v))
          typeFail(struct, goPath, v, want());
        return;
      case 'number':
        if (typeof v !== 'number') typeFail(struct, goPath, v, want());
        return;
      case 'boolean':
        if (typeof v !== 'boolean') typeFail(struct, goPath, v, want());
        return;
      case 'array': {
        if (!Array.isArray(v)) {
          typeFail(struct, goPath, v, want());
          return;
        }
        const items = node.items ?? {};
        v.forEach((item, i) =>
          walk(
            items,
            item,
            `${path}[${i}]`,
            `${applyPath}${applyKey(node, item, i)}`,
            struct,
            goPath,
            depth + 1,
            applyReached,
          ),
        );
        return;
      }
      default:
        break;
    }
    if (typeof v !== 'object' || Array.isArray(v)) {
      typeFail(struct, goPath, v, want());
      return;
    }
    const obj = v as Record<string, unknown>;
    const innerStruct = node.properties ? shortName(name, struct) : struct;
    // Server-side apply's validation (structured-merge-diff) stops walking an object at its first undeclared
    // field: fields after it are not reported. It walks a Go map, in random order, so a real server's message
    // varies between runs when an object has several; kube-sim takes the body's order, which gives the answer
    // most of fields/06-apply-unknown-fields-*.json show (`.spec.bogus` alone).
    let applyStopped = !applyReached;
    for (const key of Object.keys(obj)) {
      if (directives && key.startsWith('$')) continue;
      const childPath = path ? `${path}.${key}` : key;
      const childApply = `${applyPath}.${key}`;
      const childGo = goPath ? `${goPath}.${key}` : key;
      const declared = node.properties?.[key];
      if (declared) {
        walk(
          declared,
          obj[key],
          childPath,
          childApply,
          innerStruct,
          childGo,
          depth + 1,
          !applyStopped,
        );
      } else if (isSchema(node.additionalProperties)) {
        // Map values keep the map's field name in Go's wording.
        walk(
          node.additionalProperties,
          obj[key],
          childPath,
          childApply,
          struct,
          goPath,
          depth + 1,
          !applyStopped,
        );
      } else if (
        node.additionalProperties === true ||
        node['x-kubernetes-preserve-unknown-fields']
      ) {
        continue;
      } else {
        result.unknown.push(childPath);
        if (!applyStopped) result.applyPaths.push(childApply);
        applyStopped = true;
        if (prune) delete obj[key];
      }
    }
  };
  walk(root, value, '', '', shortName(rootName, 'Object'), '', 0);
  return result;
}

/**
 * MicroTime values are parsed with Go's layout `2006-01-02T15:04:05.000000Z07:00` (exactly six
 * fractional digits); returns Go's parse error, or undefined when the value parses.
 */
export function microTimeProblem(value: string): string | undefined {
  const steps: Array<[string, RegExp]> = [
    ['2006', /^\d{4}/],
    ['-', /^-/],
    ['01', /^\d{2}/],
    ['-', /^-/],
    ['02', /^\d{2}/],
    ['T', /^T/],
    ['15', /^\d{2}/],
    [':', /^:/],
    ['04', /^\d{2}/],
    [':', /^:/],
    ['05', /^\d{2}/],
    ['.000000', /^\.\d{6}/],
    ['Z07:00', /^(Z|[+-]\d{2}:\d{2})/],
  ];
  let rest = value;
  for (const [element, pattern] of steps) {
    const m = rest.match(pattern);
    if (!m) {
      return `parsing time ${JSON.stringify(value)} as ${JSON.stringify(
        MICRO_LAYOUT,
      )}: cannot parse ${JSON.stringify(rest)} as ${JSON.stringify(element)}`;
    }
    rest = rest.slice(m[0].length);
  }
  if (rest) {
    return `parsing time ${JSON.stringify(value)}: extra text: ${JSON.stringify(
      rest,
    )}`;
  }
  return undefined;
}

function isSchema(v: unknown): v is SchemaNode {
  return typeof v === 'object' && v !== null;
}
