import { useState } from 'react';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import { useApi } from '@backstage/core-plugin-api';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import { usePermission } from '@backstage/plugin-permission-react';
import {
  CreateRunRequest,
  Run,
  kubechartRunsCreatePermission,
  kubechartRunsRollbackPermission,
} from '@kubechart/plugin-kubechart-common';
import { kubechartApiRef } from '../../api';
import { useReleaseHead } from '../../hooks';
import { kubechartTranslationRef } from '../../translation';
import { ConfirmRunDialog } from './ConfirmRunDialog';
import { useStartRun } from './useStartRun';
import {
  hasRedactedSecrets,
  rollbackRequest,
  retryRequest,
} from './runRequests';

type Pending = { request: CreateRunRequest; action: 'rollback' | 'retry' };

/**
 * Rollback and retry buttons for one run. Each is shown only when it applies to the run (rollback:
 * a revision the release has since left; retry: a failure the policy did not refuse) and the user
 * holds its permission, and asks for confirmation before starting a run.
 */
export function RunActions(props: {
  run: Run;
  onStarted: (runId: string) => void;
}) {
  const { run, onStarted } = props;
  const api = useApi(kubechartApiRef);
  const { t } = useTranslationRef(kubechartTranslationRef);
  const rollbackAllowed = usePermission({
    permission: kubechartRunsRollbackPermission,
  }).allowed;
  const createAllowed = usePermission({
    permission: kubechartRunsCreatePermission,
  }).allowed;
  const [pending, setPending] = useState<Pending>();
  const { busy, start } = useStartRun();
  // No "roll back to this revision" on the revision the release is already at.
  const head = useReleaseHead(run);

  const rollback = rollbackAllowed
    ? rollbackRequest(run, head.current)
    : undefined;
  const retry = createAllowed ? retryRequest(run) : undefined;
  if (!rollback && !retry) {
    return null;
  }

  const retryBlocked =
    pending?.action === 'retry' && hasRedactedSecrets(pending.request);
  const target = {
    cluster: run.target.cluster,
    namespace: run.target.namespace,
    release: run.target.release ?? '',
    revision: String(run.helmRevision ?? ''),
    kind: run.kind,
  };

  const confirm = async () => {
    if (!pending) {
      return;
    }
    const id = await start(() => api.createRun(pending.request));
    if (id) {
      setPending(undefined);
      onStarted(id);
    }
  };

  return (
    <Box display="flex" gridGap={8}>
      {rollback && (
        <Button
          variant="outlined"
          onClick={() => setPending({ request: rollback, action: 'rollback' })}
        >
          {t('actions.rollback')}
        </Button>
      )}
      {retry && (
        <Button
          variant="outlined"
          onClick={() => setPending({ request: retry, action: 'retry' })}
        >
          {t('actions.retry')}
        </Button>
      )}
      <ConfirmRunDialog
        open={!!pending}
        busy={busy}
        confirmDisabled={retryBlocked}
        title={
          pending?.action === 'retry'
            ? t('actions.retryTitle', target)
            : t('actions.rollbackTitle', target)
        }
        body={[
          pending?.action === 'retry'
            ? t('actions.retryBody', target)
            : t('actions.rollbackBody', target),
          // A rollback by number: what revision N holds now may not be what this run installed.
          pending?.action === 'rollback' && !('fromRunId' in pending.request)
            ? t('actions.rollbackUnbound', target)
            : '',
          retryBlocked ? t('actions.retryRedacted') : '',
          run.approval ? t('actions.protectedTarget') : '',
        ]
          .filter(Boolean)
          .join(' ')}
        confirmLabel={
          pending?.action === 'retry'
            ? t('actions.retryConfirm')
            : t('actions.rollbackConfirm')
        }
        onConfirm={confirm}
        onCancel={() => setPending(undefined)}
      />
    </Box>
  );
}
