import {
  AuditorService,
  HttpAuthService,
  LoggerService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { NotAllowedError, NotFoundError } from '@backstage/errors';
import {
  AuthorizeResult,
  BasicPermission,
} from '@backstage/plugin-permission-common';
import {
  auditLogEventsExportPermission,
  auditLogEventsPrunePermission,
  auditLogEventsReadPermission,
} from '@kubechart/plugin-audit-log-common';
import express, { Request } from 'express';
import Router from 'express-promise-router';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AuditStore } from '../database/AuditStore';
import { csvChunks, ndjsonChunks } from './exportStream';
import {
  parseEventsQuery,
  parseExportQuery,
  parsePruneBody,
  parseSeq,
} from './queryParams';

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
};

/**
 * The audit-log REST API.
 * @public
 */
export async function createRouter(
  options: RouterOptions,
): Promise<express.Router> {
  const { store, httpAuth, permissions, auditor, logger } = options;
  const router = Router();
  router.use(express.json());

  /** Throws NotAllowedError unless the caller is granted `permission`. */
  async function authorize(req: Request, permission: BasicPermission) {
    const credentials = await httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    const [decision] = await permissions.authorize([{ permission }], {
      credentials,
    });
    if (decision.result !== AuthorizeResult.ALLOW) {
      throw new NotAllowedError(`Missing permission ${permission.name}`);
    }
  }

  // Reads are not audited: the live tail refetches on every new event, and
  // auditing those reads would feed itself.
  router.get('/events', async (req, res) => {
    await authorize(req, auditLogEventsReadPermission);
    const query = parseEventsQuery(req.query);
    res.json(await store.query(query));
  });

  router.get('/events/:seq', async (req, res) => {
    await authorize(req, auditLogEventsReadPermission);
    const seq = parseSeq(req.params.seq);
    const event = await store.get(seq);
    if (!event) {
      throw new NotFoundError(`No audit event ${seq}`);
    }
    res.json(event);
  });

  router.get('/verify', async (req, res) => {
    await authorize(req, auditLogEventsReadPermission);
    const auditEvent = await auditor.createEvent({
      eventId: 'chain-verify',
      request: req,
    });
    try {
      const result = await store.verify();
      await auditEvent.success({
        meta: {
          ok: result.ok,
          checked: result.checked,
          failedSeq: result.failedSeq ?? null,
        },
      });
      res.json(result);
    } catch (error) {
      await auditEvent.fail({ error: error as Error });
      throw error;
    }
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

  router.post('/prune', async (req, res) => {
    await authorize(req, auditLogEventsPrunePermission);
    const { before } = parsePruneBody(req.body);
    const auditEvent = await auditor.createEvent({
      eventId: 'events-prune',
      severityLevel: 'high',
      request: req,
      meta: { before: before.toISOString() },
    });
    try {
      const result = await store.prune({ before });
      await auditEvent.success({ meta: { deleted: result.deleted } });
      res.json(result);
    } catch (error) {
      await auditEvent.fail({ error: error as Error });
      throw error;
    }
  });

  return router;
}
