import { InputError } from '@backstage/errors';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readChartYaml, readValuesYaml } from '../helm/chartYaml';

const MAX_FILE_BYTES = 2 * 1024 * 1024;
const MAX_TEMPLATE_FILES = 500;
const MAX_DEPTH = 32;
const MAX_WARNINGS = 100;

const isMapping = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === 'object' && !Array.isArray(v);
const has = (o: Record<string, unknown>, k: string) =>
  Object.prototype.hasOwnProperty.call(o, k);

async function readOptional(file: string): Promise<string | undefined> {
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) return undefined;
    if (stat.size > MAX_FILE_BYTES)
      throw new InputError(
        `${path.basename(
          file,
        )} of the chart is larger than ${MAX_FILE_BYTES} bytes`,
      );
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Most `.Values` paths kept of a chart's templates, the prefixes of each path included (`.Values.a.b`
 * is two: `a` and `a.b`), and most characters they hold together: far more than any real chart
 * refers to. A chart past either is read as using `.Values` as a whole (no unknown-value warnings),
 * so what its templates cost to read stays bounded, in time and memory, whatever they hold.
 * @internal
 */
export const MAX_VALUES_REFERENCES = 20_000;
/** @internal */
export const MAX_REFERENCE_CHARS = 1_000_000;

/** One turn of the event loop: what is waiting (other requests, I/O) runs first. */
const nextTurn = () => new Promise<void>(resolve => setImmediate(resolve));

/**
 * `.Values.a.b` paths the chart's templates refer to, each with its prefixes (`a`, `a.b`), and which
 * of them have a longer path below them (`a`). Adding a path costs its length for each path it adds,
 * so reading a chart costs at most its text plus what the bounds allow to be kept.
 * @internal
 */
export class ValuesReferences {
  /** Every path referred to, and every prefix of one. */
  readonly paths = new Set<string>();
  /** The paths that are a strict prefix of another (`a` of `a.b`). */
  readonly parents = new Set<string>();
  private chars = 0;

  /** Adds `.Values.<ref>`; false once past the bounds. */
  add(ref: string): boolean {
    const full = ref.split('.').filter(Boolean).join('.');
    if (!full || this.paths.has(full)) return true;
    this.keep(full);
    // Shortest last: a prefix already a parent has its own prefixes kept as parents already.
    for (let dot = full.lastIndexOf('.'); dot > 0; ) {
      const prefix = full.slice(0, dot);
      if (this.parents.has(prefix)) break;
      this.parents.add(prefix);
      this.keep(prefix);
      dot = full.lastIndexOf('.', dot - 1);
    }
    return (
      this.paths.size <= MAX_VALUES_REFERENCES &&
      this.chars <= MAX_REFERENCE_CHARS
    );
  }

  private keep(p: string) {
    if (this.paths.has(p)) return;
    this.paths.add(p);
    this.chars += p.length;
  }
}

/**
 * `.Values.a.b` paths the chart's templates refer to (with their prefixes; see
 * {@link ValuesReferences}); `undefined` when a template uses `.Values` as a whole, or the
 * templates refer to more than {@link MAX_VALUES_REFERENCES} paths or {@link MAX_REFERENCE_CHARS}
 * characters of them, which is read the same way.
 * @internal
 */
export async function templateReferences(
  chartDir: string,
): Promise<ValuesReferences | undefined> {
  const refs = new ValuesReferences();
  let files = 0;
  let whole = false;
  const visit = async (dir: string): Promise<void> => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (files >= MAX_TEMPLATE_FILES || whole) return;
      const full = path.join(dir, e.name);
      if (e.isDirectory()) await visit(full);
      else if (e.isFile() && /\.(ya?ml|tpl|txt|json)$/.test(e.name)) {
        files++;
        const text = await readOptional(full);
        if (!text) continue;
        if (
          /\.Values\s{0,8}[|)}]|index \$?\.Values\s|\$?\.Values\s{0,8}\}\}/.test(
            text,
          )
        ) {
          whole = true;
          return;
        }
        // Linear patterns: a literal prefix, then one bounded character class.
        for (const m of text.matchAll(/\.Values\.([A-Za-z0-9_.]{1,512})/g)) {
          if (!refs.add(m[1])) {
            whole = true; // past the bounds: read as a whole
            return;
          }
        }
        await nextTurn();
      }
    }
  };
  await visit(path.join(chartDir, 'templates'));
  return whole ? undefined : refs;
}

/** What a JSON schema says about key `k` of an object: declared, and whether its children are free-form. */
function schemaChild(
  schema: unknown,
  k: string,
): { declared: boolean; open: boolean; child?: unknown } {
  if (!isMapping(schema)) return { declared: false, open: false };
  const props = isMapping(schema.properties) ? schema.properties : {};
  if (has(props, k)) {
    const child = props[k];
    const open =
      !isMapping(child) ||
      (child.type === undefined && child.properties === undefined) ||
      isMapping(child.additionalProperties) ||
      child.additionalProperties === true;
    return { declared: true, open, child };
  }
  // additionalProperties given as a schema (or true), or patternProperties: a map whose keys the chart does not list.
  if (
    isMapping(schema.additionalProperties) ||
    schema.additionalProperties === true ||
    isMapping(schema.patternProperties)
  ) {
    return { declared: true, open: true };
  }
  return { declared: false, open: false };
}

/**
 * Values keys the chart does not know: neither in its `values.yaml`, nor declared by its
 * `values.schema.json`, nor referred to as `.Values.<path>` by its templates. Keys of subcharts and
 * `global` are left alone, as are children of free-form maps (an empty `{}` default, a schema
 * `additionalProperties`). Returns one warning per unknown key, e.g.
 * "value `privileged` is not used by chart kubechart-service". `chartDir` is an unpacked chart.
 * A chart whose templates refer to more `.Values` paths than {@link MAX_VALUES_REFERENCES} (or
 * {@link MAX_REFERENCE_CHARS} characters of them) gets no warnings, as one that uses `.Values` as
 * a whole; its Chart.yaml is read within the bounds `pullChart` reads it with, its values.yaml
 * within the same kind of bounds (bytes, nodes, depth, aliases): past them the chart is refused.
 * @public
 */
export async function findUnknownValues(
  values: Record<string, unknown>,
  chartDir: string,
): Promise<string[]> {
  const chart: Record<string, any> | undefined = await readChartYaml(
    chartDir,
    `Chart.yaml of chart ${path.basename(chartDir)}`,
  );
  if (chart === undefined)
    throw new InputError(
      `${chartDir} is not an unpacked chart (no Chart.yaml)`,
    );
  const chartName = String(chart.name ?? path.basename(chartDir));
  const defaults =
    (await readValuesYaml(chartDir, `values.yaml of chart ${chartName}`)) ?? {};
  const schemaText = await readOptional(
    path.join(chartDir, 'values.schema.json'),
  );
  let schema: unknown;
  try {
    schema = schemaText ? JSON.parse(schemaText) : undefined;
  } catch {
    throw new InputError(
      `values.schema.json of chart ${chartName} is not valid JSON`,
    );
  }
  const refs = await templateReferences(chartDir);
  if (!refs) return []; // a template passes .Values on as a whole: any key may be used
  const subcharts = new Set<string>(['global']);
  for (const d of Array.isArray(chart.dependencies) ? chart.dependencies : []) {
    if (d?.name) subcharts.add(String(d.alias ?? d.name));
  }
  try {
    for (const e of await fs.readdir(path.join(chartDir, 'charts')))
      subcharts.add(e.replace(/-\d[^/]*\.tgz$/, ''));
  } catch {
    // no charts/ directory
  }

  const warnings: string[] = [];
  const walk = (
    user: Record<string, unknown>,
    dflt: unknown,
    sch: unknown,
    prefix: string[],
  ) => {
    for (const k of Object.keys(user)) {
      if (warnings.length >= MAX_WARNINGS) return;
      const p = [...prefix, k];
      const key = p.join('.');
      if (prefix.length === 0 && subcharts.has(k)) continue;
      const inDefaults = isMapping(dflt) && has(dflt, k);
      const s = schemaChild(sch, k);
      if (!inDefaults && !s.declared && !refs.paths.has(key)) {
        warnings.push(`value \`${key}\` is not used by chart ${chartName}`);
        continue;
      }
      const child = user[k];
      if (!isMapping(child) || p.length >= MAX_DEPTH) continue;
      const d = inDefaults ? (dflt as Record<string, unknown>)[k] : undefined;
      const freeForm =
        s.open ||
        (inDefaults && (!isMapping(d) || Object.keys(d).length === 0)) ||
        (!inDefaults && !s.declared) || // known from templates only: children cannot be told apart
        (refs.paths.has(key) && !refs.parents.has(key)); // handed on whole (toYaml)
      if (!freeForm) walk(child, d, s.child, p);
    }
  };
  walk(values ?? {}, defaults, schema, []);
  return warnings;
}
