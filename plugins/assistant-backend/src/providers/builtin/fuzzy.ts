/**
 * Optimal string alignment distance (Levenshtein plus adjacent
 * transpositions), stopping early once it exceeds `max`.
 */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = [];
  for (let i = 0; i < rows; i++) {
    d.push(new Array<number>(cols).fill(0));
    d[i][0] = i;
  }
  for (let j = 0; j < cols; j++) d[0][j] = j;
  for (let i = 1; i < rows; i++) {
    let rowMin = Infinity;
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(
        d[i - 1][j] + 1,
        d[i][j - 1] + 1,
        d[i - 1][j - 1] + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, d[i - 2][j - 2] + 1);
      }
      d[i][j] = v;
      rowMin = Math.min(rowMin, v);
    }
    if (rowMin > max) return max + 1;
  }
  return d[rows - 1][cols - 1];
}

function isTransposition(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  const diff: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) diff.push(i);
  return (
    diff.length === 2 &&
    diff[1] === diff[0] + 1 &&
    a[diff[0]] === b[diff[1]] &&
    a[diff[1]] === b[diff[0]]
  );
}

/**
 * Words a typo is never corrected to, and the forms of them that are read as them.
 */
export type CorrectionGuard = {
  /** The guarded words (all in the vocabulary to be of any use). */
  words: Iterable<string>;
  /** Whether `token` is another form of the guarded `word` ("deleted" of "delete"), not a typo of it. */
  isFormOf(token: string, word: string): boolean;
};

/**
 * Corrects a typo against a vocabulary. Short words are only corrected for a
 * swapped, missing or extra letter: a different letter in a four-letter
 * word is more often another word ("shop" is not "show") than a typo.
 *
 * A guarded word is never the result of a correction: a token as close to one
 * as to any other word is left as typed, so "ill" (from "I'll") is not "kill"
 * and "stale" is not "scale". Only the forms the guard names are read as the
 * word itself.
 */
export class TypoCorrector {
  private readonly words: Set<string>;
  private readonly guarded: Set<string>;
  private readonly byLength = new Map<number, string[]>();
  private readonly cache = new Map<string, Nearest>();

  constructor(
    vocabulary: Iterable<string>,
    private readonly guard?: CorrectionGuard,
  ) {
    this.words = new Set(vocabulary);
    this.guarded = new Set(guard?.words ?? []);
    for (const word of this.words) {
      const list = this.byLength.get(word.length) ?? [];
      list.push(word);
      this.byLength.set(word.length, list);
    }
  }

  correct(token: string): string | undefined {
    if (this.words.has(token)) return token;
    return this.nearest(token)?.word;
  }

  /**
   * The guarded words `token` is a typo of, when that is why it is left as typed ("drian": drain;
   * "delte": delete), the nearest first; empty for a word of the vocabulary, a form of a guarded
   * word, and a token nearer to another word.
   */
  guardedTypoOf(token: string): string[] {
    if (this.words.has(token)) return [];
    return this.nearest(token)?.guarded ?? [];
  }

  private nearest(token: string): Nearest | undefined {
    if (!/^[a-z]{3,}$/.test(token)) return undefined;
    const cached = this.cache.get(token);
    if (cached) return cached;
    let max = 1;
    if (token.length >= 8) max = 2;
    let best: string | undefined;
    let bestDistance = max + 1;
    // The closest guarded words the token is a typo of (not a form of).
    let guarded: string[] = [];
    let guardedDistance = max + 1;
    for (let len = token.length - max; len <= token.length + max; len++) {
      for (const word of this.byLength.get(len) ?? []) {
        if (word.length < 4) continue;
        const distance = editDistance(token, word, max);
        if (distance > max) continue;
        if (
          token.length <= 4 &&
          token.length === word.length &&
          !isTransposition(token, word)
        ) {
          continue;
        }
        if (this.guarded.has(word) && !this.guard?.isFormOf(token, word)) {
          if (distance < guardedDistance) guarded = [];
          if (distance <= guardedDistance) guarded.push(word);
          guardedDistance = Math.min(guardedDistance, distance);
          continue;
        }
        if (distance >= bestDistance) continue;
        best = word;
        bestDistance = distance;
      }
    }
    const found: Nearest =
      guardedDistance <= bestDistance
        ? { word: undefined, guarded }
        : { word: best, guarded: [] };
    // Questions are user input: keep the memo bounded.
    if (this.cache.size > 5000) this.cache.clear();
    this.cache.set(token, found);
    return found;
  }
}

/** What a token is nearest to: the word it is corrected to, or the guarded words that kept it as typed. */
type Nearest = { word: string | undefined; guarded: string[] };
