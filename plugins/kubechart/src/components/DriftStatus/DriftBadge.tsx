import {
  StatusOK,
  StatusPending,
  StatusWarning,
} from '@backstage/core-components';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import type { RunDrift } from '@kubechart/plugin-kubechart-common';
import { formatTimestamp } from '../../lib/format';
import { kubechartTranslationRef } from '../../translation';

/** Fields the records did not compare (their values are stored redacted). */
export function notComparedCount(drifts: RunDrift[]): number {
  return drifts.reduce(
    (n, d) => n + (d.notCompared ?? []).reduce((m, o) => m + o.count, 0),
    0,
  );
}

/**
 * "In sync", "In sync, except 2 fields that hold secrets (not compared)", "Drifted (3 objects)
 * since <time>" or "Drift unknown: <why>".
 */
export function DriftBadge(props: {
  status: RunDrift['status'];
  /** Drifted objects (for `drifted`). */
  count?: number;
  /** Fields not compared (for `in-sync`: never shown as plainly in sync). */
  notCompared?: number;
  since?: string;
  message?: string;
}) {
  const { status, count = 0, notCompared = 0, since, message } = props;
  const { t } = useTranslationRef(kubechartTranslationRef);
  if (status === 'in-sync') {
    if (notCompared > 0)
      return (
        <StatusOK>
          {notCompared === 1
            ? t('drift.inSyncExceptOne')
            : t('drift.inSyncExceptMany', { count: notCompared })}
        </StatusOK>
      );
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
