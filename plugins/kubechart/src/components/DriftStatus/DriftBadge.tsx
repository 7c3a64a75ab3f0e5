import {
  StatusOK,
  StatusPending,
  StatusWarning,
} from '@backstage/core-components';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import type { RunDrift } from '@kubechart/plugin-kubechart-common';
import { formatTimestamp } from '../../lib/format';
import { kubechartTranslationRef } from '../../translation';

/** "In sync", "Drifted (3 objects) since <time>" or "Drift unknown: <why>". */
export function DriftBadge(props: {
  status: RunDrift['status'];
  /** Drifted objects (for `drifted`). */
  count?: number;
  since?: string;
  message?: string;
}) {
  const { status, count = 0, since, message } = props;
  const { t } = useTranslationRef(kubechartTranslationRef);
  if (status === 'in-sync') {
    return <StatusOK>{t('drift.inSync')}</StatusOK>;
  }
  if (status === 'drifted') {
    const when = formatTimestamp(since);
    return (
      <StatusWarning>
        {count === 1
          ? t('drift.driftedOne', { since: when })
          : t('drift.driftedMany', { count, since: when })}
      </StatusWarning>
    );
  }
  return (
    <StatusPending>
      {t('drift.unknown', { message: message ?? '' })}
    </StatusPending>
  );
}
