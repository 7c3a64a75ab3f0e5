import { isDeepStrictEqual, promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import {
  InputLimits,
  MANIFEST_DOCUMENT_LIMITS,
  parseJsonLimited,
  parseYamlLimited,
  parseYamlLimitedInTurns,
} from '@kubechart/plugin-kubechart-node';
import { RunFailure } from '../engine/errors';
import { KubeClient } from './KubeClient';

/** The parts of a stored Helm release that kubechart reads. */
export type StoredHelmRelease = {
  name: string;
  version: number;
  status: string;
  /** When helm deployed this revision (`info.last_deployed`, helm's clock). */
  deployedAt?: string;
  chart: { name?: string; version?: string };
  config: Record<string, unknown>;
  manifest: string;
  /**
   * The release's hooks (not part of `manifest`), with the template each came from and the events
   * helm runs each on: its record's `events`, which helm reads rather than the manifest's
   * `helm.sh/hook` annotation (only the strings of it). With the name, kind, weight and delete
   * policies helm runs it by (Go's zero values for those the record leaves out); `odd` says why one of
   * those is not as helm writes it (helm would not decode the record).
   */
  hooks: Array<{
    path: string;
    manifest: string;
    events: string[];
    name: string;
    kind: string;
    weight: number;
    deletePolicies: string[];
    odd?: string;
  }>;
};

/**
 * The largest Helm release record kubechart reads, once decompressed (32 MiB). The Secret helm
 * stores it in holds at most 1 MiB of gzip, which a chart of zeros (or a forged record) can inflate
 * to gigabytes; decompression stops at this size and the record is refused.
 */
export const MAX_HELM_RELEASE_RECORD_BYTES = 32 * 1024 * 1024;

/**
 * Bounds on the JSON of a decompressed release record. A real record is a few large strings (the
 * chart's templates and files, base64) plus the chart's default values, the user-supplied values and
 * the manifest: far fewer than a million values, and values nested far less than 100 deep.
 */
export const HELM_RELEASE_RECORD_LIMITS: Readonly<
  Pick<InputLimits, 'maxBytes' | 'maxDepth' | 'maxNodes'>
> = Object.freeze({
  maxBytes: MAX_HELM_RELEASE_RECORD_BYTES,
  maxDepth: 100,
  maxNodes: 1_000_000,
});

const gunzipAsync = promisify(gunzip);

/**
 * Whether JSON text holds more than `max` values, counted in one pass before `JSON.parse` (which
 * takes seconds on 32 MiB of `[0,0,0,…]`): every `,`, `[` and `{` outside strings at most starts
 * one more value. Strings are skipped with `indexOf`, so a record of large base64 strings costs
 * little.
 */
function holdsMoreValuesThan(text: string, max: number): boolean {
  let values = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      let end = i;
      for (;;) {
        end = text.indexOf('"', end + 1);
        if (end < 0) return false; // unterminated: JSON.parse refuses it
        let backslashes = 0;
        while (text.charCodeAt(end - 1 - backslashes) === 92 /* \ */)
          backslashes++;
        if (backslashes % 2 === 0) break;
      }
      i = end;
    } else if (c === 44 /* , */ || c === 91 /* [ */ || c === 123 /* { */) {
      if (++values > max) return true;
    }
  }
  return false;
}

/**
 * The fields of the objects of a release record that helm decodes into its Go structs, by where they
 * are (`hooks[]`: each item of `hooks`). Go's encoding/json matches a key to a field whatever its case
 * (with Unicode folding too: `ſ` is `s`, the Kelvin sign is `k`), and of two keys for one field takes
 * the last; JSON.parse keeps a key as spelled, another property. So in these objects a key spelled
 * otherwise than its field, a key that is not ASCII, and two keys for one field are refused.
 */
const HELM_RECORD_FIELDS: Readonly<Record<string, readonly string[]>> = {
  '': [
    'name',
    'info',
    'chart',
    'config',
    'manifest',
    'hooks',
    'version',
    'namespace',
    'labels',
  ],
  info: [
    'first_deployed',
    'last_deployed',
    'deleted',
    'description',
    'status',
    'notes',
    'resources',
  ],
  chart: ['metadata', 'lock', 'templates', 'values', 'schema', 'files'],
  'chart.metadata': [
    'name',
    'home',
    'sources',
    'version',
    'description',
    'keywords',
    'maintainers',
    'icon',
    'apiVersion',
    'condition',
    'tags',
    'appVersion',
    'deprecated',
    'annotations',
    'kubeVersion',
    'dependencies',
    'type',
  ],
  'hooks[]': [
    'name',
    'kind',
    'path',
    'manifest',
    'events',
    'last_run',
    'weight',
    'delete_policies',
    'output_log_policies',
  ],
};
/** Where the objects of {@link HELM_RECORD_FIELDS} are found. */
const HELM_RECORD_PATHS = new Set([
  ...Object.keys(HELM_RECORD_FIELDS),
  'hooks',
]);

/** The index of the `"` that ends the JSON string starting at `start`; -1 when none does. */
function stringEnd(text: string, start: number): number {
  let end = start;
  for (;;) {
    end = text.indexOf('"', end + 1);
    if (end < 0) return -1;
    let backslashes = 0;
    while (text.charCodeAt(end - 1 - backslashes) === 92 /* \ */) backslashes++;
    if (backslashes % 2 === 0) return end;
  }
}

/**
 * Why helm would not read a release record's JSON (`text`, already parsed) as kubechart reads it:
 * in an object helm decodes into a struct ({@link HELM_RECORD_FIELDS}), a key that is not ASCII, a
 * key spelled otherwise than the field it matches, or two keys for one field. Undefined when none.
 */
function keyHelmReadsOtherwise(text: string): string | undefined {
  type Frame = {
    at: string | undefined;
    array: boolean;
    /** A struct's keys so far, by their folded spelling. */
    keys?: Map<string, string>;
  };
  const stack: Frame[] = [];
  let key = '';
  let expectKey = false;
  const show = (k: string) => JSON.stringify(k.slice(0, 100));
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      const end = stringEnd(text, i);
      if (end < 0) return undefined; // not JSON: the parse refused it already
      const top = stack[stack.length - 1];
      if (expectKey && top) {
        expectKey = false;
        if (top.keys) {
          key = JSON.parse(text.slice(i, end + 1));
          const where = top.at ? `in ${top.at}` : 'at its top level';
          if (/[^\x20-\x7e]/.test(key)) {
            return `its key ${show(
              key,
            )} ${where} is not ASCII, and helm may read it as one of its fields`;
          }
          const folded = key.toLowerCase();
          const before = top.keys.get(folded);
          if (before !== undefined) {
            return before === key
              ? `it holds the key ${show(key)} twice ${where}`
              : `it holds the keys ${show(before)} and ${show(
                  key,
                )} ${where}, which helm reads as one field`;
          }
          top.keys.set(folded, key);
          const field = HELM_RECORD_FIELDS[top.at!].find(
            f => f.toLowerCase() === folded,
          );
          if (field !== undefined && field !== key) {
            return `its key ${show(
              key,
            )} ${where} is not spelled as the field ${field} helm reads it as`;
          }
        }
      }
      i = end;
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      const parent = stack[stack.length - 1];
      let at: string | undefined;
      if (!parent) at = '';
      else if (parent.at !== undefined)
        at = parent.array
          ? `${parent.at}[]`
          : `${parent.at ? `${parent.at}.` : ''}${key}`;
      if (at !== undefined && !HELM_RECORD_PATHS.has(at)) at = undefined;
      const array = c === 91;
      stack.push({
        at,
        array,
        keys:
          !array && at !== undefined && at in HELM_RECORD_FIELDS
            ? new Map()
            : undefined,
      });
      expectKey = !array;
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      stack.pop();
      expectKey = false;
    } else if (c === 44 /* , */) {
      expectKey = stack.length > 0 && !stack[stack.length - 1].array;
    }
  }
  return undefined;
}

/** A release record past MAX_HELM_RELEASE_RECORD_BYTES (`how`: measured once decompressed, or as stored). */
const tooLarge = (what: string, how: string) =>
  new RunFailure(
    `${what} is larger than ${
      MAX_HELM_RELEASE_RECORD_BYTES / 1024 / 1024
    } MiB${how}; kubechart does not read release records beyond that size`,
  );

/**
 * Decodes the `release` field of a `helm.sh/release.v1` Secret: base64 of helm's base64 of gzipped
 * JSON. Decompresses off the event loop up to {@link MAX_HELM_RELEASE_RECORD_BYTES} and parses within
 * {@link HELM_RELEASE_RECORD_LIMITS}; anything beyond is refused with a {@link RunFailure} naming the
 * record (`what`), so the run fails with that reason rather than guessing what the cluster holds. The
 * chart's templates and files are not kept.
 */
async function decodeHelmRelease(data: string, what: string): Promise<any> {
  // Secret data is base64 of the bytes helm stored, which are themselves base64 text.
  const inner = Buffer.from(
    Buffer.from(data, 'base64').toString('utf8'),
    'base64',
  );
  let json = inner;
  if (inner[0] === 0x1f && inner[1] === 0x8b) {
    try {
      json = await gunzipAsync(inner, {
        maxOutputLength: MAX_HELM_RELEASE_RECORD_BYTES,
      });
    } catch (e) {
      if (
        e instanceof RangeError ||
        (e as { code?: string })?.code === 'ERR_BUFFER_TOO_LARGE'
      ) {
        throw tooLarge(what, ' once decompressed');
      }
      throw new RunFailure(
        `${what} could not be decompressed: ${(e as Error)?.message ?? e}`,
      );
    }
  }
  if (json.length > MAX_HELM_RELEASE_RECORD_BYTES) {
    throw tooLarge(what, '');
  }
  const text = json.toString('utf8');
  if (holdsMoreValuesThan(text, HELM_RELEASE_RECORD_LIMITS.maxNodes)) {
    throw new RunFailure(
      `${what} refused: more than ${HELM_RELEASE_RECORD_LIMITS.maxNodes} values; the limit maxNodes is ${HELM_RELEASE_RECORD_LIMITS.maxNodes}`,
    );
  }
  let record: any;
  try {
    record = parseJsonLimited(text, {
      what,
      limits: HELM_RELEASE_RECORD_LIMITS,
    });
  } catch (e) {
    // Not the caller's input: the run fails with the reason (not a 400).
    throw new RunFailure((e as Error).message);
  }
  if (!record || typeof record !== 'object' || Array.isArray(record)) {
    throw new RunFailure(
      `${what} is not a release record: its JSON is ${
        Array.isArray(record) ? 'an array' : String(record && typeof record)
      }, not an object`,
    );
  }
  const otherwise = keyHelmReadsOtherwise(text);
  if (otherwise) {
    throw new RunFailure(
      `${what} is refused: ${otherwise}. helm matches a record's keys to its fields whatever their case, and of two keys for one field takes the last, so it would not act on what kubechart reads; helm does not write such records`,
    );
  }
  if (record?.chart && typeof record.chart === 'object') {
    delete record.chart.templates;
    delete record.chart.files;
  }
  return record;
}

/** How a refusal names the record Secret `secret` of `release`. */
const recordWhat = (secret: string, release: string, namespace: string) =>
  `Helm release record ${secret} of release ${release} in namespace ${namespace}`;

/**
 * Reads the latest revision of a Helm release the way helm finds it: Secrets labelled
 * `name=<release>,owner=helm`. Cheaper than spawning `helm status`, and the same for helm 3 and 4.
 */
export async function readLatestHelmRelease(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<StoredHelmRelease | undefined> {
  const list = await client.core.listNamespacedSecret({
    namespace,
    labelSelector: `name=${name},owner=helm`,
  });
  const latest = list.items
    .filter(isReleaseSecret)
    .sort(
      (a, b) =>
        Number(b.metadata?.labels?.version ?? 0) -
        Number(a.metadata?.labels?.version ?? 0),
    )[0];
  return latest ? toStoredHelmRelease(latest, namespace, name) : undefined;
}

/**
 * Whether helm failed (`error`) as the Secret it writes its record of a new revision to existed
 * (storage's `release: already exists`). helm writes that record before it applies anything, in an
 * install, an upgrade and a rollback alike: helm applied nothing then.
 */
export function isRecordTakenError(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error ?? '');
  return /\brelease: already exists\b/.test(message);
}

/** The most Secrets of one release kubechart reads to tell which record helm acts on. */
export const MAX_HELM_RELEASE_RECORDS = 100;

/** Go's `unicode.IsSpace`, which `strings.TrimSpace` trims. */
const isGoSpace = (c: number) =>
  (c >= 0x09 && c <= 0x0d) ||
  c === 0x20 ||
  c === 0x85 ||
  c === 0xa0 ||
  c === 0x1680 ||
  (c >= 0x2000 && c <= 0x200a) ||
  c === 0x2028 ||
  c === 0x2029 ||
  c === 0x202f ||
  c === 0x205f ||
  c === 0x3000;
/** `\s` of Go's regexp: `[\t\n\f\r ]`. */
const isRegexpSpace = (c: number) =>
  c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d || c === 0x20;

function goTrimSpace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isGoSpace(text.charCodeAt(start))) start++;
  while (end > start && isGoSpace(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

/**
 * The pieces helm's `releaseutil.SplitManifests` cuts a release's manifest into (its uninstall reads
 * a record's manifest so): the text trimmed, split where `(?:^|\s*\n)---\s*` matches (so at every
 * line starting with `---`, whatever follows it), empty pieces dropped and each trimmed. Linear: the
 * pattern is matched by hand, not by a regex that retries.
 */
export function splitManifestsAsHelm(manifest: string): string[] {
  const s = goTrimSpace(manifest);
  const skipSpace = (from: number) => {
    let k = from;
    while (k < s.length && isRegexpSpace(s.charCodeAt(k))) k++;
    return k;
  };
  const pieces: string[] = [];
  let start = 0;
  if (s.startsWith('---')) {
    pieces.push('');
    start = skipSpace(3);
  }
  for (;;) {
    const newline = s.indexOf('\n---', start);
    if (newline < 0) break;
    // The match starts where the spaces before the line break start.
    let from = newline;
    while (from > start && isRegexpSpace(s.charCodeAt(from - 1))) from--;
    pieces.push(s.slice(start, from));
    start = skipSpace(newline + 4);
  }
  pieces.push(s.slice(start));
  return pieces.filter(p => p !== '').map(goTrimSpace);
}

/**
 * Why helm's uninstall would read a record's manifest otherwise than kubechart reads it as a YAML
 * stream, or undefined. helm splits it with {@link splitManifestsAsHelm} and reads the first document
 * of each piece (go-yaml behind sigs.k8s.io/yaml); js-yaml reads the text as one stream. A line
 * starting with `---{…}` or `---x` is a new piece to helm and text to js-yaml, and what follows a `...`
 * line in a piece is nothing to helm and another document to js-yaml. So each piece must hold at most
 * one document, no line starting with `---` or `...`, and the pieces' documents must be the stream's.
 * When the stream itself cannot be read, undefined: the caller refuses it as unreadable. Each
 * document is held to {@link MANIFEST_DOCUMENT_LIMITS} (one object the API server would store) and
 * read in a turn of the event loop of its own, so a large record holds no other request up.
 */
async function splitHelmReadsOtherwise(
  manifest: string,
): Promise<string | undefined> {
  const options = {
    what: 'Manifests',
    schema: 'helm',
    limits: MANIFEST_DOCUMENT_LIMITS,
  } as const;
  let whole: unknown[];
  try {
    whole = (await parseYamlLimitedInTurns(manifest, options)).filter(
      d => d !== null && d !== undefined,
    );
  } catch {
    return undefined;
  }
  const pieces = splitManifestsAsHelm(manifest);
  let docs = 0;
  let differ = false;
  for (const [i, piece] of pieces.entries()) {
    if (i > 0) await new Promise<void>(resolve => setImmediate(resolve));
    const where = `the piece ${i + 1} of ${
      pieces.length
    } helm splits its manifest into (at lines starting with ---)`;
    const marker = /(?:^|[\r\n])(---|\.\.\.)/.exec(piece);
    if (marker) {
      return `${where} holds a line starting with ${marker[1]}, after which helm reads nothing of the piece`;
    }
    let read: unknown[];
    try {
      read = parseYamlLimited(piece, options);
    } catch (e) {
      return `${where} cannot be read on its own (${
        e instanceof Error ? e.message : String(e)
      })`;
    }
    if (read.length > 1) {
      return `${where} holds ${read.length} documents, of which helm reads only the first`;
    }
    // Each piece's document against the stream's, as it is read (what the pieces hold is told first).
    for (const doc of read.filter(d => d !== null && d !== undefined)) {
      if (docs >= whole.length || !isDeepStrictEqual(doc, whole[docs]))
        differ = true;
      docs++;
    }
  }
  if (differ || docs !== whole.length) {
    return 'the documents of the pieces helm splits its manifest into (at every line starting with ---) are not those of the manifest read as a YAML stream';
  }
  return undefined;
}

/** A release's records as helm reads them when it upgrades, rolls back or uninstalls it. */
export type CurrentHelmReleases = {
  /**
   * The records helm may treat as the current one: the highest revision (helm's `Last`, which a
   * rollback and an uninstall act on), and the highest of those labelled `status=deployed` (helm's
   * `Deployed`, which an upgrade acts on when the last one is not deployed). Each at most once.
   */
  current: Array<StoredHelmRelease & { secret: string }>;
  /**
   * The records `helm upgrade --install` may act on as the current one, whose objects it deletes or
   * changes. helm installs anew (deleting nothing) when the last record it lists is `uninstalled`, in
   * the order the API server lists the Secrets (by name, where `v10` comes before `v9`); otherwise it
   * upgrades from the highest revision when that is deployed, or else from the highest labelled
   * `deployed`, or else from the highest revision when that failed or was superseded. Which path
   * helm takes is not relied on: the highest labelled `deployed` is kept even below an uninstalled
   * highest revision, which alone is left out (helm never upgrades from an uninstalled record it
   * does not find labelled `deployed`).
   */
  upgradeCurrent: Array<StoredHelmRelease & { secret: string }>;
  /**
   * Every record read, each with whether its Secret is labelled `status=deployed`. helm skips a
   * record it cannot decode (a time not in RFC 3339, a number where it expects a string), so any
   * lower record may be the one it takes as its last: the engine checks them all.
   */
  all: Array<
    StoredHelmRelease & {
      secret: string;
      labelledDeployed: boolean;
      /** The Secret's uid and resourceVersion as read: a delete with them as preconditions deletes only it. */
      uid?: string;
      resourceVersion?: string;
    }
  >;
  /** The resourceVersion of the list the records were read from: a watch from it sees every later change. */
  listedAt?: string;
  /** The uid of each record Secret read. */
  uids: string[];
};

const listReleaseSecrets = async (
  client: KubeClient,
  namespace: string,
  name: string,
) =>
  client.core.listNamespacedSecret({
    namespace,
    labelSelector: `name=${name},owner=helm`,
  });

/**
 * How helm comes to read a Secret as a release record, in the words of a refusal of it: `found` follows
 * `Secret <name>`; `reads` says how helm would read such a Secret all the same; `outcome` what was
 * left as it was (said of a manifest helm splits otherwise).
 */
type RecordFound = { found: string; reads: string; outcome: string };

/** A Secret of the release's records as helm lists them before it upgrades, rolls back or uninstalls. */
const LISTED: RecordFound = {
  found: 'is labelled as its release record',
  reads:
    'reads every Secret so labelled and lists them by name to tell whether it installs anew or upgrades',
  outcome: '; nothing was uninstalled or changed',
};

/** The Secret helm reads by its name as revision `revision` (the one a rollback returns to). */
const named = (revision: number): RecordFound => ({
  found: `is the Secret helm reads as its revision ${revision}`,
  reads: 'reads it by its name as that revision',
  outcome: '',
});

/** A Secret a watch of the release's records (`name=<release>,owner=helm`) showed. */
const WATCHED: RecordFound = {
  found: 'is labelled as its release record',
  reads: 'reads every Secret so labelled',
  outcome: '',
};

/**
 * Reads the records helm may act on as a release's current one, as helm finds them: every Secret
 * labelled `name=<release>,owner=helm` (whatever its name or type: helm reads them all), ordered by
 * the revision its record states. The Secrets are in the release's namespace, where its admins and
 * workloads may write them, so what helm would not read as kubechart does is refused
 * ({@link RunFailure}): a Secret without a readable record, one that is not as helm writes it (its
 * name, type, `version` label or release not those of its record, whose order in helm's list decides
 * what helm does), two records of one revision, more than {@link MAX_HELM_RELEASE_RECORDS} Secrets.
 */
export async function readCurrentHelmReleases(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<CurrentHelmReleases> {
  const list = await listReleaseSecrets(client, namespace, name);
  const secrets = list.items;
  const what = `Release ${name} in namespace ${namespace}`;
  if (secrets.length > MAX_HELM_RELEASE_RECORDS) {
    throw new RunFailure(
      `${what} has ${secrets.length} release record Secrets; kubechart reads at most ${MAX_HELM_RELEASE_RECORDS}`,
    );
  }
  const records: CurrentHelmReleases['all'] = [];
  for (const s of secrets) {
    const record = await readRecordSecret(s, namespace, name, LISTED);
    records.push({
      ...record,
      secret: s.metadata?.name ?? '(unnamed Secret)',
      labelledDeployed: s.metadata?.labels?.status === 'deployed',
      uid: s.metadata?.uid,
      resourceVersion: s.metadata?.resourceVersion,
    });
  }
  const highest = (of: typeof records) => {
    const top = Math.max(...of.map(r => r.version));
    const at = of.filter(r => r.version === top);
    if (at.length > 1) {
      throw new RunFailure(
        `${what}: release records ${at
          .map(r => r.secret)
          .join(', ')} each state revision ${top}`,
      );
    }
    return at[0];
  };
  const current = new Set<(typeof records)[number]>();
  const last = records.length ? highest(records) : undefined;
  if (last) current.add(last);
  const deployed = records.filter(r => r.labelledDeployed);
  const lastDeployed = deployed.length ? highest(deployed) : undefined;
  if (lastDeployed) current.add(lastDeployed);
  const strip = ({ labelledDeployed: _, ...r }: (typeof records)[number]) => r;
  return {
    current: [...current].map(strip),
    upgradeCurrent: [...current]
      .filter(
        r => r !== last || r.status !== 'uninstalled' || r === lastDeployed,
      )
      .map(strip),
    all: records,
    listedAt: list.metadata?.resourceVersion,
    uids: secrets.flatMap(s => (s.metadata?.uid ? [s.metadata.uid] : [])),
  };
}

/**
 * The record a Secret helm reads as one of `release` holds (`found`: how helm comes to read it), read
 * as helm reads it. What helm would not read as kubechart does is refused with a {@link RunFailure}
 * naming the Secret: no record, a record of no whole revision, a Secret not as helm writes it
 * ({@link unlikeHelmsRecord}), a manifest helm splits otherwise ({@link splitHelmReadsOtherwise}).
 * Every reader of a release's records but {@link readLatestHelmRelease} reads them through it.
 */
async function readRecordSecret(
  s: {
    type?: string;
    data?: Record<string, string>;
    metadata?: { name?: string; labels?: Record<string, string> };
  },
  namespace: string,
  release: string,
  how: RecordFound,
): Promise<StoredHelmRelease> {
  const what = `Release ${release} in namespace ${namespace}`;
  const secret = s.metadata?.name ?? '(unnamed Secret)';
  if (typeof s.data?.release !== 'string' || !s.data.release) {
    throw new RunFailure(
      `${what}: Secret ${secret} ${how.found} and holds none`,
    );
  }
  const raw = await decodeHelmRelease(
    s.data.release,
    recordWhat(secret, release, namespace),
  );
  if (
    typeof raw.version !== 'number' ||
    !Number.isInteger(raw.version) ||
    raw.version < 1
  ) {
    throw new RunFailure(
      `${what}: release record ${secret} states no revision`,
    );
  }
  const odd = unlikeHelmsRecord(s, raw, release);
  if (odd) {
    throw new RunFailure(
      `${what}: Secret ${secret} ${how.found}, but ${odd}. helm never writes such a Secret, yet ${how.reads}, so which record it would act on cannot be known. The release record is a Secret in the namespace; correct or delete it and try again.`,
    );
  }
  const record = storedHelmRelease(raw, s);
  const split = await splitHelmReadsOtherwise(record.manifest);
  if (split) {
    throw new RunFailure(
      `${what}: release record ${secret} cannot be read the same way helm reads it: ${split}${how.outcome}. helm never writes such a record; the release record is a Secret in the namespace: correct or delete it and try again.`,
    );
  }
  return record;
}

/**
 * Reads one revision of a Helm release from its `sh.helm.release.v1.<release>.v<revision>` Secret, as
 * helm reads it by that name (a rollback's); undefined when there is none. A Secret there that is not
 * as helm writes it, or whose record helm would read otherwise, is refused (see {@link readRecordSecret}).
 */
export async function readHelmRelease(
  client: KubeClient,
  namespace: string,
  name: string,
  revision: number,
): Promise<StoredHelmRelease | undefined> {
  const secret = await client.read<any>({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `sh.helm.release.v1.${name}.v${revision}`, namespace },
  });
  return secret
    ? readRecordSecret(secret, namespace, name, named(revision))
    : undefined;
}

/**
 * Reads the Helm release record a Secret labelled as one of release `name` holds (one already
 * fetched, e.g. from a watch event), refusing as {@link readCurrentHelmReleases} does what helm would
 * not read as kubechart does (see {@link readRecordSecret}).
 */
export async function helmReleaseOfSecret(
  secret: {
    type?: string;
    data?: Record<string, string>;
    metadata?: { name?: string; labels?: Record<string, string> };
  },
  namespace: string,
  name: string,
): Promise<StoredHelmRelease> {
  return readRecordSecret(secret, namespace, name, WATCHED);
}

function isReleaseSecret(s: { type?: string; data?: Record<string, string> }) {
  return (
    s.type === 'helm.sh/release.v1' &&
    typeof s.data?.release === 'string' &&
    !!s.data.release
  );
}

/**
 * Why a Secret helm reads as a record of `release` (its record decoded, `r`, of a whole revision) is not
 * one helm writes: a record Secret is of type `helm.sh/release.v1`, labelled `owner=helm` and
 * `name=<release>`, named `sh.helm.release.v1.<release>.v<revision>` and labelled
 * `version=<revision>` by its record's revision, and holds a record of that release. Undefined when
 * it is one.
 */
function unlikeHelmsRecord(
  s: {
    type?: string;
    metadata?: { name?: string; labels?: Record<string, string> };
  },
  r: { name?: unknown; version: number; info?: { status?: unknown } },
  release: string,
): string | undefined {
  const show = (v: unknown) => JSON.stringify(v)?.slice(0, 100) ?? String(v);
  if (r.name !== release) {
    return `its record is of release ${show(r.name)}`;
  }
  if (
    r.info?.status !== undefined &&
    r.info?.status !== null &&
    typeof r.info.status !== 'string'
  ) {
    return `its record's status is ${show(r.info.status)}, not a string`;
  }
  if (s.type !== 'helm.sh/release.v1') {
    return `it is of type ${show(s.type ?? '')}, not helm.sh/release.v1`;
  }
  const labels = s.metadata?.labels;
  if (labels?.owner !== 'helm' || labels?.name !== release) {
    return `it is labelled owner ${show(labels?.owner ?? '')} and name ${show(
      labels?.name ?? '',
    )}, not owner=helm,name=${release}`;
  }
  const key = `sh.helm.release.v1.${release}.v${r.version}`;
  if (s.metadata?.name !== key) {
    return `its record is revision ${r.version}, which helm stores in the Secret ${key}`;
  }
  const label = s.metadata?.labels?.version;
  if (label !== String(r.version)) {
    return `it is labelled version ${show(
      label ?? '',
    )}, and its record is revision ${r.version}`;
  }
  return undefined;
}

async function toStoredHelmRelease(
  secret: {
    data?: Record<string, string>;
    metadata?: { name?: string; labels?: Record<string, string> };
  },
  namespace: string,
  release: string,
): Promise<StoredHelmRelease> {
  const r = await decodeHelmRelease(
    secret.data!.release,
    recordWhat(secret.metadata?.name ?? '(unnamed Secret)', release, namespace),
  );
  return storedHelmRelease(r, secret);
}

/** The parts kubechart reads of a decoded record (`r`), held by `secret`. */
function storedHelmRelease(
  r: any,
  secret: { metadata?: { labels?: Record<string, string> } },
): StoredHelmRelease {
  return {
    name: r.name,
    version: Number(r.version),
    status: r.info?.status ?? secret.metadata?.labels?.status ?? 'unknown',
    deployedAt:
      typeof r.info?.last_deployed === 'string'
        ? r.info.last_deployed
        : undefined,
    chart: {
      name: r.chart?.metadata?.name,
      version: r.chart?.metadata?.version,
    },
    config: r.config ?? {},
    manifest: r.manifest ?? '',
    hooks: (Array.isArray(r.hooks) ? r.hooks : []).map(storedHook),
  };
}

/** A hook of a decoded release record, as {@link StoredHelmRelease} holds it. */
function storedHook(h: any): StoredHelmRelease['hooks'][number] {
  const odd: string[] = [];
  const text = (field: string) => {
    const v = h?.[field] ?? '';
    if (typeof v === 'string') return v;
    odd.push(`its ${field} is not a string`);
    return '';
  };
  // Go reads `weight` into an int, `delete_policies` into a list of strings.
  const weight = h?.weight ?? 0;
  const int = Number.isInteger(weight) && Math.abs(weight) <= 2 ** 31 - 1;
  if (!int) odd.push('its weight is not an integer');
  const policies = h?.delete_policies ?? [];
  const listed =
    Array.isArray(policies) && policies.every(p => typeof p === 'string');
  if (!listed) odd.push('its delete_policies are not a list of strings');
  return {
    path: String(h?.path ?? ''),
    manifest: String(h?.manifest ?? ''),
    events: (Array.isArray(h?.events) ? h.events : []).filter(
      (e: unknown): e is string => typeof e === 'string',
    ),
    name: text('name'),
    kind: text('kind'),
    weight: int ? weight : 0,
    deletePolicies: listed ? policies : [],
    ...(odd.length ? { odd: odd.join(', ') } : {}),
  };
}
