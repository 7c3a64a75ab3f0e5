import type { Audited } from '../service/runsRecorded';
import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { NotFoundError } from '@backstage/errors';
import { BasicPermission } from '@backstage/plugin-permission-common';
import {
  CreateRunRequest,
  Run,
  kubechartRunsCreatePermission,
  kubechartRunsReadPermission,
  kubechartRunsRollbackPermission,
} from '@kubechart/plugin-kubechart-common';
import { Request, Router } from 'express';
import { z } from 'zod';
import { DriftStore } from '../database/DriftStore';
import { passedOnBy } from '../service/identity';
import { ReadScopes } from '../service/readScope';
import { RefusedAttempt } from '../service/runAudit';
import { closed, parse, textFilter } from '../service/schemas';
import { toRunDrift } from './DriftService';
import { ReleaseHistory, reapplyRequest } from './reapply';

const driftQuery = z
  .object({
    entityRef: textFilter(z.string().min(1).max(255)).optional(),
    cluster: textFilter(z.string().min(1).max(255)).optional(),
    namespace: textFilter(z.string().min(1).max(255)).optional(),
  })
  .strict()
  .refine(q => q.entityRef || q.cluster, {
    message: 'give entityRef, or cluster (and namespace)',
  });

const reapplyBody = closed({ release: z.string().min(1).max(53).optional() });

export type DriftRoutesOptions = {
  drift: DriftStore;
  scopes: ReadScopes;
  /** Revisions of a release (`helm history`), to re-apply a tenant run's release. */
  history: ReleaseHistory;
  /**
   * The run when the caller may read it (404 when it does not exist or the caller may not read it;
   * 403 when reading runs is denied); with `attempt`, a refusal is audited as that change.
   */
  readableRun(req: Request, id: string, attempt?: RefusedAttempt): Promise<Run>;
  /** Checks a permission and resolves the caller's credentials (403 on DENY, audited as `attempt`). */
  authorize(
    req: Request,
    permission: BasicPermission,
    attempt?: RefusedAttempt,
  ): Promise<BackstageCredentials>;
  /**
   * `audited` for a request that asks for a run as the caller, as `POST /runs` is: 429 before any
   * event once the caller had too many run requests refused this minute, and a refusal counts.
   */
  auditedRunRequest(credentials: BackstageCredentials): Audited;
  /**
   * Throws NotAllowedError (403) unless the caller may run on the target (for the entity, when the
   * run names one), as `POST /runs` scopes a run (`resolveRunScope`). Re-apply asks it before it
   * reads the release's history, which would tell a caller who may only read an old run (a former
   * owner) the revisions and charts of whoever deploys there now.
   */
  checkScope(
    credentials: BackstageCredentials,
    run: Pick<Run, 'target' | 'entityRef'>,
  ): Promise<unknown>;
  /** Starts a run as the caller, exactly as `POST /runs` does. */
  submit(
    credentials: BackstageCredentials,
    request: CreateRunRequest,
  ): Promise<Run>;
};

/**
 * Drift routes: `GET /runs/:id/drift`, `GET /drift?entityRef=…|cluster=&namespace=` (read as runs)
 * and `POST /runs/:id/reapply` (a normal run: rollback permission for releases, create for manifests).
 */
export function addDriftRoutes(router: Router, options: DriftRoutesOptions) {
  const { drift, scopes } = options;

  router.get('/runs/:id/drift', async (req, res) => {
    const run = await options.readableRun(req, req.params.id);
    const record = await drift.get(run.id);
    if (!record) {
      throw new NotFoundError(
        `Run ${run.id} has no drift record: it is not the latest applied run on its target, or it has not been checked yet`,
      );
    }
    res.json(toRunDrift(record));
  });

  router.get('/drift', async (req, res) => {
    const scope = await scopes.resolve(req, kubechartRunsReadPermission);
    const q = parse(driftQuery, req.query, 'query');
    // Filtered on who may read each record before any is read whole.
    const records = await drift.list(q, heads => scopes.filter(scope, heads));
    res.json({ items: records.map(toRunDrift) });
  });

  router.post('/runs/:id/reapply', async (req, res) => {
    const body = parse(reapplyBody, req.body ?? {}, 'reapply request');
    const attempt = { eventId: 'run-reapply', meta: { runId: req.params.id } };
    const run = await options.readableRun(req, req.params.id, attempt);
    const credentials = await options.authorize(
      req,
      run.kind === 'manifests'
        ? kubechartRunsCreatePermission
        : kubechartRunsRollbackPermission,
      attempt,
    );
    const { cluster, namespace, release } = run.target;
    const relayedBy = passedOnBy(credentials);
    const started = await options.auditedRunRequest(credentials)(
      req,
      'run-reapply',
      {
        runId: run.id,
        kind: run.kind,
        cluster,
        namespace,
        release: body.release ?? release ?? null,
        entityRef: run.entityRef ?? null,
        ...(relayedBy ? { relayedBy } : {}),
      },
      async () => {
        // Before anything of the cluster is read: the target may be another owner's now.
        await options.checkScope(credentials, run);
        const request = await reapplyRequest(run, {
          release: body.release,
          history: options.history,
          drift: (await drift.get(run.id))?.objects,
        });
        return options.submit(credentials, request);
      },
      r => ({ newRunId: r.id }),
    );
    res.status(202).json({ id: started.id, status: started.status });
  });
}
