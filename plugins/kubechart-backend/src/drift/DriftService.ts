import { LoggerService } from '@backstage/backend-plugin-api';
import type {
  DriftField,
  DriftNotCompared,
  DriftObject,
  Run,
  RunDrift,
} from '@kubechart/plugin-kubechart-common';
import {
  ClusterDiscovery,
  ClusterRegistry,
  KubeObject,
  parseManifestsInTurns,
  redactObject,
  ScopeRefusal,
  createTextRedactor,
  effectiveNamespace,
  scopeRefusal,
} from '@kubechart/plugin-kubechart-node';
import { AppliedRun, DriftRecord, DriftStore } from '../database/DriftStore';
import { RunStore, ownerOfTarget } from '../database/RunStore';
import { storableText } from '../database/storableText';
import type { EngineSettings } from '../engine/settings';
import { KubeClient } from '../lib/KubeClient';
import {
  describeKubeError,
  isUnreachable,
  kubeStatusCode,
} from '../lib/kubeErrors';
import {
  FieldDifference,
  PathSegment,
  compareObject,
  formatPath,
  shownLive,
  valueAt,
} from './compare';
import {
  DEFAULT_IGNORED_ADDED_FIELDS,
  FieldOwner,
  IgnoredAddedField,
  MAX_OWNERSHIP_FIELDS,
  ManagedFieldsEntry,
  readIgnoredAddedFields,
  readOwnership,
  runAppliers,
} from './fieldOwners';
import {
  NO_BASELINE_MESSAGE,
  asStored,
  baselineDriftMessage,
  baselineObjects,
  wholeSpecDifferences,
} from './baseline';
import {
  MAX_CHANGED_FIELDS_PER_OBJECT,
  RecordListing,
  shownValue,
} from './recordBounds';

export type DriftServiceOptions = {
  runs: RunStore;
  drift: DriftStore;
  clusters: ClusterRegistry;
  /** The engine's client of a cluster (its own identity: it reads every object a run applied). */
  client(cluster: string): KubeClient;
  logger: LoggerService;
  /** Told when a run's drift status or drifted fields change. */
  onDriftChanged?(drift: DriftRecord): void;
  /**
   * The cluster-scoped kinds each cluster allows runs to apply. Without it no cluster-scoped object
   * is read: the drift of a run whose manifest holds one is `unknown`, saying so. `namespaceOwners`:
   * with the tenants, who owns each run's target now (without it, no namespace is assigned).
   */
  settings?: Pick<EngineSettings, 'allowedClusterScopedKinds'> &
    Partial<Pick<EngineSettings, 'namespaceOwners'>>;
  /** The most objects one pass compares (default {@link DEFAULT_MAX_OBJECTS_PER_PASS}). */
  maxObjectsPerPass?: number;
  /**
   * The most fields of an object's managedFields a pass reads to tell who changed its fields (default
   * {@link MAX_OWNERSHIP_FIELDS}); past it, the object's owners are recorded as not known.
   */
  maxOwnershipFieldsPerObject?: number;
  /**
   * Fields other managers add that are not drift (`kubechart.drift.ignoreAddedFields`; default
   * {@link DEFAULT_IGNORED_ADDED_FIELDS}). A path that cannot be read is refused at construction.
   */
  ignoreAddedFields?: readonly IgnoredAddedField[];
};

/**
 * The most live objects one drift pass reads and compares. A pass runs in the backend's process:
 * beyond this the rest of its runs are recorded as not compared, rather than the pass running on.
 */
export const DEFAULT_MAX_OBJECTS_PER_PASS = 5000;

/** The drift record a check of one run found, and whether it differs from the stored one. */
type Checked = { record: DriftRecord; changed: boolean };

/**
 * An object a run applied, where it lives, and why the run could not have applied it there (in
 * another namespace, or cluster-scoped of a kind the cluster does not allow), if so: the engine's
 * run-scope refusal, its reason and the rule apart.
 */
type AppliedObject = {
  key: string;
  object: KubeObject;
  namespace?: string;
  outside?: ScopeRefusal;
  /** Of a tenant run's baseline (see ./baseline); `wholeSpec` when KubeChart owns its spec whole. */
  baseline?: { wholeSpec: boolean };
};

/** How many more objects the pass may compare. */
type PassBudget = { objects: number };

/**
 * The objects a pass has given to a run to compare. Runs kubechart executed take objects from older
 * ones; a run an action recorded (`POST /runs/record`) takes objects only from older recorded runs,
 * and compares none that a newer engine run applied: what an action reports never stands in for
 * what kubechart applied.
 */
type Claims = { engine: Set<string>; recorded: Set<string> };

/** The paths of not-compared fields one record names per object; `count` says how many there are. */
const MAX_NOT_COMPARED_PATHS = 20;
/** The not-compared fields a record's message names. */
const NOT_COMPARED_NAMED = 3;

/** The free-text rules (no known secrets) a live value shown in a record is held to. */
const scrubLiveText = createTextRedactor();

/** The finalizers a record lists of an object being deleted. */
const MAX_FINALIZERS_LISTED = 10;

/** The most added fields (set by other managers, not by the manifest) a record lists per object. */
export const MAX_ADDED_FIELDS_PER_OBJECT = 100;

/**
 * What the comparison of one live object found; `added`: how many fields other managers added, and
 * how many of them the record lists; `unlisted`: the times the changed fields `drifted` leaves out
 * (beyond {@link MAX_CHANGED_FIELDS_PER_OBJECT}) were changed, one entry each (undefined: not known);
 * `ownersNotRead`: the object, when its field ownership is larger than a check reads (who changed its
 * fields, and what other managers added to it, are not known).
 */
type Compared = {
  drifted?: DriftObject;
  notCompared?: DriftNotCompared;
  added?: { count: number; listed: number };
  unlisted?: Array<string | undefined>;
  ownersNotRead?: Named;
};

/** An object a record names in its message. */
type Named = Pick<DriftObject, 'kind' | 'name'>;

const HOOK_ANNOTATION = 'helm.sh/hook';

/** What the record of a run says once its target is another owner's than when the run started. */
export const OWNER_CHANGED_MESSAGE =
  'the target changed owner since the run: its drift is no longer tracked, and nothing of what runs there now is shown (the new owner’s runs are compared)';

function groupOf(apiVersion: string) {
  return apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
}

/**
 * Compares the live objects of every run that is the latest applied on its target with the
 * manifest that run applied, and records the drift (see {@link compareObject}).
 */
export class DriftService {
  private readonly discovery: ClusterDiscovery;
  private readonly ignoreAdded: ReturnType<typeof readIgnoredAddedFields>;

  constructor(private readonly options: DriftServiceOptions) {
    this.discovery = new ClusterDiscovery(options.clusters);
    this.ignoreAdded = readIgnoredAddedFields(
      options.ignoreAddedFields ?? DEFAULT_IGNORED_ADDED_FIELDS,
    );
  }

  /**
   * One pass of the drift job: which runs are current, then each compared with its cluster. An
   * object is compared with the newest run that applied it (a chart run after a tenant run that
   * installed the same release owns that release's objects); a run an action recorded is compared
   * on its own (see {@link Claims}). Resolves the records written.
   */
  async checkAll(): Promise<DriftRecord[]> {
    const latest = await this.options.drift.latestAppliedRuns();
    // A deleted tenant's namespace is gone, with whatever earlier runs put there.
    const deletedAt = new Map<string, number>();
    for (const r of latest) {
      // Only kubechart deletes tenants (a recorded run cannot be a tenant-delete run).
      if (r.kind === 'tenant-delete' && !r.action)
        deletedAt.set(
          `${r.cluster}/${r.namespace}`,
          Math.max(
            r.appliedAt,
            deletedAt.get(`${r.cluster}/${r.namespace}`) ?? 0,
          ),
        );
    }
    const current = latest
      .filter(
        r =>
          r.kind !== 'tenant-delete' &&
          (deletedAt.get(`${r.cluster}/${r.namespace}`) ?? 0) < r.appliedAt,
      )
      .sort((a, b) => b.appliedAt - a.appliedAt || a.id.localeCompare(b.id));
    const claimed: Claims = { engine: new Set(), recorded: new Set() };
    const checked: Checked[] = [];
    const budget: PassBudget = {
      objects: this.options.maxObjectsPerPass ?? DEFAULT_MAX_OBJECTS_PER_PASS,
    };
    // Who owns each target now, as runs record who owned it when they started.
    const tenants = await this.options.runs.getTenants();
    const owners = this.options.settings?.namespaceOwners ?? {};
    const ownerNow = (r: AppliedRun) =>
      storableText(ownerOfTarget(tenants, r, owners[r.cluster]?.[r.namespace]));
    for (const applied of current) {
      try {
        const result = await this.checkApplied(
          applied,
          claimed,
          budget,
          ownerNow(applied),
        );
        if (result) checked.push(result);
      } catch (e) {
        this.options.logger.warn(
          `Drift of run ${applied.id} was not recorded: ${e}`,
        );
      }
    }
    const written = checked.map(c => c.record);
    // The pass's records replace the previous ones at once: readers never see a superseded run's
    // record beside its successor's (nor a record whose run another run's objects were claimed by).
    const removed = await this.options.drift.replaceAll(written);
    for (const c of checked)
      if (c.changed) this.options.onDriftChanged?.(c.record);
    // A record that is gone (superseded, or its check failed) is a change the pages must hear of too.
    for (const r of removed) this.options.onDriftChanged?.(r);
    return written;
  }

  /**
   * The record of one run. A run whose target is another owner's now than when it started is not
   * compared (nor one whose target's owner was not recorded): what runs there is not what its
   * readers may see. Like a run of a deleted tenant, it takes no object from older runs.
   */
  private async checkApplied(
    applied: AppliedRun,
    claimed: Claims,
    budget: PassBudget,
    ownerNow: string,
  ): Promise<Checked | undefined> {
    const run = await this.options.runs.getRun(applied.id);
    if (!run) return undefined;
    const checkedAt = new Date().toISOString();
    const base = {
      runId: run.id,
      target: run.target,
      ...(run.entityRef ? { entityRef: run.entityRef } : {}),
      actor: run.actor,
      // What an action reported, not what kubechart applied: said so on the record.
      ...(run.action ? { reportedByAction: run.action } : {}),
      checkedAt,
    };
    // A run from before owners were recorded takes the owner its target has when drift first
    // compares it (another replica's pass may record it at the same time, with the owner it read):
    // from then on an owner change ends its drift as it ends any run's.
    if (applied.targetOwner === undefined)
      await this.options.drift.adoptTargetOwner(run.id, ownerNow);
    if (applied.targetOwner !== undefined && applied.targetOwner !== ownerNow) {
      return this.record(run, {
        ...base,
        status: 'unknown',
        objects: [],
        message: OWNER_CHANGED_MESSAGE,
      });
    }
    if (!this.options.clusters.has(run.target.cluster)) {
      return this.record(run, {
        ...base,
        status: 'unknown',
        objects: [],
        message: `cluster ${run.target.cluster} is not configured`,
      });
    }
    let objects: AppliedObject[];
    try {
      objects = await this.appliedObjects(run);
    } catch (e) {
      return this.record(run, {
        ...base,
        status: 'unknown',
        objects: [],
        message: this.describe(e, run, 'the run’s manifest could not be read'),
      });
    }
    // A run writes only to its own namespace (and, through the engine's policy, to cluster-scoped
    // kinds the cluster allows). A stored manifest naming anything else is not what the run could
    // apply, whoever ran it (an engine run keeps the manifest of a release record in the tenant's
    // namespace when it upgrades nothing and the record is what it rendered): none of it is read,
    // with the engine's identity, into a record its readers see. The reasons are listed, then the
    // rule once (it is the same for every object of the run).
    const outside = objects.flatMap(o => (o.outside ? [o.outside] : []));
    if (outside.length) {
      const allowed = this.allowedKinds(run);
      const { rule } = outside[0];
      return this.record(run, {
        ...base,
        status: 'unknown',
        objects: [],
        message: `the run’s manifest holds ${
          outside.length
        } object(s) outside its namespace ${
          run.target.namespace
        }, which drift does not read: ${outside
          .slice(0, 3)
          .map(o => o.reason)
          .join('; ')}${outside.length > 3 ? '; …' : ''}; ${rule}${
          allowed.length
            ? ` and to the cluster-scoped kinds cluster ${
                run.target.cluster
              } allows (${allowed.join(', ')})`
            : ''
        }`,
      });
    }
    // A newer engine run's objects are its own; a recorded run takes no object from any engine run.
    const mine = run.action ? claimed.recorded : claimed.engine;
    const own = objects.filter(
      o => !claimed.engine.has(o.key) && !mine.has(o.key),
    );
    objects.forEach(o => mine.add(o.key));
    // A tenant run KubeChart executed also applied its baseline (quota, limits, network policy, tenant
    // resources), recorded on the run: compared too, and never taken by another run. Not recorded: unknown.
    let baseline: AppliedObject[] = [];
    if (run.kind === 'tenant' && !run.action) {
      const recorded = await this.options.runs.getBaseline(run.id);
      if (!recorded)
        return this.record(run, {
          ...base,
          status: 'unknown',
          objects: [],
          message: NO_BASELINE_MESSAGE,
        });
      baseline = baselineObjects(run, recorded).map(b => ({
        // Never claimed: no other run applies a tenant's baseline.
        key: '',
        object: b.object,
        namespace: b.namespace,
        baseline: { wholeSpec: b.wholeSpec },
      }));
    }
    // Every object it applied was applied again by a newer run: that run's drift says it all.
    if (objects.length > 0 && own.length === 0 && baseline.length === 0)
      return undefined;
    // A recorded tenant run without releases reported no manifest.
    if (objects.length === 0 && run.kind === 'tenant' && !baseline.length)
      return undefined;
    if (objects.length === 0 && !baseline.length && !run.manifest?.trim()) {
      return this.record(run, {
        ...base,
        status: 'unknown',
        objects: [],
        message: 'the run recorded no manifest to compare',
      });
    }
    // What the record lists is bounded (see ./recordBounds); its status and message count everything.
    const listing = new RecordListing();
    let drifted = 0;
    const baselineDrift: Array<Named & Pick<DriftObject, 'state'>> = [];
    const deleting: Array<Named & Pick<DriftObject, 'deletion'>> = [];
    let firstChanged: string | undefined;
    const secretFields: DriftNotCompared[] = [];
    const addedIn: Array<{ object: Named; count: number; listed: number }> = [];
    const ownersNotRead: Named[] = [];
    let notCompared = 0;
    const compared = [...baseline, ...own];
    try {
      for (const o of compared) {
        if (budget.objects <= 0) {
          notCompared++;
          continue;
        }
        budget.objects--;
        // Other requests are served between objects: a pass of many large objects does not hold
        // the backend's event loop.
        await new Promise(resolve => setImmediate(resolve));
        // A run an action recorded applied with managers not known: fields other managers added
        // are not looked for.
        const c = await this.compare(run.target.cluster, o, !run.action);
        if (c.drifted) {
          const { kind, name, state } = c.drifted;
          drifted++;
          if (c.drifted.baseline) baselineDrift.push({ kind, name, state });
          if (state === 'deleting')
            deleting.push({ kind, name, deletion: c.drifted.deletion });
          if (c.added) addedIn.push({ object: { kind, name }, ...c.added });
          firstChanged = firstChange(
            [...c.drifted.fields.map(f => f.changedAt), ...(c.unlisted ?? [])],
            run.finishedAt,
            firstChanged,
          );
          listing.addObject(c.drifted, c.unlisted?.length);
        }
        if (c.notCompared) {
          secretFields.push(c.notCompared);
          listing.addNotCompared(c.notCompared);
        }
        if (c.ownersNotRead) ownersNotRead.push(c.ownersNotRead);
      }
    } catch (e) {
      return this.record(run, {
        ...base,
        status: 'unknown',
        objects: [],
        message: this.describe(e, run, 'the live objects could not be read'),
      });
    }
    // Fields whose values history holds redacted were not compared: the record names them and never
    // counts them as matching (an in-sync record says "in sync except…").
    const secrets = listing.notCompared.length
      ? { notCompared: listing.notCompared }
      : undefined;
    if (notCompared > 0) {
      // What was not compared may have drifted: the run is neither in sync nor known to be drifted only there.
      return this.record(run, {
        ...base,
        status: 'unknown',
        objects: listing.objects,
        ...secrets,
        message: [
          `${notCompared} of the ${
            compared.length
          } objects the run applied were not compared: a drift pass compares at most ${
            this.options.maxObjectsPerPass ?? DEFAULT_MAX_OBJECTS_PER_PASS
          } objects`,
          notComparedMessage('unknown', secretFields),
          deletingMessage(deleting),
          addedFieldsMessage(addedIn),
          this.ownersNotReadMessage(ownersNotRead, !run.action),
          listing.message(),
        ]
          .filter(Boolean)
          .join('; '),
      });
    }
    // An object whose ownership was not read may hold fields other managers added: never in sync.
    let status: RunDrift['status'] = 'in-sync';
    if (drifted) status = 'drifted';
    else if (ownersNotRead.length) status = 'unknown';
    const message =
      [
        deletingMessage(deleting),
        notComparedMessage(status, secretFields),
        baselineDrift.length ? baselineDriftMessage(baselineDrift) : undefined,
        addedFieldsMessage(addedIn),
        this.ownersNotReadMessage(ownersNotRead, !run.action),
        listing.message(),
      ]
        .filter(Boolean)
        .join('; ') || undefined;
    return this.record(
      run,
      {
        ...base,
        status,
        objects: listing.objects,
        ...secrets,
        ...(message ? { message } : {}),
      },
      firstChanged,
    );
  }

  /**
   * What a record says of the objects whose field ownership was not read, being larger than a check
   * reads: who changed their fields and when, and what other managers added to them (`added`: when
   * that is looked for), are not known.
   */
  private ownersNotReadMessage(
    objects: Named[],
    added: boolean,
  ): string | undefined {
    if (!objects.length) return undefined;
    const one = objects.length === 1;
    const named = objects
      .slice(0, NOT_COMPARED_NAMED)
      .map(o => `${o.kind}/${o.name}`);
    const list = one
      ? named[0]
      : `${objects.length} objects (${named.join(', ')}${
          objects.length > named.length ? ', …' : ''
        })`;
    const max =
      this.options.maxOwnershipFieldsPerObject ?? MAX_OWNERSHIP_FIELDS;
    return `the field ownership (metadata.managedFields) of ${list} was not read: ${
      one ? 'it holds' : 'each holds'
    } more than ${max} fields, the most a drift check reads of one object; who changed ${
      one ? 'its' : 'their'
    } fields and when${
      added
        ? `, and which fields other field managers added to ${
            one ? 'it' : 'them'
          }, are`
        : ' is'
    } not known`;
  }

  /** The cluster-scoped kinds a run could apply: none for a run an action recorded. */
  private allowedKinds(run: Run): string[] {
    if (run.action) return [];
    return (
      this.options.settings?.allowedClusterScopedKinds[run.target.cluster] ?? []
    );
  }

  private describe(e: unknown, run: Run, what: string) {
    const kubeError = kubeStatusCode(e) !== undefined || isUnreachable(e);
    return `${what}: ${
      kubeError
        ? describeKubeError(e, run.target.cluster)
        : String((e as Error)?.message ?? e).split('\n')[0]
    }`;
  }

  /** The objects of the run's manifest (hooks aside: helm runs and deletes them), with where they live. */
  private async appliedObjects(run: Run): Promise<AppliedObject[]> {
    // A document per turn of the event loop: a run's manifest may be megabytes, read every pass.
    const parsed = (await parseManifestsInTurns(run.manifest ?? '')).filter(
      o =>
        typeof o.apiVersion === 'string' &&
        typeof o.kind === 'string' &&
        typeof o.metadata?.name === 'string' &&
        !o.metadata?.annotations?.[HOOK_ANNOTATION],
    );
    if (parsed.length === 0) return [];
    const isNamespaced = await this.discovery.lookup(
      run.target.cluster,
      parsed,
    );
    // The engine's run-scope rule, with the run's one namespace and the kinds it could apply.
    const scope = {
      namespaces: [run.target.namespace],
      defaultNamespace: run.target.namespace,
      allowedClusterScopedKinds: this.allowedKinds(run),
      isNamespaced,
    };
    return parsed.map(object => {
      const namespaced =
        isNamespaced(String(object.apiVersion), String(object.kind)) !== false;
      // Where the run-scope rule and helm place it (`namespace: ""` too), never client-node's `default`.
      const namespace = namespaced
        ? effectiveNamespace(object, run.target.namespace)
        : undefined;
      const key = [
        run.target.cluster,
        groupOf(String(object.apiVersion)),
        object.kind,
        namespace ?? '',
        object.metadata!.name,
      ].join('/');
      const outside = scopeRefusal(object, scope);
      return { key, object, namespace, ...(outside ? { outside } : {}) };
    });
  }

  private async compare(
    cluster: string,
    applied: AppliedObject,
    findAdded: boolean,
  ): Promise<Compared> {
    const { object, namespace } = applied;
    const id = {
      apiVersion: String(object.apiVersion),
      kind: String(object.kind),
      ...(namespace ? { namespace } : {}),
      name: String(object.metadata!.name),
    };
    const live = await this.options.client(cluster).read<KubeObject>({
      apiVersion: id.apiVersion,
      kind: id.kind,
      metadata: { name: id.name, ...(namespace ? { namespace } : {}) },
    });
    const mark = applied.baseline ? { baseline: true } : {};
    if (!live)
      return { drifted: { ...id, state: 'missing', fields: [], ...mark } };
    // Deleted (`kubectl delete`) and still answered: held by its finalizers (a PVC a pod mounts, an
    // object a controller finalizes) or in its grace period, then gone. Whatever its fields still
    // hold, it is not what the run left: never in sync.
    const deletion = deletionOf(live);
    if (deletion)
      return {
        drifted: { ...id, state: 'deleting', fields: [], deletion, ...mark },
      };
    const skipped: PathSegment[][] = [];
    // An object KubeChart owns whole is compared as stored (the server's defaults), then whole.
    const whole = applied.baseline?.wholeSpec;
    let differences = compareObject(
      whole ? asStored(object) : object,
      live,
      skipped,
    );
    if (whole && differences.length === 0)
      differences = wholeSpecDifferences(object, live);
    const notCompared: DriftNotCompared | undefined = skipped.length
      ? {
          ...id,
          count: skipped.length,
          fields: skipped.slice(0, MAX_NOT_COMPARED_PATHS).map(formatPath),
        }
      : undefined;
    const managedFields = live.metadata?.managedFields as
      | ManagedFieldsEntry[]
      | undefined;
    // Who changed each changed field, and the fields a manager other than helm and the engine set
    // that the manifest does not (a container added with kubectl edit): read from the live object's
    // field ownership, once, with turns of the event loop between parts. Whoever may write the
    // object can grow it (a write under each of thousands of field manager names): past a bound,
    // none of it is read and the object's owners are not known.
    const ownership =
      differences.length > 0 || findAdded
        ? await readOwnership(managedFields, {
            paths: differences.map(d => d.segments),
            ...(findAdded
              ? {
                  added: {
                    applied: whole ? asStored(object) : object,
                    live,
                    appliers: runAppliers(
                      this.options.client(cluster).fieldManager ?? 'kubechart',
                    ),
                    ignore: this.ignoreAdded,
                  },
                }
              : {}),
            maxFields:
              this.options.maxOwnershipFieldsPerObject ?? MAX_OWNERSHIP_FIELDS,
          })
        : { owners: [], added: [] };
    const read = 'notRead' in ownership ? undefined : ownership;
    const ownersNotRead = read ? undefined : { kind: id.kind, name: id.name };
    const owners = read?.owners ?? [];
    // Beyond the differences already found.
    const differing = differences.map(d => formatPath(d.segments));
    const differingSet = new Set(differing);
    const allAdded = (read?.added ?? []).filter(
      a =>
        // Not under a difference already found (each prefix looked up: linear in the fields).
        !a.segments.some((_, i) =>
          differingSet.has(formatPath(a.segments.slice(0, i + 1))),
        ),
    );
    if (differences.length === 0 && allAdded.length === 0)
      return {
        ...(notCompared ? { notCompared } : {}),
        ...(ownersNotRead ? { ownersNotRead } : {}),
      };
    // Listed up to a bound per object; the record's message counts the rest.
    const added = allAdded.slice(0, MAX_ADDED_FIELDS_PER_OBJECT);
    const listedDifferences = differences.slice(
      0,
      MAX_CHANGED_FIELDS_PER_OBJECT,
    );
    // What is shown of the live object is redacted like history (Secret data, secret-looking env
    // values), and none of a live value whose applied one history holds redacted. Its text is the
    // cluster's, not the run's: held to the text rules, as health and the assistant show it (a
    // password someone put into a URL by hand, a `password=` pair, a bearer token).
    const shown = redactObject(live, { scrub: scrubLiveText });
    const owned: Array<FieldDifference & { owner?: FieldOwner }> = [
      ...listedDifferences.map((d, i) => ({ ...d, owner: owners[i] })),
      // No value: the manifest holds none of it, and what another manager added may hold a secret
      // the redaction rules do not know (a connection string, a token in an annotation or an arg).
      ...added.map(a => ({
        segments: a.segments,
        expected: undefined,
        actual: undefined,
        owner: a as FieldOwner,
        added: true,
      })),
    ];
    // A value longer than a record shows is shown as its size (after redaction: never a secret's).
    const fields: DriftField[] = owned.map(d => {
      const owner = d.owner;
      const actual =
        'added' in d
          ? undefined
          : shownValue(
              shownLive(d.expected, valueAt(shown, d.segments), d.segments),
            );
      return {
        path: formatPath(d.segments),
        ...(d.expected !== undefined
          ? { expected: shownValue(d.expected) }
          : {}),
        ...(actual !== undefined ? { actual } : {}),
        ...('added' in d ? { added: true as const } : {}),
        ...(owner
          ? {
              manager: owner.manager,
              ...(owner.time ? { changedAt: owner.time } : {}),
            }
          : {}),
      };
    });
    return {
      drifted: { ...id, state: 'changed', fields, ...mark },
      ...(notCompared ? { notCompared } : {}),
      ...(allAdded.length
        ? { added: { count: allAdded.length, listed: added.length } }
        : {}),
      ...(differences.length > listedDifferences.length
        ? {
            unlisted: differences
              .slice(listedDifferences.length)
              .map((_, i) => owners[listedDifferences.length + i]?.time),
          }
        : {}),
      ...(ownersNotRead ? { ownersNotRead } : {}),
    };
  }

  /**
   * The record of a check, with `since` carried over while the status stays, and whether it changed.
   * `firstChanged`: when a field of a drifted record was first changed after the run, if known.
   */
  private async record(
    run: Run,
    next: Omit<DriftRecord, 'since'>,
    firstChanged?: string,
  ): Promise<Checked> {
    const previous = await this.options.drift.get(run.id);
    let since: string;
    if (previous && previous.status === next.status) {
      since = previous.since;
    } else if (next.status === 'in-sync') {
      since = previous ? next.checkedAt : run.finishedAt ?? next.checkedAt;
    } else if (next.status === 'drifted') {
      since = firstChanged ?? next.checkedAt;
    } else {
      since = next.checkedAt;
    }
    const record: DriftRecord = { ...next, since };
    const changed =
      !previous ||
      previous.status !== record.status ||
      JSON.stringify(previous.objects) !== JSON.stringify(record.objects) ||
      JSON.stringify(previous.notCompared) !==
        JSON.stringify(record.notCompared) ||
      previous.reportedByAction !== record.reportedByAction ||
      previous.message !== record.message;
    return { record, changed };
  }
}

/**
 * What a record says of the fields it did not compare (their values are stored redacted): `in sync
 * except 1 field that holds a secret, which drift cannot compare (…): Secret/db data.password`.
 */
function notComparedMessage(
  status: RunDrift['status'],
  notCompared: DriftNotCompared[],
): string | undefined {
  const count = notCompared.reduce((n, o) => n + o.count, 0);
  if (count === 0) return undefined;
  const fields =
    count === 1
      ? '1 field that holds a secret'
      : `${count} fields that hold secrets`;
  const named = notCompared
    .flatMap(o => o.fields.map(f => `${o.kind}/${o.name} ${f}`))
    .slice(0, NOT_COMPARED_NAMED);
  const list = `${named.join(', ')}${count > named.length ? ', …' : ''}`;
  const why = `drift cannot compare (history stores ${
    count === 1 ? 'it' : 'them'
  } redacted)`;
  return status === 'in-sync'
    ? `in sync except ${fields}, which ${why}: ${list}`
    : `${fields} ${
        count === 1 ? 'was' : 'were'
      } not compared, as ${why}: ${list}`;
}

/**
 * What a record says of the fields other managers added (listed with their path and manager, no
 * value): a re-apply does not remove them, and how many of them are not listed.
 */
function addedFieldsMessage(
  added: Array<{ object: Named; count: number; listed: number }>,
): string | undefined {
  const count = added.reduce((n, a) => n + a.count, 0);
  if (count === 0) return undefined;
  const unlisted = added
    .filter(a => a.count > a.listed)
    .map(
      a => `${a.object.kind}/${a.object.name}: and ${a.count - a.listed} more`,
    );
  return `${count} field${count === 1 ? '' : 's'} the manifest does not set ${
    count === 1 ? 'was' : 'were'
  } added by other field managers${
    unlisted.length
      ? ` (${MAX_ADDED_FIELDS_PER_OBJECT} listed per object; ${unlisted.join(
          ', ',
        )})`
      : ''
  }; a re-apply does not remove ${count === 1 ? 'it' : 'them'}: remove ${
    count === 1 ? 'it' : 'them'
  } by hand or replace the object`;
}

/**
 * The earliest of the times fields were changed (managedFields times) that is after the run ended,
 * or `earliest` (the earliest found before), if any is known.
 */
function firstChange(
  changed: Array<string | undefined>,
  after: string | undefined,
  earliest: string | undefined,
): string | undefined {
  const times = changed.filter(
    (t): t is string =>
      !!t && (!after || Date.parse(t) >= Date.parse(after) - 1000),
  );
  return [...times, ...(earliest ? [earliest] : [])].sort()[0];
}

/**
 * When a live object was marked for deletion and the finalizers that hold it (the first
 * {@link MAX_FINALIZERS_LISTED}, held to the text rules of live values), or undefined when it is
 * not being deleted.
 */
function deletionOf(live: KubeObject): DriftObject['deletion'] {
  const at = live.metadata?.deletionTimestamp;
  if (!at) return undefined;
  const finalizers = live.metadata?.finalizers;
  return {
    timestamp: at instanceof Date ? at.toISOString() : String(at),
    finalizers: (Array.isArray(finalizers) ? finalizers : [])
      .slice(0, MAX_FINALIZERS_LISTED)
      .map(f => scrubLiveText(String(f))),
  };
}

/**
 * What a record says of the objects being deleted (the first {@link NOT_COMPARED_NAMED}): when
 * each was marked for deletion, and what holds it.
 */
function deletingMessage(
  objects: Array<Named & Pick<DriftObject, 'deletion'>>,
): string | undefined {
  if (objects.length === 0) return undefined;
  const named = objects.slice(0, NOT_COMPARED_NAMED).map(o => {
    const finalizers = o.deletion?.finalizers ?? [];
    const held = finalizers.length
      ? `, held by ${
          finalizers.length === 1 ? 'finalizer' : 'finalizers'
        } ${finalizers.join(', ')}`
      : '';
    return `${o.kind}/${o.name} is being deleted (marked for deletion at ${
      o.deletion?.timestamp
    }${held}): it is gone once ${
      finalizers.length ? 'its finalizers are removed' : 'its grace period ends'
    }`;
  });
  const more = objects.length - named.length;
  return `${named.join('; ')}${
    more > 0 ? `; and ${more} more object(s) being deleted` : ''
  }`;
}

/** The drift as the API returns it (who started the run stays on the server). */
export function toRunDrift(record: DriftRecord): RunDrift {
  const { actor: _actor, ...drift } = record;
  return drift;
}
