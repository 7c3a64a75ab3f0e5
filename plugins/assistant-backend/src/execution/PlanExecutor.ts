import {
  CLUSTER_SCOPED_RESOURCES,
  DEFAULT_LOG_TAIL_LINES,
  ExecutionResult,
  Plan,
  PlanResource,
  kindOf,
  scopedPlanSchema,
} from '@kubechart/plugin-assistant-common';
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  ServerConfiguration,
  createConfiguration,
} from '@kubernetes/client-node';
import {
  InputError,
  NotFoundError,
  NotImplementedError,
  ServiceUnavailableError,
} from '@backstage/errors';
import yaml from 'js-yaml';
import { withDeadline } from '@kubechart/plugin-audit-log-common';
import {
  ChangeTracker,
  ChangedObjects,
  progressOf,
  withProgress,
} from './changeProgress';
import { clusterAnswerOf, statusMessageOf } from './clusterAnswer';
import { AnswerTooLong, getJson, inTurn, resourcePath } from './clusterRead';
import { diagnose } from './diagnose';
import {
  DEFAULT_DEPLOYER_NAMESPACE,
  DEFAULT_DEPLOYER_SERVICE_ACCOUNT,
  guardedTargetsOf,
  refuseGuarded,
} from './guardedTargets';
import { rolloutStatus } from './rolloutStatus';
import { topTable } from './top';
import { addressed, changeBody, mergePatchTo } from './requests';
import { RESOURCE_TYPES } from './resources';
import { KubeObject, TableRows, age, applySort } from './tables';
import { labelSelectorOf, ownedBy } from './selectors';
import {
  kubectlJson,
  kubectlYaml,
  kubectlYamlError,
  kubectlYamlUnsupported,
} from './kubectlPrint';
import { redactObject, scrubText, scrubbedStart } from '../redaction/redact';

/**
 * Most bytes of log one answer reads from the cluster, all containers together: each read asks
 * (`limitBytes`) for what is left, and the reads stop when nothing is.
 */
const MAX_LOG_BYTES = 64 * 1024;
const MAX_LOG_PODS = 5;
/** Containers of one pod whose logs one answer reads at most. */
const MAX_LOG_CONTAINERS = 10;
/** Containers not read named in an answer; the rest are counted. */
const NOT_READ_NAMED = 10;
/** Events of one described object shown at most, the newest; a note says how many there were. */
const MAX_DESCRIBED_EVENTS = 20;
/** Most characters of the reason a log could not be read. */
const MAX_LOG_ERROR_CHARS = 500;
/** Bytes of one container's log the API server sends at most (`limitBytes`), unless set lower. */
const DEFAULT_MAX_LOG_BYTES = MAX_LOG_BYTES;
const MAX_SELECTOR_MUTATIONS = 50;

/**
 * Most bytes one answer reads from the cluster, all its reads together (32 MiB, unless set
 * otherwise): the objects a question reaches are read, parsed and held within it. A listing stops
 * there (a table says so, and shows what it read); any other read past it is refused.
 */
export const DEFAULT_MAX_READ_BYTES = 32 * 1024 * 1024;
/**
 * Most bytes read from clusters that all answers under way hold together, when not set otherwise:
 * as much as two answers read at their most. Parsed, objects take several times their bytes.
 */
export const readBytesAtOnceFor = (maxReadBytes: number) => 2 * maxReadBytes;
/**
 * Most bytes of one answer of the cluster (one page of a list, one object): parsed in one turn of
 * the event loop. A page that would be longer is asked again for fewer objects; one object longer
 * than this (the API server keeps objects far smaller) is not read.
 */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;
/** Most bytes of the metrics API's answer for `top`, which is not read in pages. */
const MAX_METRICS_BYTES = 8 * 1024 * 1024;
/**
 * Most fields (values of an object, keys and list entries together) one answer prints as YAML,
 * JSON or a description: printing and hiding secrets take time for each field, in one turn of the
 * event loop per object. An object with more is not printed.
 */
export const MAX_PRINTED_FIELDS = 10_000;
/**
 * Most characters (its JSON's) of the objects one answer prints as YAML, JSON or a description:
 * writing YAML takes time for each character of a value, and kubectl's key order for each of a key.
 */
export const MAX_PRINTED_CHARS = 256 * 1024;

/**
 * Most characters of one table cell (or event message of a description) shown; the rest is counted
 * ("… (N more characters)"). An event's message may quote an image name of megabytes.
 */
export const MAX_CELL_CHARS = 2000;
/** Characters of table cells scrubbed between two turns of the event loop. */
const MAX_SCRUBBED_PER_TURN = 256 * 1024;

/**
 * What all answers under way hold of what they read from clusters (in bytes, as read), against what
 * they may hold together: one for the executor, so for the backend.
 */
class HeldReads {
  private held = 0;
  constructor(readonly max: number) {}
  /** Holds `bytes` more, unless that would be more than all may hold (then holds nothing). */
  take(bytes: number): boolean {
    if (this.held + bytes > this.max) return false;
    this.held += bytes;
    return true;
  }
  give(bytes: number) {
    this.held -= bytes;
  }
}

/**
 * What one answer has read from the cluster, against what it may, and what it holds of it now
 * (counted in what all answers under way hold, {@link HeldReads}).
 */
class ReadBudget {
  private read = 0;
  private held = 0;
  constructor(readonly max: number, private readonly all: HeldReads) {}
  get left() {
    return Math.max(0, this.max - this.read);
  }
  took(bytes: number) {
    this.read += bytes;
  }
  /** Holds `bytes` more of what it read, unless all answers together would hold more than they may. */
  hold(bytes: number): boolean {
    if (!this.all.take(bytes)) return false;
    this.held += bytes;
    return true;
  }
  /** No longer holds `bytes` of what it read (objects dropped once their rows are made). */
  release(bytes: number) {
    const released = Math.min(bytes, this.held);
    this.held -= released;
    this.all.give(released);
  }
  /** Holds nothing any more: the answer is done. */
  releaseAll() {
    this.release(this.held);
  }
}

/** Which bound an answer too long to read passed. */
type Bound =
  /** One answer of the cluster ({@link MAX_ANSWER_BYTES}, or the metrics'). */
  | 'answer'
  /** What is left of what the answer reads ({@link ReadBudget}). */
  | 'budget'
  /** What all answers under way hold together ({@link HeldReads}). */
  | 'held';

const boundOf = (error: AnswerTooLong): Bound =>
  (error as { bound?: Bound }).bound ?? 'answer';

/**
 * How many fields `value` holds (every value, object key and list entry), or `max + 1` once it
 * is known to hold more than `max`.
 */
export function countFields(value: unknown, max: number): number {
  let count = 0;
  const stack: unknown[] = [value];
  while (stack.length && count <= max) {
    const v = stack.pop();
    count++;
    if (v && typeof v === 'object') {
      // A list's entries and an object's values, each counted with its key.
      for (const child of Array.isArray(v) ? v : Object.values(v)) {
        if (!Array.isArray(v)) count++;
        stack.push(child);
        // Each value waiting is counted once read: past `max` already, whatever they hold.
        if (count + stack.length > max) return max + 1;
      }
    }
  }
  return count;
}

const DONE: Record<string, string> = {
  label: 'labeled',
  annotate: 'annotated',
  cordon: 'cordoned',
  uncordon: 'uncordoned',
  patch: 'patched',
};

type Api = {
  kc: KubeConfig;
  /** What this answer has read from the cluster, against what it may. */
  budget: ReadBudget;
  objects: ObjectsApi;
  core: CoreV1Api;
  apps: AppsV1Api;
  /** What a change over several objects has done so far. */
  changes: ChangeTracker;
  /** Aborted at the deadline: no request is sent after it, and the one under way is given up. */
  signal: AbortSignal;
};

/**
 * A client configuration whose every request carries `signal` (the
 * generated clients and KubernetesObjectApi pass a request context's signal
 * to fetch): once it is aborted, no request leaves and the one under way is
 * given up.
 */
function abortableConfiguration(kc: KubeConfig, signal: AbortSignal) {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('No active cluster!');
  return createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kc },
    promiseMiddleware: [
      {
        pre: async context => {
          context.setSignal(signal);
          return context;
        },
        post: async response => response,
      },
    ],
  });
}

/**
 * An error of the cluster as the user is told it: what the cluster answered (a Status's message, or
 * the HTTP status and the answer's text, bounded and scrubbed, never client-node's message, which
 * holds the answer's headers), else the error's message (the connection failed).
 */
function describeError(error: unknown): string {
  return clusterAnswerOf(error) ?? (error as Error)?.message ?? String(error);
}

function statusCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** An error of the cluster as the user is told it. */
function clusterError(error: unknown): Error {
  if (
    error instanceof InputError ||
    error instanceof NotFoundError ||
    error instanceof NotImplementedError
  ) {
    return error;
  }
  const status = statusCode(error);
  if (status === 404) return new NotFoundError(describeError(error));
  return Object.assign(
    new Error(`The cluster refused: ${describeError(error)}`),
    status === undefined ? {} : { clusterStatus: status },
  );
}

/**
 * The HTTP status the cluster answered with, for an error the executor reports as "The cluster
 * refused: …" (403 when its RBAC refused the identity the request was sent as).
 */
export function clusterStatusOf(error: unknown): number | undefined {
  const status = (error as { clusterStatus?: unknown } | undefined)
    ?.clusterStatus;
  return typeof status === 'number' ? status : undefined;
}

/**
 * Marks the error of a plan the executor refuses before it sends any change: checked again just
 * before it runs, it is not what was shown, or not something the assistant carries out.
 */
function refused<E extends Error>(error: E): E {
  return Object.assign(error, { refusedByExecutor: true });
}

/**
 * Whether the executor refused a plan before sending any change (a guarded object included): it
 * is recorded and audited as refused, with the error's message as its reason, not as failed.
 */
export function refusedByExecutor(error: unknown): boolean {
  return (
    (error as { refusedByExecutor?: unknown } | undefined)
      ?.refusedByExecutor === true || guardedTargetsOf(error) !== undefined
  );
}

/** The merge patch a change plan sends; a body the plan may not send is refused. */
function bodyOf(plan: Plan): object {
  try {
    return changeBody(plan);
  } catch (error) {
    throw refused(error as Error);
  }
}

/** Whether a plan changes the cluster (the verbs the executor sends changes for). */
export function isChange(plan: Plan): boolean {
  switch (plan.verb) {
    case 'scale':
    case 'label':
    case 'annotate':
    case 'cordon':
    case 'uncordon':
    case 'patch':
    case 'delete':
      return true;
    case 'rollout':
      return plan.rolloutAction === 'restart' || plan.rolloutAction === 'undo';
    default:
      return false;
  }
}

/** How an object of a change is named in messages and the audit trail. */
function objectName(kind: string, object: KubeObject): string {
  const namespace = object.metadata?.namespace;
  return `${kind.toLowerCase()}/${object.metadata?.name}${
    namespace ? ` in ${namespace}` : ''
  }`;
}

/** Why a run was stopped from outside ({@link PlanExecutor.executeReporting}'s `stop`). */
function stoppedBy(stop: AbortSignal): Error {
  return stop.reason instanceof Error
    ? stop.reason
    : new ServiceUnavailableError('The run was stopped');
}

/** Marks an error of a run stopped before it sent the cluster anything it would change. */
function notSent<E extends Error>(error: E, said: string): E {
  error.message = `${error.message.replace(/\.?$/, '.')} ${said}`;
  return Object.assign(error, { notSent: true });
}

/**
 * Whether a run was stopped from outside before it sent the cluster any change (or anything, when
 * stopped before it started): it did not run, and is recorded so ("Not run: …").
 */
export function stoppedBeforeSent(error: unknown): boolean {
  return (error as { notSent?: unknown } | undefined)?.notSent === true;
}

/** KubernetesObjectApi on a given configuration, with the default namespace of `kc` (as makeApiClient sets it). */
class ObjectsApi extends KubernetesObjectApi {
  constructor(
    configuration: ReturnType<typeof createConfiguration>,
    kc: KubeConfig,
  ) {
    super(configuration);
    this.setDefaultNamespace(kc);
  }
}

/** An object as it is printed: its managed fields left out, as kubectl does. */
function withoutManagedFields(object: KubeObject): KubeObject {
  const { managedFields, ...metadata } = (object.metadata ?? {}) as Record<
    string,
    unknown
  >;
  return { ...object, metadata };
}

/** `deployments.apps`, `configmaps`: how the API server names a resource in its errors. */
function qualifiedResource(resource: PlanResource): string {
  const { apiVersion } = RESOURCE_TYPES[resource];
  return apiVersion.includes('/')
    ? `${resource}.${apiVersion.split('/')[0]}`
    : resource;
}

/**
 * A named object that does not exist, as kubectl says it: `Error from server (NotFound):
 * deployments.apps "web" not found` (the server's own message when it sent one).
 */
function notFound(plan: Plan, serverMessage?: string): NotFoundError {
  return new NotFoundError(
    `Error from server (NotFound): ${
      serverMessage ??
      `${qualifiedResource(plan.resource)} "${plan.name}" not found`
    }`,
  );
}

/** The API path of the one object a plan names (`/apis/apps/v1/namespaces/shop/deployments/web`). */
function objectPath(plan: Plan): string {
  const clusterScoped = CLUSTER_SCOPED_RESOURCES.includes(plan.resource);
  if (!plan.name || (!clusterScoped && !plan.namespace)) {
    // scopedPlanSchema refuses such a plan before it runs.
    throw refused(new InputError('This plan names no object in a namespace'));
  }
  return resourcePath(
    plan.resource,
    clusterScoped ? undefined : plan.namespace,
    plan.name,
  );
}

/** Most objects asked for in one page of a list. */
const LIST_PAGE_SIZE = 500;
/**
 * Objects asked for in a list's first page: the next pages hold as many as half an answer
 * ({@link MAX_ANSWER_BYTES}) does, at the size the objects read had.
 */
const FIRST_PAGE_SIZE = 100;
const DEFAULT_MAX_LISTED = 5000;

type Listing = {
  /** The objects read (none when each page was taken as it came). */
  items: KubeObject[];
  /** How many objects were read. */
  read: number;
  /** Whether the cluster holds more than was read. */
  more: boolean;
  /** Whether the read stopped at the bytes one answer reads ({@link DEFAULT_MAX_READ_BYTES}). */
  cutAtBytes?: boolean;
  /** How many more, when the cluster says (lists without selectors). */
  remaining?: number;
};

/** What {@link PlanExecutor.lookUpNamespace} found for a named object. */
export type NamespaceLookUp = {
  /** The plan, with its namespace when exactly one namespace has the object. */
  plan: Plan;
  /** The namespaces that have it, when there are several. */
  severalNamespaces?: string[];
  /** Whether the look-up stopped before reading every namespace that has it. */
  more?: boolean;
};

/** How long a plan may take on the cluster by default. */
export const DEFAULT_EXECUTION_TIMEOUT_MS = 30_000;

/** Runs plans through @kubernetes/client-node. Never through a shell. */
export class PlanExecutor {
  constructor(
    private readonly options: {
      maxRows: number;
      /** Give up waiting for the cluster after this long (default 30 s). */
      timeoutMs?: number;
      /** Most objects read for one listing, page by page (default 5000). */
      maxListed?: number;
      /** Most bytes one answer reads from the cluster (default {@link DEFAULT_MAX_READ_BYTES}). */
      maxReadBytes?: number;
      /**
       * Most bytes read from clusters that all answers under way hold together (default twice
       * `maxReadBytes`): a read that would hold more is refused.
       */
      maxReadBytesAtOnce?: number;
      /**
       * Most bytes of one container's log read from the cluster (`limitBytes`; default, and never
       * more than, the 64 KiB one answer reads in all).
       */
      maxLogBytes?: number;
      /**
       * The name of KubeChart's deployer (`kubechart.tenant.deployer.serviceAccount`, default
       * `kubechart-deployer`): its RoleBinding, and a ServiceAccount of that name, are never changed.
       */
      deployerServiceAccount?: string;
      /**
       * The namespace of KubeChart's deployer ServiceAccounts (`kubechart.tenant.deployer.namespace`,
       * default `kubechart-deployers`): nothing in it is changed, nor any binding that names them.
       */
      deployerNamespace?: string;
    },
  ) {
    this.held = new HeldReads(
      options.maxReadBytesAtOnce ??
        readBytesAtOnceFor(options.maxReadBytes ?? DEFAULT_MAX_READ_BYTES),
    );
  }

  /** What all answers under way hold of what they read. */
  private readonly held: HeldReads;

  /**
   * Runs a plan, giving up after `timeoutMs`: a slow or stalled cluster
   * never holds a request (and its audit event) open.
   */
  async execute(plan: Plan, kc: KubeConfig): Promise<ExecutionResult> {
    return (await this.executeReporting(plan, kc)).result;
  }

  /**
   * Runs a plan as {@link PlanExecutor.execute} does, and says which objects
   * it changed: `changes` is set for a change (also one that matched
   * nothing), for the audit trail. When `stop` is aborted (before
   * `timeoutMs`), it stops as at its deadline: no further request is sent,
   * the one under way is given up, and it fails with the signal's reason
   * (with what a change over several objects had done).
   */
  async executeReporting(
    plan: Plan,
    kc: KubeConfig,
    stop?: AbortSignal,
  ): Promise<{ result: ExecutionResult; changes?: ChangedObjects }> {
    // Checked again here, not only when planned: a plan stored before a rule
    // was added runs only if its command still shows what runs (logs or a
    // rollout without a namespace included: the command would read the
    // kubeconfig's default namespace, this would look in every one).
    const parsed = scopedPlanSchema.safeParse(plan);
    if (!parsed.success) {
      throw refused(
        new InputError(
          `This plan cannot run as shown: ${parsed.error.issues
            .map(issue => issue.message)
            .join('; ')}. Ask again.`,
        ),
      );
    }
    if (stop?.aborted) {
      // Nothing was sent: said so (a read whose client went away stays cancelled).
      const reason = stoppedBy(stop);
      throw reason instanceof ServiceUnavailableError
        ? notSent(
            new ServiceUnavailableError(reason.message),
            'Nothing was sent to the cluster.',
          )
        : reason;
    }
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_EXECUTION_TIMEOUT_MS;
    const changes = new ChangeTracker();
    const deadline = new AbortController();
    const work = this.executeNow(plan, kc, changes, deadline.signal);
    let onStop: (() => void) | undefined;
    const stopped = new Promise<never>((_, reject) => {
      onStop = () => {
        // What was done is read before the request under way fails with the abort.
        const reason = stoppedBy(stop!);
        let error = reason;
        if (isChange(plan)) {
          const progress = changes.progress();
          error = new ServiceUnavailableError(reason.message);
          // Several objects, or one already changed: what was changed, and what may still be.
          if (changes.several || progress.changedCount) {
            withProgress(error, changes);
          } else if (progress.inFlight) {
            // The cluster may have received it, and may still apply it.
            error.message = `${error.message.replace(
              /\.?$/,
              '.',
            )} A change may still be applied: look before asking again.`;
            Object.assign(error, { changeProgress: progress });
          }
          if (!progress.changedCount && !progress.inFlight) {
            notSent(error, 'No change was sent to the cluster.');
          }
        }
        deadline.abort();
        reject(error);
      };
      stop?.addEventListener('abort', onStop, { once: true });
    });
    const result = await withDeadline(
      stop ? Promise.race([work, stopped]) : work,
      timeoutMs,
      () => {
        // What was done is read before the request under way fails with the abort.
        const several = changes.several;
        const progress = changes.progress();
        deadline.abort();
        if (!several) {
          throw new ServiceUnavailableError(
            `The cluster did not answer within ${
              timeoutMs / 1000
            } s, so the assistant stopped waiting (kubeAssistant.executionTimeoutSeconds). A change may still be applied: look before asking again.`,
          );
        }
        const error = new ServiceUnavailableError(
          `The cluster did not answer within ${
            timeoutMs / 1000
          } s, so the assistant stopped and sent no further change (kubeAssistant.executionTimeoutSeconds). ${changes.describe(
            progress,
          )}`,
        );
        throw Object.assign(error, { changeProgress: progress });
      },
    ).finally(() => stop?.removeEventListener('abort', onStop!));
    return isChange(plan)
      ? { result, changes: changes.changedObjects() }
      : { result };
  }

  private async executeNow(
    plan: Plan,
    kc: KubeConfig,
    changes: ChangeTracker,
    signal: AbortSignal,
  ): Promise<ExecutionResult> {
    const configuration = abortableConfiguration(kc, signal);
    const api: Api = {
      kc,
      budget: this.budget(),
      objects: new ObjectsApi(configuration, kc),
      core: new CoreV1Api(configuration),
      apps: new AppsV1Api(configuration),
      changes,
      signal,
    };
    try {
      return await this.run(plan, api);
    } catch (error) {
      // A change that stopped part-way already says what it did; a refused
      // one says why (and which objects are guarded).
      if (progressOf(error) || refusedByExecutor(error)) throw error;
      if (error instanceof AnswerTooLong) {
        throw this.tooMuchRead(plan.resource, error);
      }
      throw clusterError(error);
    } finally {
      api.budget.releaseAll();
    }
  }

  /**
   * Changes each target in turn; when one fails after others, the error
   * names those changed before it, the one that failed and how many were
   * not tried. Every change goes through here, so the guarded objects are
   * checked here: when any target is one, or would be once `body` (the
   * merge patch sent to every target, when it is the same for all) is
   * applied, or its pods would hold the deployer's identity, nothing is
   * sent.
   */
  private async changeEach(
    kind: string,
    targets: KubeObject[],
    api: Api,
    done: string,
    change: (target: KubeObject) => Promise<unknown>,
    body?: object,
  ) {
    await refuseGuarded(
      kind,
      targets,
      {
        serviceAccount:
          this.options.deployerServiceAccount ??
          DEFAULT_DEPLOYER_SERVICE_ACCOUNT,
        namespace: this.options.deployerNamespace ?? DEFAULT_DEPLOYER_NAMESPACE,
      },
      body,
      (namespace, name) =>
        api.objects.read({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name, namespace },
        }) as Promise<KubeObject>,
    );
    api.changes.start(
      targets.map(t => objectName(kind, t)),
      done,
    );
    for (const target of targets) {
      const name = objectName(kind, target);
      // After the deadline no further object is changed.
      if (api.signal.aborted) throw new Error('Stopped at the deadline');
      api.changes.sending(name);
      try {
        await change(target);
      } catch (error) {
        if (!api.changes.several) throw error;
        throw withProgress(clusterError(error), api.changes, name);
      }
      api.changes.changed(name, {
        ...(target.metadata?.namespace
          ? { namespace: target.metadata.namespace }
          : {}),
        kind,
        name: target.metadata?.name ?? '',
      });
    }
  }

  /**
   * Fills in the namespace of a plan that names one resource without
   * saying where it is, when exactly one namespace has it, so the command
   * shown is the one that really runs. Leaves the plan alone otherwise:
   * `scopedPlanSchema` then refuses it (shown without `-n`, the command
   * would read the kubeconfig's default namespace), on `/ask` and here. Says
   * which namespaces have the object when there are several (`more` when the
   * look-up stopped before reading every one), so the refusal can name them
   * rather than say that no namespace is known.
   */
  async lookUpNamespace(plan: Plan, kc: KubeConfig): Promise<NamespaceLookUp> {
    if (
      !plan.name ||
      plan.namespace ||
      plan.allNamespaces ||
      CLUSTER_SCOPED_RESOURCES.includes(plan.resource)
    ) {
      return { plan };
    }
    const api = {
      kc,
      budget: this.budget(),
      objects: KubernetesObjectApi.makeApiClient(kc),
      changes: new ChangeTracker(),
      signal: new AbortController().signal,
    } as Api;
    try {
      const listing = await this.listBounded(plan, api);
      const namespaces = [
        ...new Set(
          listing.items
            .map(i => i.metadata?.namespace)
            .filter((n): n is string => !!n),
        ),
      ];
      if (namespaces.length === 1 && !listing.more) {
        return { plan: { ...plan, namespace: namespaces[0] } };
      }
      if (namespaces.length > 1) {
        return {
          plan,
          severalNamespaces: namespaces,
          ...(listing.more ? { more: true } : {}),
        };
      }
    } catch {
      // The plan is still valid without it; running it reports any problem.
    } finally {
      api.budget.releaseAll();
    }
    return { plan };
  }

  private async run(plan: Plan, api: Api): Promise<ExecutionResult> {
    switch (plan.verb) {
      case 'get':
        return this.get(plan, api);
      case 'events':
        // kubectl events always lists by time.
        return this.get({ ...plan, sortBy: 'time' }, api);
      case 'describe':
        return this.describe(plan, api);
      case 'logs':
        return this.logs(plan, api);
      case 'top':
        return topTable(plan, {
          get: path =>
            this.readJson(path, api, MAX_METRICS_BYTES) as Promise<KubeObject>,
          list: p => this.list(p, api),
          namespace: this.namespaceOf(plan),
          maxRows: this.options.maxRows,
        });
      case 'rollout':
        return this.rollout(plan, api);
      case 'scale':
      case 'label':
      case 'annotate':
      case 'cordon':
      case 'uncordon':
      case 'patch':
        return this.mutate(
          plan,
          api,
          bodyOf(plan),
          plan.verb === 'scale'
            ? `scaled to ${plan.replicas}`
            : DONE[plan.verb],
        );
      case 'diagnose':
        return diagnose(plan, {
          list: (p, overrides) => this.list(p, api, overrides),
          findOne: p => this.findOne(p, api),
          // Never more than the logs verb may read (`maxLogBytes`).
          readLog: options =>
            api.core.readNamespacedPodLog({
              ...options,
              limitBytes: Math.min(
                options.limitBytes,
                this.options.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES,
              ),
            }),
        });
      case 'delete':
        return this.delete(plan, api);
      default:
        throw refused(
          new NotImplementedError(
            `The assistant does not run "kubectl ${plan.verb}"; run it yourself if you must`,
          ),
        );
    }
  }

  private namespaceOf(plan: Plan): string | undefined {
    if (CLUSTER_SCOPED_RESOURCES.includes(plan.resource)) return undefined;
    return plan.allNamespaces ? undefined : plan.namespace;
  }

  /**
   * Every object a plan's list reaches, for an answer that needs them all (a description, the pods
   * of a workload, a rollout's revisions, a change's targets): more than `maxListed` is refused,
   * never answered from the first ones (a rollback would pick its revision among part of them).
   */
  private async list(
    plan: Plan,
    api: Api,
    overrides: Partial<Plan> = {},
  ): Promise<KubeObject[]> {
    const listing = await this.listBounded(plan, api, overrides);
    if (listing.more) {
      const p = { ...plan, ...overrides };
      throw refused(
        new InputError(
          `More than ${listing.items.length} ${p.resource} match${
            p.labelSelector ? ` ${p.labelSelector}` : ''
          }${
            p.namespace ? ` in ${p.namespace}` : ''
          }, the most the assistant reads for one answer: ask about fewer (a name, a namespace or a label selector), or use kubectl`,
        ),
      );
    }
    return listing.items;
  }

  private budget(): ReadBudget {
    return new ReadBudget(
      this.options.maxReadBytes ?? DEFAULT_MAX_READ_BYTES,
      this.held,
    );
  }

  /**
   * GETs `path` (one object, one page of a list, the metrics API's list) as the API server sends it,
   * not turned into the client's typed model (which leaves out the fields it does not know and
   * turns times into Dates): at most `maxBytes`, and never past what is left of the answer's
   * {@link ReadBudget}, parsed in a turn of its own. An answer longer than that is given up as soon
   * as it passes it ({@link AnswerTooLong}; its `bound` says which bound it passed); the bytes
   * received count against the budget either way. The answer's bytes are held (counted in what all
   * answers under way hold, {@link HeldReads}) as they arrive, until the answer is done or `held`
   * is released; an answer that would hold more than all may is given up (`bound: 'held'`).
   */
  private async readAnswer(
    path: string,
    api: Api,
    maxBytes: number = MAX_ANSWER_BYTES,
  ): Promise<{ body: object; held: number }> {
    const allowed = Math.min(maxBytes, api.budget.left);
    let held = 0;
    try {
      const { body, bytes } = await getJson(api.kc, path, {
        maxBytes: allowed,
        signal: api.signal,
        onChunk: chunk => {
          if (!api.budget.hold(chunk)) {
            throw Object.assign(
              new AnswerTooLong(
                `${path}: more than all answers may hold at once`,
                held + chunk,
              ),
              { bound: 'held' },
            );
          }
          held += chunk;
        },
      });
      api.budget.took(bytes);
      if (!body || typeof body !== 'object') {
        throw new Error('The cluster answered something that is not an object');
      }
      return { body, held };
    } catch (error) {
      api.budget.release(held);
      if (error instanceof AnswerTooLong) {
        api.budget.took(error.received);
        if (!(error as { bound?: Bound }).bound) {
          Object.assign(error, {
            bound: allowed < maxBytes ? 'budget' : 'answer',
          });
        }
      }
      throw error;
    }
  }

  /** The body of {@link PlanExecutor.readAnswer}, held until the answer is done. */
  private async readJson(
    path: string,
    api: Api,
    maxBytes: number = MAX_ANSWER_BYTES,
  ): Promise<unknown> {
    return (await this.readAnswer(path, api, maxBytes)).body;
  }

  /**
   * Why a read stopped at the bytes one answer may read, or all answers under way may hold: refused,
   * with how to ask for less (or when to ask again).
   */
  private tooMuchRead(resource: PlanResource, error: AnswerTooLong): Error {
    const bound = boundOf(error);
    if (bound === 'held') {
      return refused(
        new ServiceUnavailableError(
          `The assistant already holds the most it reads from clusters at once (${formatBytes(
            this.held.max,
          )}, kubeAssistant.limits.readMegabytesAtOnce) for the answers under way: try again when they are done, or ask about fewer ${resource} (name one, a namespace or a label selector)`,
        ),
      );
    }
    return refused(
      new InputError(
        bound === 'budget'
          ? `The answer needs more than the ${formatBytes(
              this.options.maxReadBytes ?? DEFAULT_MAX_READ_BYTES,
            )} the assistant reads from the cluster for one question (kubeAssistant.limits.readMegabytesPerAnswer): ask about fewer ${resource} (name one, a namespace or a label selector), or use kubectl`
          : `The cluster answered with ${resource} larger than the ${formatBytes(
              MAX_ANSWER_BYTES,
            )} the assistant reads at once: use kubectl to read them`,
      ),
    );
  }

  /**
   * Lists page by page (`limit` and `continue`) and stops after `max`
   * objects, or when the answer's bytes ({@link ReadBudget}) run out: a large
   * cluster, or one of large objects, never fills the backend's memory. Each
   * page is one answer of at most {@link MAX_ANSWER_BYTES}, parsed in its own
   * turn: pages of large objects are asked for fewer objects. Past the budget,
   * a listing with `partial` comes back with what it read (`cutAtBytes`);
   * without it the read is refused, as one whose answer would be wrong with
   * objects left out. With `take`, each page's objects are given to it as
   * they come and not kept (nor held: the page's bytes are released).
   */
  private async listBounded(
    plan: Plan,
    api: Api,
    overrides: Partial<Plan> = {},
    max: number = this.options.maxListed ?? DEFAULT_MAX_LISTED,
    options: { partial?: boolean; take?: (items: KubeObject[]) => void } = {},
  ): Promise<Listing> {
    const p = { ...plan, ...overrides };
    const fieldSelectors = [
      p.fieldSelector,
      p.name ? `metadata.name=${p.name}` : undefined,
    ].filter(Boolean);
    const items: KubeObject[] = [];
    let read = 0;
    let token: string | undefined;
    let remaining: number | undefined;
    // Objects asked for in one page: fewer once the cluster's answers show large objects.
    let pageSize = FIRST_PAGE_SIZE;
    for (;;) {
      const limit = Math.min(pageSize, max - read);
      const query = new URLSearchParams({ limit: String(limit) });
      if (token) query.set('continue', token);
      if (fieldSelectors.length) {
        query.set('fieldSelector', fieldSelectors.join(','));
      }
      if (p.labelSelector) query.set('labelSelector', p.labelSelector);
      let page: {
        items?: KubeObject[];
        metadata?: { continue?: string; remainingItemCount?: number };
      };
      let bytes = api.budget.left;
      let held: number;
      try {
        const answer = await this.readAnswer(
          `${resourcePath(p.resource, this.namespaceOf(p))}?${query}`,
          api,
        );
        page = answer.body as typeof page;
        held = answer.held;
        bytes -= api.budget.left;
      } catch (error) {
        if (!(error instanceof AnswerTooLong)) throw error;
        const bound = boundOf(error);
        if (bound === 'answer' && limit > 1) {
          // The page was too long for one answer: the same page again, for fewer objects.
          pageSize = Math.max(1, Math.floor(limit / 10));
          continue;
        }
        if (bound === 'budget' && options.partial) {
          return { items, read, more: true, cutAtBytes: true };
        }
        // Past what all answers may hold at once, too: refused, not answered in part.
        throw this.tooMuchRead(p.resource, error);
      }
      const got = Array.isArray(page.items) ? page.items : [];
      const taken = got.slice(0, max - read);
      read += taken.length;
      if (options.take) {
        options.take(taken);
        api.budget.release(held);
      } else {
        items.push(...taken);
      }
      if (got.length) {
        // As many objects as half an answer holds, at the size these had.
        pageSize = Math.min(
          LIST_PAGE_SIZE,
          Math.max(1, Math.floor(MAX_ANSWER_BYTES / 2 / (bytes / got.length))),
        );
      }
      token = page.metadata?.continue || undefined;
      remaining = page.metadata?.remainingItemCount;
      if (!token || read >= max) break;
    }
    return {
      items,
      read,
      more: !!token,
      ...(token && remaining !== undefined ? { remaining } : {}),
    };
  }

  /**
   * Finds the one object a named plan means: in its namespace, or for a
   * cluster-scoped one anywhere (a namespaced plan without a namespace is
   * refused before it runs). None is kubectl's NotFound error.
   */
  private async findOne(plan: Plan, api: Api): Promise<KubeObject> {
    const items = await this.list(plan, api);
    if (items.length === 0) throw notFound(plan);
    if (items.length > 1) {
      throw new InputError(
        `"${plan.name}" exists in several namespaces (${items
          .map(i => i.metadata?.namespace)
          .join(', ')}); say which one`,
      );
    }
    return items[0];
  }

  /** A table of what a plan lists, as its pages come (see {@link TableRows}). */
  private tableRows(plan: Plan, withNamespace: boolean): TableRows {
    return new TableRows(plan.resource, {
      filter: plan.filter,
      sortBy: plan.sortBy,
      withNamespace,
      max: Math.min(plan.limit ?? Infinity, this.options.maxRows),
      cellChars: MAX_CELL_CHARS,
    });
  }

  private async table(
    plan: Plan,
    table: TableRows,
    listing: Omit<Listing, 'items'>,
    complete: boolean,
  ): Promise<ExecutionResult> {
    const cells = table.rows();
    // An event's message may quote a URL with its credentials. Each cell shows at most
    // MAX_CELL_CHARS, of which only the start is scrubbed; a turn of the event loop between rows
    // every MAX_SCRUBBED_PER_TURN characters.
    const rows: string[][] = [];
    let scrubbed = 0;
    for (const row of cells) {
      if (scrubbed > MAX_SCRUBBED_PER_TURN) {
        await new Promise(resolve => setImmediate(resolve));
        scrubbed = 0;
      }
      for (const cell of row) scrubbed += cell.start.length;
      rows.push(row.map(cell => scrubbedStart(cell, MAX_CELL_CHARS)));
    }
    // Unfiltered, the cluster's count of what was not read is the total.
    const total =
      complete && listing.remaining !== undefined
        ? table.matched + listing.remaining
        : table.matched;
    const result: ExecutionResult = {
      type: 'table',
      columns: table.columns,
      rows,
      totalRows: total,
    };
    const notes: string[] = [];
    const asAsked = !!plan.limit && plan.limit <= this.options.maxRows;
    if (total > rows.length) {
      notes.push(
        `Showing ${rows.length} of ${total} rows${
          asAsked ? ' (as asked)' : '; narrow the question to see the rest'
        }.`,
      );
    } else if (complete && listing.more) {
      // A selector hides the cluster's count of the rest.
      notes.push(
        `Showing ${rows.length} rows; more match${
          asAsked ? ' (as asked)' : ': narrow the question to see the rest'
        }.`,
      );
    }
    if (!complete && listing.more) {
      notes.push(
        `Looked at the first ${listing.read} ${plan.resource} only: name a namespace or a selector to see the rest.`,
      );
    }
    if (listing.cutAtBytes) {
      notes.push(
        `The assistant stopped reading at ${formatBytes(
          this.options.maxReadBytes ?? DEFAULT_MAX_READ_BYTES,
        )} of ${plan.resource}, its most for one answer.`,
      );
    }
    if (notes.length) result.truncated = notes.join(' ');
    return result;
  }

  private async get(plan: Plan, api: Api): Promise<ExecutionResult> {
    const withNamespace =
      !this.namespaceOf(plan) &&
      !CLUSTER_SCOPED_RESOURCES.includes(plan.resource);
    if (plan.name) {
      // Read as kubectl reads it (one GET), so a missing object is kubectl's NotFound, not an
      // empty table.
      const object = await this.readNamed(plan, api);
      if (plan.output === 'yaml' || plan.output === 'json') {
        this.refuseLarge(object, plan.resource, 'print');
        return {
          type: 'text',
          text: await inTurn(() => this.print(object, plan)),
        };
      }
      const table = this.tableRows(plan, withNamespace);
      table.add([object]);
      return await this.table(plan, table, { read: 1, more: false }, true);
    }
    // Without a filter or a sort, the first rows are the answer: read only
    // those. Otherwise every object counts, up to maxListed.
    const firstRowsOnly = !plan.filter && !plan.sortBy;
    const table = this.tableRows(plan, withNamespace);
    const listing = await this.listBounded(
      plan,
      api,
      {},
      firstRowsOnly
        ? Math.min(plan.limit ?? Infinity, this.options.maxRows)
        : undefined,
      // A table says what it read, and that it stopped. Each page is made rows as it comes: the
      // objects read are not held past their page.
      { partial: true, take: items => table.add(items) },
    );
    return await this.table(plan, table, listing, firstRowsOnly);
  }

  /** The one object a plan names, as the API server sends it; kubectl's NotFound when it has none. */
  private async readNamed(plan: Plan, api: Api): Promise<KubeObject> {
    try {
      return (await this.readJson(objectPath(plan), api)) as KubeObject;
    } catch (error) {
      if (statusCode(error) !== 404) throw error;
      throw notFound(plan, statusMessageOf((error as { body?: unknown }).body));
    }
  }

  /**
   * An object as `kubectl get -o yaml|json` prints it (./kubectlPrint.ts), through the redaction
   * every shown object goes through: Secret values (shown as their sizes), last-applied copies,
   * secret-looking ConfigMap keys, annotations and env values, and URL credentials never leave
   * the backend (see ../redaction/redact.ts). Managed fields are left out, as kubectl does.
   */
  private print(obj: KubeObject, plan: Plan): string {
    if (plan.output === 'yaml') {
      // kubectl fails rather than print YAML of an object it cannot read as YAML: so does this,
      // with its message, whatever the redaction would have hidden.
      const shown = withoutManagedFields(obj);
      const failed = kubectlYamlError(shown);
      if (failed) throw new InputError(failed);
      const unsupported = kubectlYamlUnsupported(shown);
      if (unsupported) {
        throw refused(
          new NotImplementedError(
            `The assistant cannot print ${kindOf(plan.resource)}/${
              plan.name
            } as kubectl would: ${unsupported}`,
          ),
        );
      }
    }
    const copy = redactObject(obj, RESOURCE_TYPES[plan.resource].kind);
    return plan.output === 'json' ? kubectlJson(copy) : kubectlYaml(copy);
  }

  /**
   * Refuses to print or describe an object of more than {@link MAX_PRINTED_FIELDS} fields
   * (`fields` of the answer's are already spent): the time it takes grows with them, in one turn.
   */
  private refuseLarge(
    object: KubeObject,
    resource: PlanResource,
    verb: 'print' | 'describe',
    fields = 0,
  ): number {
    const shown = withoutManagedFields(object);
    const count = countFields(shown, MAX_PRINTED_FIELDS - fields);
    if (
      fields + count <= MAX_PRINTED_FIELDS &&
      JSON.stringify(shown).length > MAX_PRINTED_CHARS
    ) {
      throw refused(
        new InputError(
          `${kindOf(resource)}/${
            object.metadata?.name
          } is larger than the assistant can ${verb} in one answer (${MAX_PRINTED_CHARS.toLocaleString(
            'en-US',
          )} characters): read it with kubectl`,
        ),
      );
    }
    if (fields + count > MAX_PRINTED_FIELDS) {
      throw refused(
        new InputError(
          `${kindOf(resource)}/${
            object.metadata?.name
          } has more fields than the assistant can ${verb} in one answer (${MAX_PRINTED_FIELDS.toLocaleString(
            'en-US',
          )}${fields ? ' with those before it' : ''}): read it with kubectl`,
        ),
      );
    }
    return count;
  }

  /** An object as YAML for `describe`, through the same redaction. */
  private dump(obj: KubeObject, resource: PlanResource): string {
    const copy = redactObject(obj, RESOURCE_TYPES[resource].kind);
    return yaml.dump(copy, { noRefs: true, lineWidth: 120 });
  }

  private async describe(plan: Plan, api: Api): Promise<ExecutionResult> {
    const items = plan.name
      ? [await this.findOne(plan, api)]
      : await this.list(plan, api);
    if (items.length === 0) {
      return { type: 'message', text: `No ${plan.resource} found.` };
    }
    if (plan.resource === 'resourcequotas') {
      const rows: string[][] = [];
      for (const q of items) {
        const hard = q.status?.hard ?? q.spec?.hard ?? {};
        for (const [resource, limit] of Object.entries(hard)) {
          rows.push([
            q.metadata?.namespace ?? '',
            q.metadata?.name ?? '',
            resource,
            String(q.status?.used?.[resource] ?? '0'),
            String(limit),
          ]);
        }
      }
      return {
        type: 'table',
        columns: ['NAMESPACE', 'QUOTA', 'RESOURCE', 'USED', 'HARD'],
        rows,
        totalRows: rows.length,
      };
    }
    let shown = items.slice(0, 10);
    const parts: string[] = [];
    const eventNotes: string[] = [];
    let fields = 0;
    for (const [index, item] of shown.entries()) {
      if (
        index > 0 &&
        countFields(item, MAX_PRINTED_FIELDS) + fields > MAX_PRINTED_FIELDS
      ) {
        // The ones described so far are the answer; the note says how many.
        shown = shown.slice(0, index);
        break;
      }
      fields += this.refuseLarge(item, plan.resource, 'describe', fields);
      // Each object's YAML in a turn of its own.
      parts.push(await inTurn(() => this.dump(item, plan.resource)));
      if (item.metadata?.namespace && item.metadata.name) {
        // Its own events, as kubectl selects them (`GetFieldSelector`): by kind, name, namespace
        // and uid, not those of another kind of the same name (service/web beside
        // deployment/web) nor of an earlier object of that name (a recreated pod).
        const kind = RESOURCE_TYPES[plan.resource].kind;
        const selected = [
          `involvedObject.kind=${kind}`,
          `involvedObject.name=${item.metadata.name}`,
          `involvedObject.namespace=${item.metadata.namespace}`,
          ...(item.metadata.uid
            ? [`involvedObject.uid=${item.metadata.uid}`]
            : []),
        ];
        const events = await this.list(
          {
            verb: 'get',
            resource: 'events',
            namespace: item.metadata.namespace,
          },
          api,
          { fieldSelector: selected.join(',') },
        );
        if (events.length > MAX_DESCRIBED_EVENTS) {
          eventNotes.push(
            `Showing the newest ${MAX_DESCRIBED_EVENTS} of ${
              events.length
            } events of ${kind.toLowerCase()}/${item.metadata.name}.`,
          );
        }
        const lines = applySort('events', events, 'time')
          .slice(0, MAX_DESCRIBED_EVENTS)
          .map(
            e =>
              `  ${age(
                e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp,
              )}\t${e.type}\t${e.reason}\t${scrubbedStart(
                String(e.message),
                MAX_CELL_CHARS,
              )}`,
          );
        parts.push(
          `Events:\n${lines.length ? lines.join('\n') : '  <none>'}\n`,
        );
      }
    }
    const text = parts.join('---\n');
    const notes = [
      ...(items.length > shown.length
        ? [`Described ${shown.length} of ${items.length}.`]
        : []),
      ...eventNotes,
    ];
    return notes.length > 0
      ? { type: 'text', text, truncated: notes.join(' ') }
      : { type: 'text', text };
  }

  private async podsFor(plan: Plan, api: Api): Promise<KubeObject[]> {
    if (plan.resource === 'pods') {
      if (plan.name) return [await this.findOne(plan, api)];
      return this.list(plan, api);
    }
    const workloads = plan.name
      ? [await this.findOne(plan, api)]
      : await this.list(plan, api);
    const pods: KubeObject[] = [];
    for (const w of workloads) {
      // Its selector whole (matchExpressions too), as kubectl reads it.
      const selector = labelSelectorOf(w);
      if (!selector) continue;
      pods.push(
        ...(await this.list(
          { verb: 'get', resource: 'pods', namespace: w.metadata?.namespace },
          api,
          { labelSelector: selector },
        )),
      );
    }
    return pods;
  }

  private async logs(plan: Plan, api: Api): Promise<ExecutionResult> {
    const pods = await this.podsFor(plan, api);
    if (pods.length === 0) {
      return { type: 'message', text: 'No pods found for these logs.' };
    }
    // Like kubectl logs deploy/x: one pod per workload; with a selector, a few.
    const onePod = Boolean(plan.name && plan.resource !== 'pods');
    const chosen = onePod ? pods.slice(0, 1) : pods.slice(0, MAX_LOG_PODS);
    const maxLogBytes = Math.min(
      this.options.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES,
      MAX_LOG_BYTES,
    );
    const tailLines = plan.tailLines ?? DEFAULT_LOG_TAIL_LINES;
    const reads = chosen.map(pod => {
      // `--all-containers`, as the command shows it: init containers, then containers, then
      // ephemeral containers, in kubectl's order.
      const containers: string[] = plan.container
        ? [plan.container]
        : [
            ...(pod.spec?.initContainers ?? []),
            ...(pod.spec?.containers ?? []),
            ...(pod.spec?.ephemeralContainers ?? []),
          ].map((c: any) => c.name);
      return { pod, containers, read: containers.slice(0, MAX_LOG_CONTAINERS) };
    });
    const several =
      chosen.length > 1 || reads.some(r => r.containers.length > 1);
    // One budget for the whole answer: each read asks the cluster for what is left of it, so the
    // log read (and scrubbed) is never more than can be shown, whatever the pods hold.
    let left = MAX_LOG_BYTES;
    const chunks: string[] = [];
    const notRead: string[] = [];
    let readCount = 0;
    for (const { pod, containers, read } of reads) {
      for (const container of containers) {
        const name = `${pod.metadata?.name}/${container}`;
        if (left <= 0 || !read.includes(container)) {
          notRead.push(name);
          continue;
        }
        const limitBytes = Math.min(maxLogBytes, left);
        let text: string;
        let cut = '';
        try {
          // The API server stops after limitBytes, so a log of long lines is never read whole.
          text = await api.core.readNamespacedPodLog({
            name: pod.metadata!.name!,
            namespace: pod.metadata!.namespace!,
            container,
            tailLines,
            previous: plan.previous,
            limitBytes,
          });
          const bytes = Buffer.byteLength(text);
          // A cluster that sends more than asked is held to what was asked.
          left -= Math.min(bytes, limitBytes);
          if (bytes > limitBytes) {
            text = Buffer.from(text).subarray(0, limitBytes).toString('utf8');
          }
          if (bytes >= limitBytes) {
            cut = `\n<cut by the cluster after ${formatBytes(
              limitBytes,
            )}: these are the first bytes of the last ${tailLines} lines; ask for fewer lines to see the newest>`;
          }
        } catch (error) {
          text = `<could not read logs: ${describeError(error).slice(
            0,
            MAX_LOG_ERROR_CHARS,
          )}>`;
        }
        readCount++;
        const header = several ? `==> ${name} <==\n` : '';
        // Secret-looking pairs and URL credentials, as in table rows and events. The note on the
        // cut is added after: a cut that leaves a quoted value open hides the rest of the text,
        // and the note is ours, not the log's.
        chunks.push(header + (scrubText(text) || '<no log lines>') + cut);
      }
    }
    const text = chunks.join('\n');
    const notes: string[] = [];
    const skipped = pods.length - chosen.length;
    if (skipped > 0 && !onePod) {
      notes.push(`Logs of ${chosen.length} of ${pods.length} pods.`);
    }
    if (notRead.length > 0) {
      const named = notRead.slice(0, NOT_READ_NAMED).join(', ');
      const more = notRead.length - NOT_READ_NAMED;
      notes.push(
        `Read the logs of ${readCount} of ${
          readCount + notRead.length
        } containers (at most ${MAX_LOG_CONTAINERS} of each pod, ${formatBytes(
          MAX_LOG_BYTES,
        )} of log in all); not read: ${named}${
          more > 0 ? ` and ${more} more` : ''
        }. Ask for one pod, or one container (-c), to read the rest.`,
      );
    }
    return notes.length > 0
      ? { type: 'text', text, truncated: notes.join(' ') }
      : { type: 'text', text };
  }

  private async rollout(plan: Plan, api: Api): Promise<ExecutionResult> {
    if (plan.rolloutAction === 'restart') {
      return this.mutate(plan, api, bodyOf(plan), 'restarted');
    }
    if (plan.rolloutAction === 'undo') {
      return this.undo(plan, api);
    }
    if (plan.rolloutAction === 'history' && plan.resource !== 'deployments') {
      // Their revisions are ControllerRevisions, which the assistant does not read: an empty
      // table would say it was never rolled out.
      throw refused(
        new NotImplementedError(
          `The assistant reads the rollout history of deployments only; use kubectl for the history of ${plan.resource}`,
        ),
      );
    }
    const workloads = plan.name
      ? [await this.findOne(plan, api)]
      : await this.list(plan, api);
    if (workloads.length === 0) {
      return { type: 'message', text: `No ${plan.resource} found.` };
    }
    if (plan.rolloutAction === 'history') {
      const rows: string[][] = [];
      for (const w of workloads) {
        const owned = (await this.replicaSetsOf(w, api))
          .map(rs => ({
            rs,
            revision: Number(
              rs.metadata?.annotations?.['deployment.kubernetes.io/revision'] ??
                0,
            ),
          }))
          .sort((a, b) => a.revision - b.revision);
        for (const { rs, revision } of owned) {
          rows.push([
            w.metadata?.name ?? '',
            String(revision || '?'),
            rs.metadata?.name ?? '',
            (rs.spec?.template?.spec?.containers ?? [])
              .map((c: any) => c.image)
              .join(','),
            age(rs.metadata?.creationTimestamp),
          ]);
        }
      }
      return {
        type: 'table',
        columns: ['WORKLOAD', 'REVISION', 'REPLICASET', 'IMAGES', 'AGE'],
        rows,
        totalRows: rows.length,
      };
    }
    const lines = workloads.map(w => rolloutStatus(w));
    return { type: 'text', text: lines.join('\n') };
  }

  /**
   * The ReplicaSets a workload owns, as kubectl finds a deployment's revisions: those its selector
   * picks (every one of them: more than the assistant reads is refused) that name it, by its uid,
   * as their owner. Another object of the same name, or a ReplicaSet that only claims the name, is
   * not one of them. None for a workload whose selector cannot be said exactly.
   */
  private async replicaSetsOf(
    workload: KubeObject,
    api: Api,
  ): Promise<KubeObject[]> {
    const selector = labelSelectorOf(workload);
    if (!selector) return [];
    const sets = await this.list(
      {
        verb: 'get',
        resource: 'replicasets',
        namespace: workload.metadata?.namespace,
      },
      api,
      { labelSelector: selector },
    );
    return sets.filter(rs => ownedBy(rs, workload));
  }

  /** kubectl rollout undo: the previous revision's pod template, back on the deployment. */
  private async undo(plan: Plan, api: Api): Promise<ExecutionResult> {
    if (plan.resource !== 'deployments') {
      throw refused(
        new NotImplementedError(
          'The assistant rolls back deployments only; use kubectl for statefulsets and daemonsets',
        ),
      );
    }
    const deployment = await this.findOne(plan, api);
    const namespace = deployment.metadata?.namespace;
    const sets = (await this.replicaSetsOf(deployment, api))
      .map(rs => ({
        rs,
        revision: Number(
          rs.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? 0,
        ),
      }))
      .sort((a, b) => b.revision - a.revision);
    if (sets.length < 2) {
      throw new InputError(
        `deployment/${plan.name} has no previous revision to roll back to`,
      );
    }
    const template = JSON.parse(
      JSON.stringify(sets[1].rs.spec?.template ?? {}),
    );
    delete template.metadata?.labels?.['pod-template-hash'];
    const { apiVersion, kind } = RESOURCE_TYPES.deployments;
    const done = `rolled back to revision ${sets[1].revision}`;
    // Passed as the change too: the template it restores is checked as a patch's would be.
    const body = {
      spec: { template: mergePatchTo(deployment.spec?.template, template) },
    };
    await this.changeEach(
      kind,
      [deployment],
      api,
      done,
      () =>
        api.objects.patch(
          addressed(body, {
            apiVersion,
            kind,
            name: deployment.metadata!.name!,
            namespace,
          }) as any,
          undefined,
          undefined,
          'kube-assistant',
          undefined,
          PatchStrategy.MergePatch,
        ),
      body,
    );
    return {
      type: 'message',
      text: `${objectName(kind, deployment)} ${done}`,
    };
  }

  private async targets(plan: Plan, api: Api): Promise<KubeObject[]> {
    if (plan.name) return [await this.findOne(plan, api)];
    if (
      !CLUSTER_SCOPED_RESOURCES.includes(plan.resource) &&
      !plan.namespace &&
      !plan.allNamespaces
    ) {
      // The scope a change reaches must be part of the plan that was shown.
      throw refused(
        new InputError(
          'This change names no namespace and does not say all namespaces; ask again',
        ),
      );
    }
    const items = await this.list(plan, api);
    if (items.length > MAX_SELECTOR_MUTATIONS) {
      throw refused(
        new InputError(
          `The selector matches ${items.length} ${plan.resource}; the assistant changes at most ${MAX_SELECTOR_MUTATIONS} at once`,
        ),
      );
    }
    return items;
  }

  private async mutate(
    plan: Plan,
    api: Api,
    body: object,
    done: string,
  ): Promise<ExecutionResult> {
    const targets = await this.targets(plan, api);
    if (targets.length === 0) {
      return {
        type: 'message',
        text: `No ${plan.resource} matched; nothing changed.`,
      };
    }
    const { apiVersion, kind } = RESOURCE_TYPES[plan.resource];
    await this.changeEach(
      kind,
      targets,
      api,
      done,
      t =>
        api.objects.patch(
          addressed(body, {
            apiVersion,
            kind,
            name: t.metadata!.name!,
            namespace: CLUSTER_SCOPED_RESOURCES.includes(plan.resource)
              ? undefined
              : t.metadata?.namespace,
          }) as any,
          undefined,
          undefined,
          'kube-assistant',
          undefined,
          PatchStrategy.MergePatch,
        ),
      body,
    );
    return {
      type: 'message',
      // With their namespaces: a selector may reach several.
      text: targets.map(t => `${objectName(kind, t)} ${done}`).join('\n'),
    };
  }

  private async delete(plan: Plan, api: Api): Promise<ExecutionResult> {
    const targets = await this.targets(plan, api);
    if (targets.length === 0) {
      return {
        type: 'message',
        text: `No ${plan.resource} matched; nothing deleted.`,
      };
    }
    const { apiVersion, kind } = RESOURCE_TYPES[plan.resource];
    await this.changeEach(kind, targets, api, 'deleted', t =>
      api.objects.delete({
        apiVersion,
        kind,
        metadata: { name: t.metadata?.name, namespace: t.metadata?.namespace },
      }),
    );
    return {
      type: 'message',
      text: targets.map(t => `${objectName(kind, t)} deleted`).join('\n'),
    };
  }
}

/** `1 MiB`, `64 KiB`, `40 bytes`. */
function formatBytes(n: number) {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0)
    return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}
