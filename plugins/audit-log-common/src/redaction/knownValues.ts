import { REDACTED } from './names';

/*
 * Known secret values (those a caller holds: a chart's Secret values, a plan's hidden values)
 * found wherever a text writes them, in one pass whatever their number.
 */

/** At most this many places of one line's text are kept among the lines of the known secrets. */
const MAX_LINE_PLACES = 16;

/**
 * Where each line of the known secrets that run over lines (two non-blank lines or more) stands:
 * its trimmed text → [which secret, which of its non-blank lines], at most
 * {@link MAX_LINE_PLACES} places a text; to find such a secret where it is written otherwise than
 * as given (re-indented in a YAML block, printed line by line with a prefix, only its last lines).
 * @public
 */
export type SecretLines = Map<string, Array<[number, number]>>;

/**
 * The lines of the known `secrets` that run over lines (see {@link SecretLines}), for
 * {@link hideSecretLineBlocks}; lines that are only `placeholder` left out.
 * @public
 */
export function secretLines(
  secrets: Iterable<string>,
  placeholder: string = REDACTED,
): SecretLines {
  const out: SecretLines = new Map();
  let index = 0;
  for (const secret of secrets) {
    if (!secret.includes('\n')) continue;
    const lines = secret
      .split('\n')
      .map(l => l.trim())
      .filter(l => l && l !== placeholder);
    if (lines.length < 2) continue;
    for (let j = 0; j < lines.length; j++) {
      const places = out.get(lines[j]) ?? [];
      if (places.length < MAX_LINE_PLACES) places.push([index, j]);
      out.set(lines[j], places);
    }
    index++;
  }
  return out;
}

/** PEM armour (`-----BEGIN CERTIFICATE-----`): the same in every certificate and key. */
const PEM_ARMOUR = /^-----(?:BEGIN|END) [A-Z0-9 ]+-----$/;
/** A run of base64 or token characters long enough to be a secret's own content. */
const CONTENT_RUN = /[A-Za-z0-9+/=_-]{16,}/g;

/**
 * Whether a line of a secret carries its own content, not text any file of its kind holds: a run
 * of 16 base64 or token characters or more mixing two of lower case, upper case and digits
 * (a PEM body line, `slack_api_url: https://…/T0AB12CD/B0EF…`); not PEM armour, nor common
 * `key: value` lines (`receiver: slack`, `group_wait: 30s`, `"type": "service_account",`).
 */
function holdsSecretContent(line: string): boolean {
  if (PEM_ARMOUR.test(line)) return false;
  for (const [run] of line.matchAll(CONTENT_RUN)) {
    const kinds =
      Number(/[a-z]/.test(run)) +
      Number(/[A-Z]/.test(run)) +
      Number(/[0-9]/.test(run));
    if (kinds >= 2) return true;
  }
  return false;
}

/**
 * `text` with each run of its lines that are lines of a known secret over lines, in the secret's
 * order (blank lines apart), hidden when it holds two lines or more, 8 characters or more
 * together, and a line that carries the secret's own content (see `holdsSecretContent`): each
 * line's text as `placeholder`, its indentation kept. So a short line of a secret (`ab==`, `}`) is hidden
 * where it stands in the secret's text, and a lone `}` or `x=1` elsewhere is not, nor a PEM
 * chain's `-----END …-----`/`-----BEGIN …-----` in another bundle, nor a config's common lines.
 * One pass over the lines: linear in the text for a fixed set of secrets.
 * @public
 */
export function hideSecretLineBlocks(
  text: string,
  lines: SecretLines,
  placeholder: string = REDACTED,
): string {
  if (lines.size === 0 || !text.includes('\n')) return text;
  // The lines of the text found among the secrets' lines, as [start, end) of their trimmed text.
  const found: Array<[number, number]> = [];
  // The runs ending at the last line found: secret, its line, their first line (of `found`),
  // characters, and 1 when one of their lines carries the secret's content.
  let runs: Array<[number, number, number, number, number]> = [];
  // The runs to hide, as [first, last] of `found`.
  const hidden: Array<[number, number]> = [];
  for (let start = 0; start <= text.length; ) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end);
    const content = line.trim();
    const places = content ? lines.get(content) : undefined;
    if (places) {
      const at = start + line.length - line.trimStart().length;
      const n = found.push([at, at + content.length]) - 1;
      const own = holdsSecretContent(content) ? 1 : 0;
      const next: typeof runs = [];
      for (const [secret, j] of places) {
        const before = runs.find(r => r[0] === secret && r[1] === j - 1);
        const first = before ? before[2] : n;
        const chars = (before ? before[3] : 0) + content.length;
        const meant = before ? before[4] | own : own;
        if (first < n && chars >= 8 && meant) hidden.push([first, n]);
        next.push([secret, j, first, chars, meant]);
      }
      runs = next;
    } else if (content) runs = [];
    start = end + 1;
  }
  if (hidden.length === 0) return text;
  // Each line found is hidden when a run to hide covers it.
  const cover = new Array<number>(found.length + 1).fill(0);
  for (const [first, last] of hidden) {
    cover[first]++;
    cover[last + 1]--;
  }
  let out = '';
  let copied = 0;
  let depth = 0;
  found.forEach(([from, to], i) => {
    depth += cover[i];
    if (depth === 0) return;
    out += text.slice(copied, from) + placeholder;
    copied = to;
  });
  return out + text.slice(copied);
}

/** The automaton that finds known values holds at most this many of each one's first characters. */
const NEEDLE_HEAD = 32;
/** Up to this many needles, a text is first searched for each in turn: most hold none. */
const FEW_NEEDLES = 8;
/** In `only` of {@link needleReplacer}: the node has several children, kept in a map. */
const MANY_CHILDREN = -2;

/**
 * Returns a function that replaces the places of `needles` in a text with `placeholder` as replacing
 * each in turn, longest first (those of one length in the given order), with
 * `text.split(needle).join(placeholder)` does: a place is hidden unless it overlaps one hidden before it, of a longer needle or of the same
 * needle to its left. (Places are those of the text as given: a needle holding `*` is not looked for
 * across the placeholder that replaced another.)
 *
 * One pass over the text, whatever the number of needles: an Aho–Corasick automaton of the needles'
 * first {@link NEEDLE_HEAD} characters finds where each may start, and the rest of a longer one is
 * compared there. The cost is the text and the places found, not needles × text (one Secret of 8000
 * values took seconds a manifest); building it, the needles' first characters. When needles overlap
 * so much in one text that telling their places apart would cost over twice its length (`aaaa…` and
 * many needles of `a`s), each stretch that may hold a place is hidden whole instead, from where a
 * needle's head stands to as far as the longest needle with that head would reach: more than the
 * exact answer, never less, still linear.
 * @public
 */
export function needleReplacer(
  given: Iterable<string>,
  placeholder: string = REDACTED,
): (text: string) => string {
  const find = needleFinder(given);
  return text => {
    const places = find(text);
    if (places.length === 0) return text;
    let out = '';
    let copied = 0;
    for (const [start, end] of places) {
      out += text.slice(copied, start) + placeholder;
      copied = end;
    }
    return out + text.slice(copied);
  };
}

/**
 * Returns a function that finds the places {@link needleReplacer} replaces in a text, as
 * `[start, end)` pairs from left to right, none overlapping another: each one is written as one
 * placeholder. For a search over a view of a text (folded lines joined) whose places are then
 * hidden in the text itself. Linear in the text, as `needleReplacer` is.
 * @public
 */
export function needleFinder(
  given: Iterable<string>,
): (text: string) => Array<[number, number]> {
  const needles = [...given]
    .filter(n => n.length > 0)
    .sort((a, b) => b.length - a.length);
  if (needles.length === 0) return () => [];
  // The trie of the needles' heads, node 0 its root, in arrays as long as it may grow.
  let capacity = 1;
  for (const needle of needles)
    capacity += Math.min(needle.length, NEEDLE_HEAD);
  let nodes = 1;
  const depth = new Uint8Array(capacity);
  /** The character to a node's only child, -1 when it has none, or MANY_CHILDREN. */
  const only = new Int32Array(capacity).fill(-1);
  const onlyChild = new Int32Array(capacity);
  const manyChildren = new Map<number, Map<number, number>>();
  const rootAscii = new Int32Array(128).fill(-1);
  const rootOther = new Map<number, number>();
  /** The needles whose head ends at a node, as a list: the first (its place in `needles`), the next. */
  const ending = new Int32Array(capacity).fill(-1);
  const nextEnding = new Int32Array(needles.length);
  /** The length of the longest needle whose head ends at a node. */
  const longest = new Int32Array(capacity);
  const step = (node: number, c: number): number => {
    if (node === 0) return c < 128 ? rootAscii[c] : rootOther.get(c) ?? -1;
    const o = only[node];
    if (o === c) return onlyChild[node];
    return o === MANY_CHILDREN ? manyChildren.get(node)!.get(c) ?? -1 : -1;
  };
  const addChild = (node: number, c: number): number => {
    const id = nodes++;
    depth[id] = depth[node] + 1;
    if (node === 0) {
      if (c < 128) rootAscii[c] = id;
      else rootOther.set(c, id);
    } else if (only[node] === -1) {
      only[node] = c;
      onlyChild[node] = id;
    } else if (only[node] === MANY_CHILDREN) {
      manyChildren.get(node)!.set(c, id);
    } else {
      manyChildren.set(
        node,
        new Map([
          [only[node], onlyChild[node]],
          [c, id],
        ]),
      );
      only[node] = MANY_CHILDREN;
    }
    return id;
  };
  // Inserted last to first, so that each node's list of needles runs in their order.
  for (let index = needles.length - 1; index >= 0; index--) {
    const needle = needles[index];
    let node = 0;
    const head = Math.min(needle.length, NEEDLE_HEAD);
    for (let i = 0; i < head; i++) {
      const c = needle.charCodeAt(i);
      const next = step(node, c);
      node = next === -1 ? addChild(node, c) : next;
    }
    nextEnding[index] = ending[node];
    ending[node] = index;
    longest[node] = Math.max(longest[node], needle.length);
  }
  /** Where the automaton goes on a character no child of a node takes: its longest proper suffix in the trie. */
  const fail = new Int32Array(nodes);
  /** The state after `c` from `state`: its child on `c`, else its fail links' (the root when none). */
  const advance = (state: number, c: number): number => {
    for (let s = state; ; s = fail[s]) {
      const next = step(s, c);
      if (next !== -1) return next;
      if (s === 0) return 0;
    }
  };
  /** The nearest node, the node itself or down its `fail` chain, where heads end; -1 for none. */
  const found = new Int32Array(nodes).fill(-1);
  /** How far past the end of a place any head ending there, or a shorter one ending there too, may reach. */
  const ahead = new Int32Array(nodes);
  // Breadth first (a node's fail is shallower), each node with the character to it and its parent.
  const queue = new Int32Array(nodes);
  const charTo = new Int32Array(nodes);
  const parentOf = new Int32Array(nodes);
  let queued = 0;
  const enqueue = (child: number, c: number, parent: number) => {
    queue[queued++] = child;
    charTo[child] = c;
    parentOf[child] = parent;
  };
  rootAscii.forEach((child, c) => {
    if (child !== -1) enqueue(child, c, 0);
  });
  rootOther.forEach((child, c) => enqueue(child, c, 0));
  for (let q = 0; q < queued; q++) {
    const node = queue[q];
    const parent = parentOf[node];
    const c = charTo[node];
    const to = parent === 0 ? 0 : advance(fail[parent], c);
    fail[node] = to;
    found[node] = ending[node] !== -1 ? node : found[to];
    ahead[node] = Math.max(ahead[to], longest[node] - depth[node]);
    if (only[node] >= 0) enqueue(onlyChild[node], only[node], node);
    else if (only[node] === MANY_CHILDREN)
      manyChildren.get(node)!.forEach((child, k) => enqueue(child, k, node));
  }

  /** Each stretch where a needle may stand, found whole (see above): linear, whatever the needles. */
  const placesAround = (text: string): Array<[number, number]> => {
    const length = text.length;
    const cover = new Int32Array(length + 1);
    let state = 0;
    for (let i = 0; i < length; i++) {
      state = advance(state, text.charCodeAt(i));
      const at = found[state];
      if (at !== -1) {
        cover[i + 1 - depth[at]]++;
        cover[Math.min(length, i + 1 + ahead[state])]--;
      }
    }
    const out: Array<[number, number]> = [];
    let from = 0;
    let covers = 0;
    for (let i = 0; i < length; i++) {
      const before = covers;
      covers += cover[i];
      if (before === 0 && covers > 0) from = i;
      else if (before > 0 && covers === 0) out.push([from, i]);
    }
    if (covers > 0) out.push([from, length]);
    return out;
  };

  // Few needles: the engine's own search tells quicker that a text holds none of them (most texts).
  const few = needles.length <= FEW_NEEDLES ? needles : undefined;
  return text => {
    if (few && !few.some(n => text.includes(n))) return [];
    const length = text.length;
    let budget = 2 * length + 1024;
    // The places found, each as (which needle, its place in `needles`) × (length + 1) + where it starts.
    const stride = length + 1;
    let places = new Float64Array(0);
    let count = 0;
    let state = 0;
    for (let i = 0; i < length; i++) {
      state = advance(state, text.charCodeAt(i));
      for (let at = found[state]; at !== -1; at = found[fail[at]]) {
        const head = depth[at];
        const start = i + 1 - head;
        for (let index = ending[at]; index !== -1; index = nextEnding[index]) {
          const needle = needles[index];
          budget--;
          if (needle.length > head) {
            // A needle longer than its head: the rest compared where the head stands.
            if (start + needle.length > length) continue;
            let k = head;
            while (
              k < needle.length &&
              text.charCodeAt(start + k) === needle.charCodeAt(k)
            )
              k++;
            budget -= k - head;
            if (k < needle.length) continue;
          }
          if (count === places.length) {
            const more = new Float64Array(Math.max(16, 2 * count));
            more.set(places);
            places = more;
          }
          places[count++] = index * stride + start;
        }
        if (budget < 0) return placesAround(text);
      }
    }
    if (count === 0) return [];
    const hidden = new Uint8Array(length);
    const ends = new Map<number, number>();
    // The places by needle (longest first), each needle's from left to right.
    for (const place of places.subarray(0, count).sort()) {
      const index = Math.floor(place / stride);
      const start = place - index * stride;
      const end = start + needles[index].length;
      // Places hidden before are as long or longer: one that overlaps this one holds its first or last character.
      if (hidden[start] || hidden[end - 1]) continue;
      hidden.fill(1, start, end);
      ends.set(start, end);
    }
    return Array.from(Int32Array.from(ends.keys()).sort(), start => [
      start,
      ends.get(start)!,
    ]);
  };
}
