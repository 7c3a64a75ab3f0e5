import { InputError } from '@backstage/errors';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tar from 'tar';
import type { ResolvedChartSource } from '../chartSource';
import type { HelmCli } from './HelmCli';
import { readChartYaml } from './chartYaml';
import { listPackageEntries } from './packageEntries';
import { validateReleaseName } from './validation';

/** A chart pulled once for a run: the pinned package helm renders and installs, and its unpacked copy. @public */
export type ChartArtifact = {
  /** The package (`.tgz`) every helm call of the run uses. */
  archive: string;
  /** The unpacked chart (packaged subcharts unpacked too), read for `crds/`, templates, `values.yaml` and `values.schema.json`. */
  directory: string;
  /** `name` and `version` of the chart's Chart.yaml. */
  name: string;
  version: string;
  /** `sha256:<hex>` of the pulled package; for a chart directory, of its packaged files (paths and contents). */
  digest: string;
  /** Where it came from, without credentials: a chart name, `<repo> <chart>` or an oci:// reference. */
  source: string;
};

/** Limits of an unpacked chart: more is refused. */
const MAX_ENTRIES = 5000;
const MAX_UNPACKED_BYTES = 50 * 1024 * 1024;
/** Largest file of a chart package: helm's own bound (`MaxDecompressedFileSize`), past which it refuses the chart. */
const MAX_FILE_BYTES = 5 * 1024 * 1024;
const MAX_PACKAGED_SUBCHARTS = 20;

const hostOf = (ref: string) => {
  try {
    return new URL(ref).host;
  } catch {
    return 'the repository';
  }
};

async function findArchive(dir: string): Promise<string> {
  const archives = (await fs.readdir(dir)).filter(f => f.endsWith('.tgz'));
  if (archives.length !== 1) {
    throw new InputError(
      `Expected one chart package, found ${archives.length}`,
    );
  }
  return path.join(dir, archives[0]);
}

/** sha256 over the relative paths and contents of every file below `root`, in path order. */
async function filesDigest(root: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (dir: string): Promise<void> => {
    const entries = (await fs.readdir(dir, { withFileTypes: true })).sort(
      (a, b) => Number(a.name > b.name) - Number(a.name < b.name),
    );
    for (const e of entries) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) {
        await walk(full);
      } else {
        const content = await fs.readFile(full);
        hash
          .update(`${path.relative(root, full)}\0${content.length}\0`)
          .update(content);
      }
    }
  };
  await walk(root);
  return hash.digest('hex');
}

/**
 * Unpacks the packaged subcharts (`charts/*.tgz`, as `helm dependency` leaves them) of an unpacked chart
 * in place, each checked like the chart itself, so what is read from the chart (its subcharts' crds/,
 * templates and values) is read from them too. The package helm installs is not changed.
 */
async function unpackSubcharts(
  chartDir: string,
  depth = 0,
  count = { n: 0 },
): Promise<void> {
  const charts = path.join(chartDir, 'charts');
  const entries = await fs
    .readdir(charts, { withFileTypes: true })
    .catch(() => []);
  for (const e of entries) {
    const full = path.join(charts, e.name);
    if (e.isDirectory()) {
      if (depth < 5) await unpackSubcharts(full, depth + 1, count);
      continue;
    }
    if (!e.isFile() || !e.name.endsWith('.tgz')) continue;
    // Each package is bounded on its own; these bound them together.
    if (depth >= 5 || ++count.n > MAX_PACKAGED_SUBCHARTS) {
      throw new InputError(
        `Chart refused: more than ${MAX_PACKAGED_SUBCHARTS} packaged subcharts, or nested deeper than 5 levels (${e.name})`,
      );
    }
    const staging = await fs.mkdtemp(path.join(charts, '.unpack-'));
    const unpacked = await unpack(full, staging);
    let target = path.join(charts, e.name.replace(/\.tgz$/, ''));
    while (
      await fs.stat(target).then(
        () => true,
        () => false,
      )
    )
      target += '_';
    await fs.rename(unpacked, target);
    await fs.rm(staging, { recursive: true, force: true });
    await fs.rm(full);
    await unpackSubcharts(target, depth + 1, count);
  }
}

/**
 * Why a package entry is refused, given the entries listed before it (by lower-cased path), or
 * undefined. helm reads every entry of a package (a path held twice, twice; `\\` as a separator;
 * any first directory as the chart's), an unpacker keeps one file per path: only packages both read
 * the same way pass (one chart directory, each path once and unique regardless of case).
 */
function entryRefusal(
  entryPath: string,
  isDirectory: boolean,
  listed: Map<string, { path: string; directory: boolean }>,
  root: string,
): string | undefined {
  if (entryPath.includes('\\'))
    return `the chart package holds a path with a backslash (${entryPath})`;
  const parts = (isDirectory ? entryPath.replace(/\/$/, '') : entryPath).split(
    '/',
  );
  if (path.isAbsolute(entryPath) || parts.includes('..'))
    return `the chart package holds a path outside the chart (${entryPath})`;
  if (parts.some(s => s === '' || s === '.'))
    return `the chart package holds a path with an empty, "." or ".." segment (${entryPath})`;
  if (parts[0] !== root || (parts.length === 1 && !isDirectory))
    return `the chart package holds ${entryPath} outside its chart directory ${root}`;
  for (let i = 1; i <= parts.length; i++) {
    const p = parts.slice(0, i).join('/');
    const directory = i < parts.length || isDirectory;
    const before = listed.get(p.toLowerCase());
    if (!before) {
      listed.set(p.toLowerCase(), { path: p, directory });
      continue;
    }
    if (before.path !== p)
      return `the chart package holds ${[before.path, p]
        .sort()
        .join(' and ')}, which differ only in case`;
    if (!before.directory || !directory)
      return before.directory === directory
        ? `the chart package holds ${p} more than once`
        : `the chart package holds ${p} as a file and as a directory`;
  }
  return undefined;
}

/** The files below `dir` (relative, `/`-separated) and their sizes. */
async function filesBelow(
  dir: string,
  prefix = '',
  out = new Map<string, number>(),
): Promise<Map<string, number>> {
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const rel = `${prefix}${e.name}`;
    if (e.isDirectory())
      await filesBelow(path.join(dir, e.name), `${rel}/`, out);
    else out.set(rel, (await fs.lstat(path.join(dir, e.name))).size);
  }
  return out;
}

/**
 * Unpacks a chart package after checking, on its entries as helm reads them, that it holds only
 * files and directories within bounds, one chart directory and each path once; then that the
 * unpacked copy holds exactly those files, so what is read from it is what helm reads.
 */
async function unpack(archive: string, into: string): Promise<string> {
  const entries = await listPackageEntries(archive, {
    maxEntries: MAX_ENTRIES,
    maxBytes: MAX_UNPACKED_BYTES,
    maxFileBytes: MAX_FILE_BYTES,
  });
  const root = entries[0]?.path.split('/')[0] ?? '';
  const listed = new Map<string, { path: string; directory: boolean }>();
  for (const e of entries) {
    const refused = entryRefusal(e.path, e.type === 'Directory', listed, root);
    if (refused) throw new InputError(`Chart refused: ${refused}`);
  }
  await fs.mkdir(into, { recursive: true });
  await tar.x({ file: archive, cwd: into, strict: true });
  const top = (await fs.readdir(into, { withFileTypes: true })).filter(e =>
    e.isDirectory(),
  );
  if (top.length !== 1)
    throw new InputError(
      'Chart refused: the package must hold exactly one chart directory',
    );
  const unpacked = await filesBelow(into);
  const expected = entries.filter(e => e.type === 'File');
  if (
    unpacked.size !== expected.length ||
    expected.some(e => unpacked.get(e.path) !== e.size)
  )
    throw new InputError(
      'Chart refused: the chart package unpacks to other files than helm reads from it',
    );
  return path.join(into, top[0].name);
}

/**
 * Pulls a chart once into `workDir/<release>/`: `helm pull` for repository and oci:// charts, `helm
 * package` for a chart directory, a copy for a local package. Returns the pinned package (every later
 * helm call of the run uses it), its unpacked copy and its digest. The source must have passed
 * `resolveChartSource`. A chart that cannot be fetched is an InputError that names the chart and host
 * but not helm's text (which may carry internal addresses); that text goes to `onFetchError`.
 * @public
 */
export async function pullChart(options: {
  helm: HelmCli;
  source: ResolvedChartSource;
  release: string;
  workDir: string;
  onFetchError?: (message: string) => void;
  signal?: AbortSignal;
}): Promise<ChartArtifact> {
  const { helm, source, release, workDir } = options;
  validateReleaseName(release);
  const dest = path.join(workDir, release, 'package');
  await fs.mkdir(dest, { recursive: true });
  let described: string;
  if (source.type === 'directory') {
    described = path.basename(source.chart);
    if (source.chart.endsWith('.tgz')) {
      await fs.copyFile(
        source.chart,
        path.join(dest, path.basename(source.chart)),
      );
    } else {
      await helm
        .exec(['package', source.chart, '--destination', dest], {
          signal: options.signal,
        })
        .catch(e => {
          throw new InputError(
            `Chart ${described} could not be packaged: ${(e as Error).message}`,
          );
        });
    }
  } else {
    const args =
      source.type === 'repository'
        ? ['pull', source.chart, '--repo', source.repo]
        : ['pull', source.chart];
    if (source.version) args.push('--version', source.version);
    described =
      source.type === 'repository'
        ? `${source.chart} from ${source.repo}`
        : source.chart;
    await helm
      .exec([...args, '--destination', dest], { signal: options.signal })
      .catch(e => {
        options.onFetchError?.(String((e as Error)?.message ?? e));
        const host = hostOf(
          source.type === 'repository' ? source.repo : source.chart,
        );
        throw new InputError(
          `Chart ${
            source.type === 'repository'
              ? source.chart
              : source.chart.split('/').pop()
          }${
            source.version ? ` version ${source.version}` : ''
          } could not be fetched from ${host}`,
        );
      });
  }
  const archive = await findArchive(dest);
  const directory = await unpack(archive, path.join(workDir, release, 'chart'));
  // A pulled package has a digest of its own (what the repository's index lists); `helm package`
  // stamps the time into its archive, so a chart directory's digest is of its files instead.
  const digest = `sha256:${
    source.type === 'directory'
      ? await filesDigest(path.dirname(directory))
      : createHash('sha256')
          .update(await fs.readFile(archive))
          .digest('hex')
  }`;
  // After the digest, which is of the chart as packaged.
  await unpackSubcharts(directory);
  // Untrusted text, read before helm reads the chart: bounded in bytes and nodes.
  const meta = await readChartYaml(
    directory,
    `Chart.yaml of chart ${described}`,
  );
  if (!meta) throw new InputError('Chart refused: it has no Chart.yaml');
  if (typeof meta.name !== 'string' || !meta.name)
    throw new InputError('Chart refused: its Chart.yaml has no name');
  const version = String(meta.version ?? '');
  if (
    source.version &&
    source.type === 'directory' &&
    version !== source.version
  ) {
    throw new InputError(
      `Chart ${meta.name} in the chart directory is version ${version}, not ${source.version}`,
    );
  }
  return {
    archive,
    directory,
    name: meta.name,
    version,
    digest,
    source: described,
  };
}
