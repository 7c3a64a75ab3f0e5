import {
  AuditorService,
  BackstageCredentials,
  HttpAuthService,
  LifecycleService,
  LoggerService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { InputError, NotAllowedError, NotFoundError } from '@backstage/errors';
import {
  AuthorizeResult,
  BasicPermission,
} from '@backstage/plugin-permission-common';
import {
  AuditEvent,
  auditLogEntityEventsReadPermission,
  auditLogEventsExportPermission,
  auditLogEventsPrunePermission,
  auditLogEventsReadPermission,
  AuditVerifyResult,
  checkRelayingPlugin,
  RefusalWindow,
  RelayingPluginsPolicy,
  relayingPluginOf,
} from '@kubechart/plugin-audit-log-common';
import {
  AuditLogCreateEventOptions,
  EntityOwnersReader,
} from '@kubechart/plugin-audit-log-node';
import express, { NextFunction, Request, Response } from 'express';
import Router from 'express-promise-router';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AuditStore } from '../database/AuditStore';
import { AnchorMemory, verifyAgainstWitness } from './anchors';
import { AuditWitnessRecords, CheckpointWitness } from './checkpointWitness';
import { entityOwnersNow, ownedAsRecorded } from './entityOwners';
import { queryEntityScoped, queryGrantedEntity } from './entityScope';
import { csvChunks, ndjsonChunks } from './exportStream';
import {
  checkPruneCutoff,
  DEFAULT_MINIMUM_RETENTION_DAYS,
  pruneAudited,
} from './retention';
import {
  parseEventsQuery,
  parseExportQuery,
  parsePruneBody,
  parseSeq,
} from './queryParams';
import { DEFAULT_RELAYING_POLICY } from './relayingPlugins';

/**
 * Dependencies of {@link createRouter}.
 * @public
 */
export type RouterOptions = {
  store: AuditStore;
  httpAuth: HttpAuthService;
  permissions: PermissionsService;
  auditor: AuditorService;
  logger: LoggerService;
  /** Emits each prune's checkpoint outside the database. */
  witness: CheckpointWitness;
  /** `auditLog.retention.minimumDays`; default 90. */
  minimumRetentionDays?: number;
  /**
   * Reads the newest head anchor and the prune checkpoints from the witness file, for
   * `GET /verify` to check the chain against (see the README's _Head anchors_). Without it,
   * or when it returns undefined, verify checks the database alone.
   */
  readWitness?: () => Promise<AuditWitnessRecords | undefined>;
  /**
   * Whether head anchors are published (`auditLog.anchor.enabled`, default true): then a witness
   * file that holds records but no anchor in the part verify reads fails `GET /verify`, as does
   * one that cannot be read, or is missing or empty while the chain holds events.
   */
  anchorsPublished?: boolean;
  /**
   * The anchors this backend published or read, and when it started: a file that held one and
   * holds none now fails `GET /verify`, a missing or empty one passes only within the first
   * anchor interval (without it, never).
   */
  anchorMemory?: AnchorMemory;
  /** Records, on shutdown, the refused prunes only counted so far. */
  lifecycle?: LifecycleService;
  /**
   * The plugins that may pass a user's credentials on (`auditLog.onBehalfOf.relayingPlugins`):
   * such credentials from any other plugin are refused (403) on every route. Default: the plugins
   * the setting lists by default.
   */
  relaying?: RelayingPluginsPolicy;
  /**
   * Who owns entities now: the catalog, read with the plugin's own credentials. A reader limited to
   * their entities reads an event that records its entity's owner only while the entity has that
   * owner still. Without it, such an event is read only by readers of the whole trail (nothing
   * tells whether the entity changed hands).
   */
  entityOwners?: EntityOwnersReader;
};

/**
 * Refused prunes of one caller recorded one by one a minute; the rest are refused all the same and
 * counted in the next one recorded (or in a `refusals-not-recorded` event when the minute ends).
 */
export const REFUSED_PRUNES_AUDITED_PER_MINUTE = 10;

/** Largest JSON body the API accepts (only `POST /prune` takes one). */
export const MAX_BODY_BYTES = 16 * 1024;

/** The body-parser refusal of a `POST /prune`, which the route records (see {@link pruneBodyErrors}). */
const BODY_ERROR = Symbol('bodyError');

/** A charset or content encoding as a refusal names it: a short token, else not at all. */
function headerToken(value: unknown): string {
  return typeof value === 'string' && /^[\w.:+-]{1,40}$/.test(value)
    ? value
    : '(not named here)';
}

/**
 * A body-parser refusal: a 400 that names the limit or the JSON, a 415 that names the charset
 * or content encoding it does not read; undefined for another error.
 */
function bodyRefusal(error: any): InputError | undefined {
  if (error?.type === 'entity.too.large') {
    return new InputError(
      `Request body exceeds the limit of ${MAX_BODY_BYTES} bytes`,
    );
  }
  if (error?.type === 'entity.parse.failed') {
    return new InputError('Request body is not valid JSON');
  }
  if (error?.type === 'charset.unsupported') {
    return Object.assign(
      new InputError(
        `Request body charset ${headerToken(
          String(error.charset ?? '').toUpperCase(),
        )} is not supported: send JSON in UTF-8`,
      ),
      { statusCode: 415 },
    );
  }
  if (error?.type === 'encoding.unsupported') {
    return Object.assign(
      new InputError(
        `Request body content encoding ${headerToken(
          error.encoding,
        )} is not supported: send it unencoded, gzip or deflate`,
      ),
      { statusCode: 415 },
    );
  }
  return undefined;
}

/** Turns body-parser refusals into 400s and 415s that say what was refused (see {@link bodyRefusal}). */
function bodyErrors(
  error: any,
  _req: Request,
  _res: Response,
  next: NextFunction,
) {
  next(bodyRefusal(error) ?? error);
}

/**
 * Hands a body-parser refusal of `POST /prune` on to the route, without a body: the route refuses
 * it as a refused prune, recorded with the caller, as it does a body that names no valid cut-off.
 */
function pruneBodyErrors(
  error: any,
  req: Request,
  _res: Response,
  next: NextFunction,
) {
  const refusal = req.method === 'POST' ? bodyRefusal(error) : undefined;
  if (!refusal) {
    next(error);
    return;
  }
  (req as Request & { [BODY_ERROR]?: Error })[BODY_ERROR] = refusal;
  req.body = undefined;
  next();
}

/**
 * The audit-log REST API.
 * @public
 */
export async function createRouter(
  options: RouterOptions,
): Promise<express.Router> {
  const { store, httpAuth, permissions, auditor, logger, witness } = options;
  const relaying = options.relaying ?? DEFAULT_RELAYING_POLICY;
  // 503 when the catalog cannot be read: a reader limited to their entities gets no page rather
  // than one that holds another owner's events or leaves their own out
  const ownersNow = entityOwnersNow(options.entityOwners);
  const minimumDays =
    options.minimumRetentionDays ?? DEFAULT_MINIMUM_RETENTION_DAYS;
  const router = Router();
  router.use(express.json({ limit: MAX_BODY_BYTES }));
  router.use('/prune', pruneBodyErrors);
  router.use(bodyErrors);
  const refusals = new RefusalWindow(
    REFUSED_PRUNES_AUDITED_PER_MINUTE,
    recordUnrecorded,
  );
  options.lifecycle?.addShutdownHook(() => refusals.flush());

  /** The refused prunes of a caller that were only counted, when no later refusal carried the count. */
  async function recordUnrecorded(actor: string, count: number, since: Date) {
    try {
      const eventOptions: AuditLogCreateEventOptions = {
        eventId: 'refusals-not-recorded',
        severityLevel: 'high',
        meta: { actor, outcome: 'refused', refusedNotRecorded: count },
        changesNothing: true,
      };
      const event = await auditor.createEvent(eventOptions);
      await event.fail({
        error: new Error(
          `${count} refused prunes of ${actor} since ${since.toISOString()} were not recorded one by one (at most ${REFUSED_PRUNES_AUDITED_PER_MINUTE} a minute)`,
        ),
      });
    } catch (e) {
      logger.error(
        `${count} refused prunes of ${actor} since ${since.toISOString()} could not be recorded: ${e}`,
      );
    }
  }

  /**
   * A prune refused before it could start (no permission, a service token, a cut-off the retention
   * forbids, a user's credentials passed on by a plugin that may not, named as `relayedBy`): the
   * trail shows who asked to cut it where. Bounded per caller by `refusals`. A refusal
   * changes nothing, so its record is queued, not waited for, and a record that fails is logged:
   * the caller gets the refusal either way.
   */
  async function auditPruneRefused(
    req: Request,
    credentials: BackstageCredentials,
    error: Error,
  ): Promise<void> {
    const principal = credentials.principal as {
      type: string;
      userEntityRef?: string;
      subject?: string;
    };
    const actor =
      principal.type === 'user'
        ? principal.userEntityRef!
        : `service:${principal.subject}`;
    const notRecorded = refusals.take(actor);
    if (notRecorded === undefined) return;
    const relayedBy = relayingPluginOf(credentials);
    let before: string | null = null;
    try {
      before = parsePruneBody(req.body).before.toISOString();
    } catch {
      // a body that does not parse names no cut-off
    }
    const eventOptions: AuditLogCreateEventOptions = {
      eventId: 'events-prune',
      severityLevel: 'high',
      request: req,
      meta: {
        before,
        reason: 'on request',
        actor,
        ...(relayedBy ? { relayedBy } : {}),
        outcome: 'refused',
        ...(notRecorded ? { refusedNotRecorded: notRecorded } : {}),
      },
      changesNothing: true,
    };
    try {
      const event = await auditor.createEvent(eventOptions);
      await event.fail({ error });
    } catch (e) {
      logger.error(
        `A refused prune of ${actor} could not be recorded: ${e} (refused: ${error.message})`,
      );
    }
  }

  /** Throws NotAllowedError unless the caller is granted `permission`. */
  async function authorize(
    req: Request,
    permission: BasicPermission,
    allow: Array<'user' | 'service'> = ['user', 'service'],
  ) {
    const credentials = await httpAuth.credentials(req, { allow });
    checkRelayingPlugin(credentials, relaying);
    const [decision] = await permissions.authorize([{ permission }], {
      credentials,
    });
    if (decision.result !== AuthorizeResult.ALLOW) {
      throw new NotAllowedError(`Missing permission ${permission.name}`);
    }
    return credentials;
  }

  /**
   * Readers with `audit-log.events.read` see everything; others may read the
   * events of the entities the policy grants them
   * `audit-log.entity-events.read` on (e.g. the entities they own): one entity
   * with `?entityRef=`, or, without it, every event that targets such an
   * entity. `undefined` means the caller reads everything (of the entity asked
   * for). Under a conditional decision, an event that records the owner its
   * entity had is read only while the entity has that owner still (see
   * `ownedAsRecorded`).
   */
  async function readScope(req: Request, entityRef: string | undefined) {
    const credentials = await httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    checkRelayingPlugin(credentials, relaying);
    const [all] = await permissions.authorize(
      [{ permission: auditLogEventsReadPermission }],
      { credentials },
    );
    if (all.result === AuthorizeResult.ALLOW) {
      return undefined;
    }
    const [some] = await permissions.authorizeConditional(
      [{ permission: auditLogEntityEventsReadPermission }],
      { credentials },
    );
    if (entityRef) {
      // every entity: the events of this one, whoever owned it
      if (some.result === AuthorizeResult.ALLOW) {
        return undefined;
      }
      if (some.result === AuthorizeResult.CONDITIONAL) {
        const [one] = await permissions.authorize(
          [
            {
              permission: auditLogEntityEventsReadPermission,
              resourceRef: entityRef,
            },
          ],
          { credentials },
        );
        if (one.result === AuthorizeResult.ALLOW) {
          return { credentials, decision: some.result };
        }
      }
      throw new NotAllowedError(
        `Missing permission ${auditLogEventsReadPermission.name}, or ${auditLogEntityEventsReadPermission.name} on ${entityRef}`,
      );
    }
    if (some.result === AuthorizeResult.DENY) {
      throw new NotAllowedError(
        `Missing permission ${auditLogEventsReadPermission.name}, or ${auditLogEntityEventsReadPermission.name}`,
      );
    }
    return { credentials, decision: some.result };
  }

  /**
   * Whether a reader limited to some entities (`scope` from {@link readScope})
   * may read `event`: never one without an entity; under a conditional
   * decision, one whose entity the policy grants them, recorded while the
   * entity had the owner it has now or recording no owner.
   */
  async function mayReadEvent(
    scope: NonNullable<Awaited<ReturnType<typeof readScope>>>,
    event: AuditEvent,
  ) {
    const entityRef = event.target.entityRef;
    if (!entityRef) {
      return false;
    }
    if (scope.decision === AuthorizeResult.ALLOW) {
      return true;
    }
    const [one] = await permissions.authorize(
      [
        {
          permission: auditLogEntityEventsReadPermission,
          resourceRef: entityRef,
        },
      ],
      { credentials: scope.credentials },
    );
    return (
      one.result === AuthorizeResult.ALLOW &&
      (await ownedAsRecorded([event], ownersNow, new Map()))(event)
    );
  }

  // Reads are not audited: the live tail refetches on every new event, and
  // auditing those reads would feed itself.
  router.get('/events', async (req, res) => {
    const query = parseEventsQuery(req.query);
    const scope = await readScope(req, query.entityRef);
    if (!scope) {
      res.json(await store.query(query));
    } else if (query.entityRef) {
      // granted on this entity under a conditional decision
      res.json(
        await queryGrantedEntity({
          store,
          query: { ...query, entityRef: query.entityRef },
          ownersNow,
        }),
      );
    } else {
      res.json(
        await queryEntityScoped({
          store,
          permissions,
          query,
          ownersNow,
          ...scope,
        }),
      );
    }
  });

  // An event the caller may not read is answered as a missing one (404, as
  // Backstage's catalog answers an entity the caller may not see): a 403 would
  // say that it exists and name its entity. A reader the policy grants nothing
  // gets the same 403 for every event, which tells nothing of any.
  router.get('/events/:seq', async (req, res) => {
    const seq = parseSeq(req.params.seq);
    const scope = await readScope(req, undefined);
    const event = await store.get(seq);
    if (!event || (scope && !(await mayReadEvent(scope, event)))) {
      throw new NotFoundError(`No audit event ${seq}`);
    }
    res.json(event);
  });

  /**
   * One walk of the chain at a time: a verify asked for while one runs gets that walk's answer
   * (each request is still authorized and audited), so repeated requests cannot each start a walk of
   * the whole trail.
   */
  let walking: Promise<AuditVerifyResult> | undefined;
  function verifyOnce(): Promise<AuditVerifyResult> {
    walking ??= verifyAgainstWitness({
      store,
      witness: { read: options.readWitness ?? (async () => undefined) },
      anchorsPublished: options.anchorsPublished,
      memory: options.anchorMemory,
    }).finally(() => {
      walking = undefined;
    });
    return walking;
  }

  // Recorded once the walk is done, for its severity to say what it found: a chain found broken, or
  // whose tail no head anchor in the witness file vouches for, is a failed `chain-verify` of
  // severity high (what a filter for failed or high events shows), an intact one a succeeded one of
  // severity low. The answer is the walk's result either way.
  router.get('/verify', async (req, res) => {
    await authorize(req, auditLogEventsReadPermission);
    let result: AuditVerifyResult;
    try {
      result = await verifyOnce();
    } catch (error) {
      const auditEvent = await auditor.createEvent({
        eventId: 'chain-verify',
        request: req,
      });
      await auditEvent.fail({ error: error as Error });
      throw error;
    }
    const meta = {
      ok: result.ok,
      checked: result.checked,
      failedSeq: result.failedSeq ?? null,
      anchorSeq: result.anchor?.seq ?? null,
    };
    if (result.ok) {
      const auditEvent = await auditor.createEvent({
        eventId: 'chain-verify',
        request: req,
      });
      await auditEvent.success({ meta });
    } else {
      const eventOptions: AuditLogCreateEventOptions = {
        eventId: 'chain-verify',
        severityLevel: 'high',
        request: req,
        // a walk changes nothing: its record does not hold the answer back
        changesNothing: true,
      };
      const auditEvent = await auditor.createEvent(eventOptions);
      let outcome: string;
      let finding: string;
      if (result.anchorMissing) {
        outcome = 'anchor-missing';
        finding = 'No head anchor to check the audit chain against';
      } else if (result.anchorMismatch) {
        outcome = 'anchor-mismatch';
        finding = `The audit chain no longer holds the head anchor of event ${result.anchorMismatch.seq} published at ${result.anchorMismatch.at}`;
      } else {
        outcome = 'chain-broken';
        finding = `The audit chain is broken at event ${result.failedSeq}`;
      }
      await auditEvent.fail({
        error: new Error(`${finding}: ${result.reason}`),
        meta: { outcome, ...meta },
      });
    }
    res.json(result);
  });

  router.get('/export', async (req, res) => {
    await authorize(req, auditLogEventsExportPermission);
    const { format, ...filters } = parseExportQuery(req.query);
    const auditEvent = await auditor.createEvent({
      eventId: 'events-export',
      severityLevel: 'medium',
      request: req,
      meta: { format, filters },
    });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    res.status(200);
    res.setHeader(
      'Content-Type',
      format === 'csv'
        ? 'text/csv; charset=utf-8'
        : 'application/x-ndjson; charset=utf-8',
    );
    res.setHeader(
      'Content-Disposition',
      `attachment; filename="audit-log-${stamp}.${format}"`,
    );
    const events = store.stream(filters);
    const chunks = format === 'csv' ? csvChunks(events) : ndjsonChunks(events);
    try {
      await pipeline(Readable.from(chunks), res);
      await auditEvent.success();
    } catch (error) {
      // Headers are gone already; the client sees a truncated download.
      logger.error(`Audit log export failed: ${error}`);
      await auditEvent.fail({ error: error as Error });
      res.destroy(error as Error);
    }
  });

  // Only a person may prune: a service token cannot erase the trail of what
  // services did.
  router.post('/prune', async (req, res) => {
    const credentials = await httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    // a user's credentials passed on by a plugin not in auditLog.onBehalfOf.relayingPlugins
    try {
      checkRelayingPlugin(credentials, relaying);
    } catch (error) {
      await auditPruneRefused(req, credentials, error as Error);
      throw error;
    }
    // a body the parser refused (not JSON, over the limit, a charset or encoding it does not
    // read): a refused prune as any other
    const bodyError = (req as Request & { [BODY_ERROR]?: Error })[BODY_ERROR];
    if (bodyError) {
      await auditPruneRefused(req, credentials, bodyError);
      throw bodyError;
    }
    if ((credentials.principal as { type: string }).type !== 'user') {
      const error = new NotAllowedError(
        'Only a user may prune the audit log, not a service',
      );
      await auditPruneRefused(req, credentials, error);
      throw error;
    }
    const [decision] = await permissions.authorize(
      [{ permission: auditLogEventsPrunePermission }],
      { credentials },
    );
    if (decision.result !== AuthorizeResult.ALLOW) {
      const error = new NotAllowedError(
        `Missing permission ${auditLogEventsPrunePermission.name}`,
      );
      await auditPruneRefused(req, credentials, error);
      throw error;
    }
    let before: Date;
    try {
      ({ before } = parsePruneBody(req.body));
      checkPruneCutoff(before, minimumDays);
    } catch (error) {
      await auditPruneRefused(req, credentials, error as Error);
      throw error;
    }
    const result = await pruneAudited({
      store,
      auditor,
      witness,
      before,
      reason: 'on request',
      request: req,
      actor: (credentials.principal as { userEntityRef?: string })
        .userEntityRef,
    });
    res.json(result);
  });

  return router;
}
