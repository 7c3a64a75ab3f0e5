import { useState } from 'react';
import { alertApiRef, useApi } from '@backstage/core-plugin-api';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import { ResponseError } from '@backstage/errors';
import type { CreateRunResponse } from '@kubechart/plugin-kubechart-common';
import { kubechartTranslationRef } from '../../translation';

/**
 * Starts a run from a button: `busy` while the request is out, then an alert that says whether
 * the run started or waits for approval (a protected target), or the backend's reason it did not.
 * Resolves with the new run's id, or undefined when it was not created.
 */
export function useStartRun() {
  const alertApi = useApi(alertApiRef);
  const { t } = useTranslationRef(kubechartTranslationRef);
  const [busy, setBusy] = useState(false);
  const start = async (
    create: () => Promise<CreateRunResponse>,
  ): Promise<string | undefined> => {
    setBusy(true);
    try {
      const created = await create();
      alertApi.post({
        message:
          created.status === 'awaiting-approval'
            ? t('actions.awaitingApproval', { id: created.id })
            : t('actions.started', { id: created.id }),
        severity: 'success',
        display: 'transient',
      });
      return created.id;
    } catch (error) {
      // The backend's own message says why (e.g. another run holds the release).
      const reason =
        error instanceof ResponseError ? error.cause.message : String(error);
      alertApi.post({
        message: t('actions.failed', { reason }),
        severity: 'error',
      });
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { busy, start };
}
