import { InputError } from '@backstage/errors';

/**
 * Hard bounds on the work one piece of user text or one JSON body may cause. A refused input is an
 * `InputError` (HTTP 400) that names the bound it broke.
 * @public
 */
export type InputLimits = {
  /** Largest text accepted, in bytes (UTF-8). */
  maxBytes: number;
  /** Most YAML documents in one stream. */
  maxDocuments: number;
  /**
   * Largest document of a stream, in bytes (UTF-8) of its text, a document as helm splits a stream
   * (from one line starting with `---` to the next): checked on the text before anything is read.
   * No limit when unset.
   */
  maxDocumentBytes?: number;
  /** Deepest nesting of mappings and sequences, counted after aliases are expanded. */
  maxDepth: number;
  /** Most alias uses (`*name`) in one stream. */
  maxAliases: number;
  /** Most nodes (mappings, sequences and scalars) in one stream, counted after aliases are expanded. */
  maxNodes: number;
  /**
   * Most nodes in one document, counted as `maxNodes` counts them (as they are read, keys too, so
   * more than twice as many read is over the limit; then after aliases are expanded). No limit when
   * unset.
   */
  maxDocumentNodes?: number;
  /**
   * Most characters the keys and strings of a stream hold together, counted after aliases are
   * expanded: what walking its values costs (redacting, checking, storing or sending them).
   * `maxBytes` when unset: text without aliases holds no more characters than it is long, so this
   * refuses aliases that make the value larger than the largest text accepted (`a: &a <1 MB>` and
   * a hundred `*a`: 100 MB to walk).
   */
  maxExpandedChars?: number;
  /**
   * Most objects a manifest stream makes, as helm creates them: a document each, empty ones aside,
   * each item of a List (a `…List` kind with one `items` array) instead of the List. Any other
   * document with an `items` list (however spelt) counts as its entries, at least one: helm creates
   * the items of any document with one, whatever its kind (the policy refuses such a document,
   * `valid-object`); any other counts once. The entries of a document's `items` are counted as they
   * are read and each document once it is read, so nothing after the object over the limit is read:
   * a List of 100,000 items is refused at its item over the limit. Two forms are counted only when
   * their list ends (their text is read whole, bounded by `maxNodes` and the stream's size as any
   * document's is): entries with no value at all (a line `-` alone, which builds no node to count
   * by), and an `items` that is an alias (`items: *all`), whose objects were built where the anchor
   * stands. No limit when unset.
   */
  maxObjects?: number;
};

/**
 * The default bounds: generous for any real chart or manifest, small enough that a refused input
 * costs milliseconds.
 * @public
 */
export const DEFAULT_INPUT_LIMITS: Readonly<InputLimits> = Object.freeze({
  maxBytes: 5 * 1024 * 1024,
  maxDocuments: 1000,
  maxDepth: 100,
  maxAliases: 100,
  maxNodes: 1_000_000,
});

/**
 * The bounds the kubechart backend puts on one JSON request body of a run request, a recorded run
 * or a policy check (`POST /runs`, `/runs/preview`, `/runs/:id/execute`, …): its size in bytes
 * (UTF-8), its nesting and its values (nodes: every object, array, string, number…, keys aside),
 * counted on the text before it is parsed. Far fewer nodes than {@link DEFAULT_INPUT_LIMITS}:
 * `JSON.parse` of a million values holds the event loop half a second, of these tens of
 * milliseconds. Clients (the scaffolder actions) check what they send against the same bounds.
 * @public
 */
export const REQUEST_BODY_LIMITS: Readonly<
  Pick<InputLimits, 'maxBytes' | 'maxDepth' | 'maxNodes'>
> = Object.freeze({
  maxBytes: 5 * 1024 * 1024,
  maxDepth: 100,
  maxNodes: 100_000,
});

/**
 * The bounds every document of a manifest is read with (`parseManifests`, `parseManifestsInTurns`,
 * `labelManifests`, `redactManifest`), what helm renders included: 1.5 MiB of text
 * (`maxDocumentBytes`, what the Kubernetes API server stores of one object at most: etcd's default
 * request limit) and 50,000 nodes (`maxDocumentNodes`, several times the largest
 * CustomResourceDefinitions). A document is one object (a `List` its items together), so these lose
 * nothing the cluster would take, and what reading one document holds the event loop is bounded:
 * the in-turns readers let other work run between documents.
 * @public
 */
export const MANIFEST_DOCUMENT_LIMITS: Readonly<
  Pick<InputLimits, 'maxDocumentBytes' | 'maxDocumentNodes'>
> = Object.freeze({
  maxDocumentBytes: 1536 * 1024,
  maxDocumentNodes: 50_000,
});

/**
 * The bounds a manifest brought by a request is read with, besides {@link DEFAULT_INPUT_LIMITS}: a
 * policy check, a manifests run or its preview, a recorded run's finish (what `parseManifests` reads
 * given an object limit). Reading a node costs about as much as its text does at most 2 µs a mapping
 * entry, so a million nodes held the event loop over a second (a 3.8 MB ConfigMap of 300,000 keys,
 * 0.6 s); 250,000 leave room for large real inputs (CRD bundles, a recorded run of thousands of
 * objects at about 100 nodes each). Nodes are counted as they are read (a key and its value two, so
 * more than twice as many read is over the limit) and nothing after the node over the limit is read.
 * The routes read such a manifest one document per turn of the event loop (`parseManifestsInTurns`,
 * `redactManifestInTurns`), so what one turn costs is bounded by what one document may hold: 1.5 MiB
 * of text (`maxDocumentBytes`, what the Kubernetes API server stores of one object at most: etcd's
 * default request limit; a ConfigMap or Secret holds at most 1 MiB of data) and 50,000 nodes
 * (`maxDocumentNodes`, several times the largest CustomResourceDefinitions).
 * @public
 */
export const MANIFEST_REQUEST_LIMITS: Readonly<
  Pick<InputLimits, 'maxNodes' | 'maxDocumentBytes' | 'maxDocumentNodes'>
> = Object.freeze({
  maxNodes: 250_000,
  ...MANIFEST_DOCUMENT_LIMITS,
});

/** Thrown when an input breaks one of the {@link InputLimits}. @public */
export class InputLimitError extends InputError {
  constructor(
    readonly limit: keyof InputLimits,
    readonly max: number,
    what: string,
    detail: string,
  ) {
    super(`${what} refused: ${detail}; the limit ${limit} is ${max}`);
  }
}

/**
 * Measures a parsed value the way a consumer that walks it would see it: aliases (shared
 * references) are expanded in the count, cycles are refused. Linear in the number of distinct
 * objects, so a billion-laughs document costs as much as its text.
 *
 * Returns the number of expanded nodes; throws {@link InputLimitError} on the first bound broken.
 * @public
 */
export function measureValue(
  value: unknown,
  limits: InputLimits,
  what: string,
  budget: { nodes: number; aliases: number; chars?: number } = {
    nodes: 0,
    aliases: 0,
  },
): number {
  // Expanded size, height and characters of every distinct object seen, so an alias costs one lookup.
  type Measure = { size: number; height: number; chars: number };
  const memo = new Map<object, Measure>();
  const onPath = new Set<object>();

  const visit = (v: unknown, depth: number): Measure => {
    if (v === null || typeof v !== 'object')
      return {
        size: 1,
        height: 0,
        chars: typeof v === 'string' ? v.length : 0,
      };
    const seen = memo.get(v);
    if (seen) {
      budget.aliases++;
      if (budget.aliases > limits.maxAliases) {
        throw new InputLimitError(
          'maxAliases',
          limits.maxAliases,
          what,
          `more than ${limits.maxAliases} alias uses`,
        );
      }
      if (depth + seen.height > limits.maxDepth) {
        throw new InputLimitError(
          'maxDepth',
          limits.maxDepth,
          what,
          `nesting deeper than ${limits.maxDepth} once aliases are expanded`,
        );
      }
      return seen;
    }
    if (onPath.has(v)) {
      throw new InputLimitError(
        'maxAliases',
        limits.maxAliases,
        what,
        'an alias refers to a node that contains it (recursive alias)',
      );
    }
    if (depth >= limits.maxDepth) {
      throw new InputLimitError(
        'maxDepth',
        limits.maxDepth,
        what,
        `nesting deeper than ${limits.maxDepth}`,
      );
    }
    onPath.add(v);
    let size = 1;
    let height = 0;
    let chars = 0;
    const children = Array.isArray(v)
      ? v
      : Object.values(v as Record<string, unknown>);
    if (!Array.isArray(v))
      for (const key of Object.keys(v)) chars += key.length;
    for (const child of children) {
      const c = visit(child, depth + 1);
      size += c.size;
      chars += c.chars;
      if (c.height + 1 > height) height = c.height + 1;
      if (size > limits.maxNodes) break;
    }
    onPath.delete(v);
    const result = { size, height, chars };
    memo.set(v, result);
    return result;
  };

  const { size, chars } = visit(value, 0);
  budget.nodes += size;
  if (budget.nodes > limits.maxNodes) {
    throw new InputLimitError(
      'maxNodes',
      limits.maxNodes,
      what,
      `more than ${limits.maxNodes} nodes once aliases are expanded`,
    );
  }
  budget.chars = (budget.chars ?? 0) + chars;
  const maxChars = limits.maxExpandedChars ?? limits.maxBytes;
  if (budget.chars > maxChars) {
    throw new InputLimitError(
      'maxExpandedChars',
      maxChars,
      what,
      `more than ${maxChars} characters in its keys and strings once aliases are expanded`,
    );
  }
  return size;
}

/**
 * Checks a parsed JSON body (or any plain value) against the depth and node bounds.
 * @public
 */
export function assertWithinLimits(
  value: unknown,
  what: string,
  limits: Partial<InputLimits> = {},
): void {
  measureValue(value, { ...DEFAULT_INPUT_LIMITS, ...limits }, what);
}
