import { BackstageCredentials } from '@backstage/backend-plugin-api';
import {
  ConflictError,
  InputError,
  NotAllowedError,
  NotFoundError,
} from '@backstage/errors';
import { Run } from '@kubechart/plugin-kubechart-common';
import {
  InputLimitError,
  KubeObject,
  RECORDED_RUN_LIMITS,
  collectManifestSecretValues,
  collectSecretValues,
  createTextRedactor,
  parseManifestsInTurns,
  redactManifestInTurns,
  redactValues,
  scrubStrings,
} from '@kubechart/plugin-kubechart-node';
import { Request, Router } from 'express';
import { randomUUID } from 'node:crypto';
import { withNamespaceLock } from '../database/lockKeys';
import {
  LeaseLostError,
  RunEventLimitError,
  RunLease,
  RunStore,
} from '../database/RunStore';
import { PayloadTooLargeError } from '../engine/errors';
import { EngineSettings } from '../engine/settings';
import {
  effectiveActor,
  passedOnBy,
  refuseRelayedEntityRef,
  refuseUnrelayedTemplate,
} from './identity';
import { RefusedAttempt } from './runAudit';
import {
  appendEventsSchema,
  finishRunSchema,
  parse,
  recordRunSchema,
} from './schemas';

/**
 * A recorded run is claimed once, when it is recorded: its executor (the action that recorded it)
 * writes under that first lease epoch. Reconciling it bumps the epoch, which fences the action out.
 */
const RECORDED_LEASE_EPOCH = 1;

/**
 * Runs `fn` within the audit event `eventId`: initiated, then its outcome (`resultMeta` on success;
 * on failure, the meta its error carries, see {@link withAuditMeta}).
 */
export type Audited = <T>(
  req: Request,
  eventId: string,
  meta: Record<string, any>,
  fn: () => Promise<T>,
  resultMeta?: (r: T) => Record<string, any>,
) => Promise<T>;

const auditMetaOfErrors = new WeakMap<object, Record<string, any>>();

/**
 * Attaches to `error` what the failed audit event of the request it ends records besides the error,
 * e.g. the run a failed request had already created: the trail names what was left behind.
 */
export function withAuditMeta<E extends Error>(
  error: E,
  meta: Record<string, any>,
): E {
  auditMetaOfErrors.set(error, meta);
  return error;
}

/** The meta {@link withAuditMeta} attached to `error`, for its failed audit event. */
export function auditMetaOf(error: unknown): Record<string, any> | undefined {
  return typeof error === 'object' && error !== null
    ? auditMetaOfErrors.get(error)
    : undefined;
}

/** What the `action` of a recorded run may be: an action id such as `acme:db:rotate`. */
const ACTION_NAME = /^[A-Za-z0-9][A-Za-z0-9:._/-]*$/;

/** `text` with every character but printable ASCII written as `\uXXXX`: what a refusal names is seen. */
function visibly(text: string): string {
  return text.replace(
    /[^\x20-\x7e]|["\\]/g,
    c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** At most this many step events are named in a `run-events` audit event. */
const MAX_AUDITED_STEPS = 50;

/**
 * The most objects (each item of a List counted) the manifest of a recorded run's finish may hold:
 * as many as one drift pass compares. More is refused (413) as the manifest is read, before the rest
 * of it is read and before anything walks its objects: the secrets of a manifest are looked for, and
 * it is written out again, object by object, in one synchronous step.
 */
export const MAX_RECORDED_MANIFEST_OBJECTS =
  RECORDED_RUN_LIMITS.maxManifestObjects;

/** The most events one recorded run stores (its action's `POST /runs/:id/events`); more get 413. */
export const MAX_RECORDED_RUN_EVENTS = RECORDED_RUN_LIMITS.maxEvents;

/** The most characters the messages of one recorded run's events hold together; more get 413. */
export const MAX_RECORDED_RUN_EVENT_CHARACTERS =
  RECORDED_RUN_LIMITS.maxEventCharacters;

export type RecordedRunRoutesOptions = {
  store: RunStore;
  /** Identifies this backend instance in the run row (it granted the lease). */
  instanceId: string;
  /** `namespaceOwners`: with the tenants, who owns a recorded run's target (recorded on it, for drift). */
  settings?: Pick<EngineSettings, 'releaseLocksAfterSeconds'> &
    Partial<Pick<EngineSettings, 'namespaceOwners'>>;
  onBehalfOfServices: string[];
  /** Plugins that may pass a user's credentials on (`kubechart.onBehalfOf.relayingPlugins`). */
  relayingPlugins?: string[];
  /** Checks `kubechart.runs.create` and resolves the caller's credentials; a refusal is audited as `attempt`. */
  authorize(
    req: Request,
    attempt?: RefusedAttempt,
  ): Promise<BackstageCredentials>;
  /**
   * The run when the caller may read it, refused as `GET /runs/:id` refuses it otherwise (404 as for
   * a run that does not exist; 403 when reading runs is denied): what the write routes say of a run
   * (who recorded it, that kubechart executes it) is told only to a caller who may read it.
   */
  readableRun(req: Request, id: string): Promise<Run>;
  /**
   * Throws NotAllowedError unless the actor may run in the target namespace (and for the entity,
   * when one is named), as `POST /runs` checks its runs (`resolveRunScope`); resolves what it found,
   * with the entity's owner (`entityOwner`) when an entity is named.
   */
  checkScope(
    credentials: BackstageCredentials,
    actor: string,
    run: { target: Run['target']; entityRef?: string },
  ): Promise<{ entityOwner?: string }>;
  /**
   * The name of the approval rule that protects a target (as a run started there would find it), if
   * any: nothing is recorded there, as a recorded run cannot be approved.
   */
  protectingRule(target: Run['target']): Promise<string | undefined>;
  /**
   * Why objects of the manifest a recorded run reports lie outside its namespace (see
   * `RunEngine.outsideNamespace`); empty when none do.
   */
  outsideNamespace(run: Run, objects: KubeObject[]): Promise<string[]>;
  audited: Audited;
  /**
   * `audited` for a request that asks for a run as `actor`: refused with 429 before any event is
   * created once the actor had too many such requests refused this minute.
   */
  auditedRunRequest(actor: string): Audited;
  /** Records a change refused before it started (403, 404) as `attempt`, failed. */
  auditRefused(
    req: Request,
    attempt: RefusedAttempt,
    error: Error,
  ): Promise<void>;
  onRunChanged?: (run: Run) => void;
  /** Told once when a recorded run's end is stored (metrics). */
  onRunFinished?: (run: Run) => void;
};

/** The caller as runs name it: a user entity ref, or `service:<subject>`. */
export function principalRef(credentials: BackstageCredentials): string {
  const p = credentials.principal as {
    type: string;
    userEntityRef?: string;
    subject?: string;
  };
  return p.type === 'user' ? String(p.userEntityRef) : `service:${p.subject}`;
}

/**
 * Who may add events to and finish a recorded run: its actor when a user or the service that
 * recorded it as itself, and the service that recorded it on behalf of that user while that service
 * is in `kubechart.onBehalfOf.allowedServices`.
 */
function recordedRunWriters(
  actor: string,
  recordedBy: string | undefined,
  onBehalfOfServices: string[],
): string[] {
  const writers: string[] = [];
  if (actor.startsWith('user:') || actor === recordedBy) writers.push(actor);
  if (
    recordedBy &&
    recordedBy !== actor &&
    recordedBy.startsWith('service:') &&
    onBehalfOfServices.includes(recordedBy.slice('service:'.length))
  )
    writers.push(recordedBy);
  return writers;
}

/** Why nothing is recorded on a target approval rule `rule` protects (`POST /runs/record`, `/finish`). */
function protectedTarget(target: Run['target'], rule: string): string {
  return `Namespace ${target.namespace} on cluster ${target.cluster} is protected by approval rule ${rule}: changes there need approval (POST /runs), and a recorded run cannot be approved; nothing was recorded`;
}

/** The lock keys of a recorded run: its release (when it names one) and always its namespace. */
export function recordedRunLockKeys(target: Run['target']): string[] {
  const { cluster, namespace, release } = target;
  return withNamespaceLock(
    target,
    release ? [`rel:${cluster}/${namespace}/${release}`] : [],
  );
}

/**
 * Runs executed by a caller (a platform team's scaffolder action) and recorded in history:
 * `POST /runs/record`, `POST /runs/:id/events`, `POST /runs/:id/finish`, each an audit event
 * (`run-record`, `run-events`, `run-finish`), refusals included. A recorded run locks its
 * namespace like an engine run (a tenant delete and any run there exclude each other), and its
 * events and finish are fenced by its lease epoch: once another instance reconciled it (its
 * action stopped reporting), nothing the action sends changes it and its locks are released.
 */
export function addRecordedRunRoutes(
  router: Router,
  options: RecordedRunRoutesOptions,
) {
  const { store, authorize, audited } = options;
  const graceMs = (options.settings?.releaseLocksAfterSeconds ?? 300) * 1000;

  router.post('/runs/record', async (req, res) => {
    const body = parse(recordRunSchema, req.body, 'recorded run');
    const attempt: RefusedAttempt = {
      eventId: 'run-record',
      meta: {
        kind: body.kind,
        action: body.action ?? null,
        cluster: body.target.cluster,
        namespace: body.target.namespace,
        requestedEntityRef: body.entityRef ?? null,
      },
    };
    const credentials = await authorize(req, attempt);
    let acting;
    try {
      acting = effectiveActor(
        credentials,
        body.onBehalfOf,
        options.onBehalfOfServices,
        options.relayingPlugins,
      );
    } catch (e) {
      // An onBehalfOf that is not honoured: refused and audited as other refusals are.
      if (e instanceof NotAllowedError)
        await options.auditRefused(
          req,
          {
            ...attempt,
            meta: { ...attempt.meta, onBehalfOf: body.onBehalfOf },
          },
          e,
        );
      throw e;
    }
    const { actor } = acting;
    const relayedBy = acting.relayedBy ?? acting.passedOnBy;
    const run = await options.auditedRunRequest(actor)(
      req,
      'run-record',
      {
        kind: body.kind,
        action: body.action ?? null,
        actor,
        cluster: body.target.cluster,
        namespace: body.target.namespace,
        // The event's target entity only once the scope check let the run be recorded for it.
        requestedEntityRef: body.entityRef ?? null,
        ...(relayedBy ? { relayedBy } : {}),
      },
      async () => {
        // Its entity's scope is read from the catalog, which cannot be read as the relayed user.
        refuseRelayedEntityRef(acting, body.entityRef);
        refuseUnrelayedTemplate(acting, body.template);
        // An action is named by a plain identifier: a name with an invisible or blank first
        // character, or look-alike letters, would read as another action in history.
        if (body.action !== undefined && !ACTION_NAME.test(body.action)) {
          throw new InputError(
            `The recorded run names the action "${visibly(
              body.action,
            )}", which is not an action name: it must start with a letter or digit and hold only ASCII letters, digits and : . _ / -; nothing was recorded. Name the action that did the work as its id reads (acme:db:rotate).`,
          );
        }
        // KubeChart's own actions start their runs through POST /runs: a record naming one would
        // stand in history as KubeChart's work.
        if (body.action && /^kubechart:/i.test(body.action)) {
          throw new InputError(
            `The recorded run names the action ${body.action}, but ${body.action} is one of KubeChart's own actions, whose runs KubeChart starts and records itself; nothing was recorded. Name the action that did the work.`,
          );
        }
        // Tenant runs change what the engine alone keeps true (the tenant record, its namespace):
        // a record of one would be a history entry nothing stands behind.
        if (body.kind === 'tenant' || body.kind === 'tenant-delete') {
          throw new InputError(
            `A ${body.kind} run is executed by kubechart (POST /runs); it cannot be recorded. Record the action's own work as kind custom.`,
          );
        }
        // The same namespace (and entity) a run started through POST /runs would be held to: a
        // recorded run locks its namespace and enters the entity's history and drift records.
        const scope = await options.checkScope(credentials, actor, body);
        // A change to a protected target is applied once approved (POST /runs); what an action
        // reports as done there would stand in history as applied with nobody's approval. Refused,
        // fail closed: nothing records on protected targets.
        const rule = await options.protectingRule(body.target);
        if (rule) throw new NotAllowedError(protectedTarget(body.target, rule));
        const created = await store.createRun(
          {
            id: randomUUID(),
            kind: body.kind as Run['kind'],
            status: 'pending',
            entityRef: body.entityRef,
            entityOwner: scope.entityOwner,
            actor,
            template: body.template,
            action: body.action ?? 'custom',
            recordedBy: principalRef(credentials),
            target: body.target,
            input: redactValues(body.input ?? {}),
          },
          recordedRunLockKeys(body.target),
          // Locks of a reconciled run whose action went silent are taken over after the grace period.
          {
            abandonedBefore: new Date(Date.now() - graceMs),
            assignedOwner:
              options.settings?.namespaceOwners?.[body.target.cluster]?.[
                body.target.namespace
              ],
          },
        );
        try {
          const lease = await store.claimRun(created.id, options.instanceId);
          if (lease.epoch !== RECORDED_LEASE_EPOCH) {
            throw new Error(`it was claimed at epoch ${lease.epoch}`);
          }
        } catch (e) {
          throw await failUnstarted(created, e);
        }
        return created;
      },
      r => ({ runId: r.id, entityRef: r.entityRef ?? null }),
    );
    const claimed = await store.getRun(run.id);
    if (claimed) options.onRunChanged?.(claimed);
    res.status(201).json({ id: run.id });
  });

  /**
   * A run created (its locks taken) whose claim failed: its action never learns its id, so nothing
   * would ever finish it. Fails it at once, releasing its locks, and returns the error that says
   * what happened to it, carrying the run for the `run-record` audit event. When it cannot be
   * failed either, the error says it stays pending until stale-run recovery reconciles it.
   */
  async function failUnstarted(run: Run, cause: unknown): Promise<Error> {
    const { cluster, namespace } = run.target;
    const started = `Recorded run ${run.id} was created but could not be started (${cause})`;
    const locks = `its locks (namespace ${namespace} on cluster ${cluster})`;
    let error: Error;
    let after: Run | undefined;
    try {
      await store.finishRun(
        run.id,
        'failed',
        {
          failureReason: `The backend could not start this recorded run after creating it: ${cause}`,
        },
        { onlyIfActive: true },
      );
      // A run another instance reconciled meanwhile keeps its locks until they are released.
      await store.releaseLocks(run.id);
      after = await store.getRun(run.id);
      error = withAuditMeta(
        new Error(
          `${started}; it was marked ${
            after?.status ?? 'failed'
          } and ${locks} were released. Nothing else was recorded; record the run again`,
        ),
        {
          runId: run.id,
          runStatus: after?.status ?? 'failed',
          locksReleased: true,
        },
      );
    } catch (e) {
      error = withAuditMeta(
        new Error(
          `${started}, nor marked failed (${e}); it stays pending and holds ${locks} until stale-run recovery fails it and its locks are taken over (kubechart.recovery.releaseLocksAfterSeconds: ${
            graceMs / 1000
          })`,
        ),
        { runId: run.id, runStatus: 'pending', locksReleased: false },
      );
    }
    if (after) {
      options.onRunFinished?.(after);
      options.onRunChanged?.(after);
    }
    return cause instanceof LeaseLostError
      ? withAuditMeta(new ConflictError(error.message), auditMetaOf(error)!)
      : error;
  }

  /**
   * The recorded run, with the lease it writes under, when the caller may write to it: its actor
   * (a user, or a service that recorded it as itself), or the service that recorded it on behalf
   * of that user while it may still act on behalf of users. 403 otherwise, nothing changed; a writer
   * of a run kubechart executes gets 409. With `attempt`, each refusal is recorded as that event.
   */
  async function recordedRun(
    req: Request,
    id: string,
    attempt?: RefusedAttempt,
  ): Promise<{ run: Run; lease: RunLease; relayedBy?: string }> {
    try {
      return await writableRecordedRun(req, id);
    } catch (e) {
      if (
        attempt &&
        (e instanceof NotAllowedError ||
          e instanceof NotFoundError ||
          e instanceof ConflictError)
      )
        await options.auditRefused(req, attempt, e);
      throw e;
    }
  }

  async function writableRecordedRun(
    req: Request,
    id: string,
  ): Promise<{ run: Run; lease: RunLease; relayedBy?: string }> {
    const credentials = await authorize(req);
    // Anyone who may not read the run gets the answer `GET /runs/:id` gives, whatever the run is.
    const run = await options.readableRun(req, id);
    // Who may write is checked first: how a run executes is told to those who may write to it.
    // Only that service could record a run whose actor is a service (it acted as itself).
    const recordedBy =
      (await store.getRecordedBy(id)) ??
      (run.actor.startsWith('service:') ? run.actor : undefined);
    const writers = recordedRunWriters(
      run.actor,
      recordedBy,
      options.onBehalfOfServices,
    );
    if (!writers.includes(principalRef(credentials))) {
      let by = `of ${run.actor} was recorded before kubechart kept who records runs`;
      if (!run.action) by = `is ${run.actor}'s`;
      else if (recordedBy)
        by = `was recorded by ${recordedBy}${
          recordedBy !== run.actor ? ` on behalf of ${run.actor}` : ''
        }`;
      throw new NotAllowedError(
        `Run ${id} ${by}; only ${
          writers.join(' or ') || 'nobody now'
        } may add events to or finish it`,
      );
    }
    if (!run.action)
      throw new ConflictError(
        `Run ${id} is executed by kubechart; only recorded runs accept events`,
      );
    // The plugin that passed the writer's credentials on, for the trail.
    const relayedBy = passedOnBy(credentials);
    return {
      run,
      lease: { runId: id, epoch: RECORDED_LEASE_EPOCH },
      ...(relayedBy ? { relayedBy } : {}),
    };
  }

  /**
   * Runs a write fenced by the run's lease. A lost lease is a 409 naming what happened; a run that
   * was reconciled has its locks released, as its action has evidently stopped working on it.
   */
  async function fenced<T>(lease: RunLease, write: () => Promise<T>) {
    try {
      return await write();
    } catch (e) {
      if (!(e instanceof LeaseLostError)) throw e;
      const run = await store.getRun(lease.runId);
      if (run?.status === 'succeeded' || run?.status === 'failed')
        await store.releaseLocks(lease.runId);
      throw new ConflictError(
        `${e.message}${
          run?.failureReason ? ` (${run.failureReason})` : ''
        }; nothing was recorded`,
      );
    }
  }

  router.post('/runs/:id/events', async (req, res) => {
    const body = parse(appendEventsSchema, req.body, 'events');
    const scrub = createTextRedactor();
    // What the action says it did (its steps) enters the trail; its log text stays in history.
    const steps = body.events.flatMap(e =>
      e.step ? [{ step: scrub(e.step), status: e.stepStatus ?? null }] : [],
    );
    const meta = {
      runId: req.params.id,
      count: body.events.length,
      steps: steps.slice(0, MAX_AUDITED_STEPS),
      stepCount: steps.length,
    };
    const { run, lease, relayedBy } = await recordedRun(req, req.params.id, {
      eventId: 'run-events',
      meta,
    });
    // One event for the post, and its outcome is the append's: once the events are stored (a
    // transaction that checks the lease), what the heartbeat after it finds is recorded with the
    // success, never as a failure that would say nothing was recorded.
    const afterwards = await audited(
      req,
      'run-events',
      { ...meta, ...(relayedBy ? { relayedBy } : {}) },
      async () => {
        await fenced(lease, () =>
          store
            .appendEvents(
              run.id,
              body.events.map(e => ({
                type: e.step ? 'step' : 'log',
                level: e.level ?? 'info',
                step: e.step,
                stepStatus: e.stepStatus,
                message: scrub(e.message),
              })),
              {
                lease,
                limits: {
                  events: MAX_RECORDED_RUN_EVENTS,
                  characters: MAX_RECORDED_RUN_EVENT_CHARACTERS,
                },
              },
            )
            .catch(e => {
              if (!(e instanceof RunEventLimitError)) throw e;
              const unit =
                e.unit === 'events' ? 'events' : 'characters of event messages';
              throw new PayloadTooLargeError(
                `Recorded run ${run.id} holds ${e.held} ${unit}; with the ${
                  e.sent
                } sent it would hold ${e.held + e.sent}, more than the ${
                  e.max
                } a recorded run may store. Nothing was recorded`,
              );
            }),
        );
        return heartbeat(lease);
      },
      found => found,
    );
    if (afterwards.leaseLost) {
      const count = body.events.length;
      throw new ConflictError(
        `${afterwards.leaseLost}. The ${count} event${
          count === 1 ? '' : 's'
        } sent ${
          count === 1 ? 'was' : 'were'
        } recorded before that was found; nothing more is accepted for this run`,
      );
    }
    res.status(204).end();
  });

  /**
   * Events are the action's sign of life: they renew the run's lease (its heartbeat), after they
   * were stored. A lease found lost then (another instance reconciled the run meanwhile) is
   * returned as `leaseLost`, with the locks of the ended run released as {@link fenced} releases
   * them; a heartbeat that fails is returned as `heartbeatFailed` (the next post renews it).
   */
  async function heartbeat(
    lease: RunLease,
  ): Promise<{ leaseLost?: string; heartbeatFailed?: string }> {
    try {
      if ((await store.renewLeases([lease])).length)
        await store.verifyLease(lease);
      return {};
    } catch (e) {
      if (!(e instanceof LeaseLostError))
        return { heartbeatFailed: e instanceof Error ? e.message : String(e) };
      const run = await store.getRun(lease.runId).catch(() => undefined);
      if (run?.status === 'succeeded' || run?.status === 'failed')
        await store.releaseLocks(lease.runId).catch(() => false);
      return {
        leaseLost: `${e.message}${
          run?.failureReason ? ` (${run.failureReason})` : ''
        }`,
      };
    }
  }

  /**
   * The refusal of the finish of a recorded run whose target approval rule `rule` protects now,
   * after failing the run under its lease with that reason (its locks released): carries, for the
   * `run-finish` audit event, the target and what became of the run.
   */
  async function refuseProtected(
    run: Run,
    lease: RunLease,
    rule: string,
    status: string,
  ): Promise<Error> {
    const message = protectedTarget(run.target, rule);
    let locksReleased = true;
    let failedHere = true;
    try {
      await store.finishRun(
        run.id,
        'failed',
        { failureReason: `Its finish (${status}) was refused: ${message}` },
        { lease },
      );
    } catch (e) {
      // Reconciled meanwhile: it has ended, and nothing is recorded either way.
      if (!(e instanceof LeaseLostError)) throw e;
      failedHere = false;
      locksReleased = await store.releaseLocks(run.id);
    }
    const after = await store.getRun(run.id);
    if (after && failedHere) {
      options.onRunFinished?.(after);
      options.onRunChanged?.(after);
    }
    return withAuditMeta(new NotAllowedError(message), {
      cluster: run.target.cluster,
      namespace: run.target.namespace,
      runStatus: after?.status ?? 'failed',
      locksReleased,
    });
  }

  router.post('/runs/:id/finish', async (req, res) => {
    const body = parse(finishRunSchema, req.body, 'finish request');
    const { run, lease, relayedBy } = await recordedRun(req, req.params.id, {
      eventId: 'run-finish',
      meta: { runId: req.params.id, status: body.status },
    });
    // Every refusal from here on is the writer's finish refused: a failed `run-finish` event.
    await audited(
      req,
      'run-finish',
      {
        runId: run.id,
        status: body.status,
        ...(relayedBy ? { relayedBy } : {}),
      },
      async () => {
        // The secret values it reports (its values', its manifest's Secrets') are removed wherever
        // else they appear in what it reports: a ConfigMap or annotation of the manifest, the
        // failure reason. More secret values than one values object or manifest may bring is a 400
        // (MAX_SECRET_VALUES).
        const secrets = collectSecretValues(body.values ?? {});
        let objects: KubeObject[] = [];
        if (body.manifest !== undefined) {
          // Read whole (every object, up to MAX_RECORDED_MANIFEST_OBJECTS: the limit of a policy
          // check is no limit here), or refused: a manifest whose objects are not known is neither
          // held to the namespace nor searched for secrets, so none of it is stored. More objects
          // are refused as they are read, before anything else walks them (secrets, namespaces,
          // redaction).
          try {
            objects = await parseManifestsInTurns(body.manifest, {
              maxObjects: MAX_RECORDED_MANIFEST_OBJECTS,
            });
          } catch (e) {
            if (e instanceof InputLimitError && e.limit === 'maxObjects')
              throw new PayloadTooLargeError(
                `The manifest of recorded run ${run.id} holds more than ${MAX_RECORDED_MANIFEST_OBJECTS} objects (each item of a List counted); a recorded run may report at most ${MAX_RECORDED_MANIFEST_OBJECTS}. Nothing was recorded`,
              );
            throw new InputError(
              `The manifest of recorded run ${run.id} cannot be read: ${
                e instanceof Error ? e.message : String(e)
              }. Nothing was recorded`,
            );
          }
          secrets.push(...collectManifestSecretValues(objects));
        }
        const scrubKnown = createTextRedactor(secrets, {
          keyValuePairs: false,
        });
        const scrubText = createTextRedactor(secrets);
        // A run recorded before an approval rule protected its target: what its action reports now
        // would stand in history (and drift) as applied there with nobody's approval, which
        // `POST /runs/record` refuses today. Refused alike; the run fails (nobody could finish it)
        // with that reason, releasing its locks, and nothing it reported is stored.
        const rule = await options.protectingRule(run.target);
        if (rule) throw await refuseProtected(run, lease, rule, body.status);
        // The manifest is what drift compares with the cluster (read with the engine's identity)
        // and what history shows as applied: it is held to the run's namespace like the run.
        // (Documents that are no Kubernetes object, without apiVersion or kind, nothing reads.)
        const outside = await options.outsideNamespace(
          run,
          objects.filter(
            o =>
              typeof o?.apiVersion === 'string' && typeof o?.kind === 'string',
          ),
        );
        if (outside.length) {
          throw new NotAllowedError(
            `The manifest of recorded run ${run.id} holds ${
              outside.length
            } object(s) outside its namespace ${run.target.namespace}: ${outside
              .slice(0, 3)
              .join('; ')}${
              outside.length > 3 ? '; …' : ''
            }. Nothing was recorded`,
          );
        }
        // A document per turn of the event loop, as it was read.
        const manifest =
          body.manifest !== undefined
            ? await redactManifestInTurns(
                body.manifest,
                secrets.length ? { scrub: scrubKnown } : {},
              )
            : undefined;
        // The secrets the finish names are removed from the events posted before it, which
        // history shows beside the values that hide them.
        if (secrets.length)
          await fenced(lease, () =>
            store.scrubEvents(run.id, scrubKnown, { lease }),
          );
        return fenced(lease, () =>
          store.finishRun(
            run.id,
            body.status,
            {
              failureReason: body.failureReason
                ? scrubText(body.failureReason)
                : undefined,
              helmRevision: body.helmRevision,
              manifest,
              values:
                body.values !== undefined
                  ? scrubStrings(redactValues(body.values), scrubKnown)
                  : undefined,
            },
            { lease },
          ),
        );
      },
    );
    const after = await store.getRun(run.id);
    if (after) {
      options.onRunFinished?.(after);
      options.onRunChanged?.(after);
    }
    res.status(204).end();
  });
}
