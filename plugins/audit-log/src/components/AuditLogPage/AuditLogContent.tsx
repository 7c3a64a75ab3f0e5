import {
  EmptyState,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { alertApiRef, useApi } from '@backstage/core-plugin-api';
import { useTranslationRef } from '@backstage/core-plugin-api/alpha';
import { useSignal } from '@backstage/plugin-signals-react';
import {
  AUDIT_LOG_SIGNAL_CHANNEL,
  AuditEvent,
  AuditEventFilters,
  AuditEventSeverity,
  AuditExportFormat,
  AuditLogSignalMessage,
} from '@kubechart/plugin-audit-log-common';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import FormControlLabel from '@material-ui/core/FormControlLabel';
import Grid from '@material-ui/core/Grid';
import Switch from '@material-ui/core/Switch';
import Tooltip from '@material-ui/core/Tooltip';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { auditLogApiRef } from '../../api';
import { useAuditEvents, useVerify } from '../../hooks';
import { auditLogTranslationRef } from '../../translation';
import { AuditEventsTable } from './AuditEventsTable';
import { AuditLogFilters } from './AuditLogFilters';
import { EventDetailsDrawer } from './EventDetailsDrawer';
import { VerifyResultPanel } from './VerifyResultPanel';

/** Severities shown while reads are hidden. */
const CHANGES: AuditEventSeverity[] = ['medium', 'high', 'critical'];

function download(blob: Blob, filename: string) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(url);
}

/**
 * The audit log: filters, events table with cursor paging, details drawer,
 * integrity check, export and live tail. Rendered inside a page.
 * @public
 */
export function AuditLogContent() {
  const { t } = useTranslationRef(auditLogTranslationRef);
  const api = useApi(auditLogApiRef);
  const alertApi = useApi(alertApiRef);
  const [filters, setFilters] = useState<AuditEventFilters>({});
  // The page opens on changes; reads (low severity) are most of the volume.
  const [showReads, setShowReads] = useState(false);
  const effectiveFilters = useMemo<AuditEventFilters>(
    () =>
      filters.severity?.length || showReads
        ? filters
        : { ...filters, severity: CHANGES },
    [filters, showReads],
  );
  const [selected, setSelected] = useState<AuditEvent>();
  const [liveTail, setLiveTail] = useState(false);
  const [exporting, setExporting] = useState<AuditExportFormat>();
  const events = useAuditEvents(effectiveFilters);
  const [verifyState, runVerify] = useVerify();
  const { lastSignal, isSignalsAvailable } = useSignal<AuditLogSignalMessage>(
    AUDIT_LOG_SIGNAL_CHANNEL,
  );

  const onFiltersChange = useCallback(
    (next: AuditEventFilters) => setFilters(next),
    [],
  );

  // Live tail: reload the newest page whenever the backend announces events. Events announced while
  // a reload is under way (`retry` does nothing then) are read by one more reload after it.
  const { retry, page, loading } = events;
  const again = useRef(false);
  useEffect(() => {
    if (liveTail && lastSignal && page === 1) {
      if (loading) again.current = true;
      else retry();
    }
    // only react to new signals
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [lastSignal]);
  useEffect(() => {
    if (!loading && again.current) {
      again.current = false;
      if (liveTail && page === 1) retry();
    }
  }, [loading, retry, liveTail, page]);

  const exportAs = async (format: AuditExportFormat) => {
    setExporting(format);
    try {
      const { blob, filename } = await api.exportEvents(
        effectiveFilters,
        format,
      );
      download(blob, filename);
    } catch (error) {
      alertApi.post({ message: String(error), severity: 'error' });
    } finally {
      setExporting(undefined);
    }
  };

  let body;
  if (events.loading && !events.value) {
    body = <Progress />;
  } else if (events.error) {
    body = <ResponseErrorPanel error={events.error} />;
  } else if (!events.value?.items.length && events.hasOlder) {
    // The server examines a bounded number of events per request (a free-text search, a reader
    // limited to some entities): an empty page with a cursor is not the end of the trail.
    body = (
      <EmptyState
        missing="data"
        title={t('table.partialTitle')}
        description={t('table.partialDescription')}
        action={
          <Box display="flex" gridGap={8}>
            <Button disabled={!events.hasNewer} onClick={events.newer}>
              {t('table.newer')}
            </Button>
            <Button variant="contained" color="primary" onClick={events.older}>
              {t('table.searchOlder')}
            </Button>
          </Box>
        }
      />
    );
  } else if (!events.value?.items.length) {
    body = (
      <EmptyState
        missing="data"
        title={t('table.emptyTitle')}
        description={t('table.emptyDescription')}
      />
    );
  } else {
    body = (
      <>
        <AuditEventsTable
          events={events.value.items}
          loading={events.loading}
          onSelect={setSelected}
        />
        <Box display="flex" justifyContent="flex-end" mt={1}>
          <Button disabled={!events.hasNewer} onClick={events.newer}>
            {t('table.newer')}
          </Button>
          <Button disabled={!events.hasOlder} onClick={events.older}>
            {t('table.older')}
          </Button>
        </Box>
      </>
    );
  }

  return (
    <Grid container spacing={2}>
      <Grid item xs={12}>
        <Box display="flex" alignItems="center" flexWrap="wrap" gridGap={8}>
          <Button
            variant="contained"
            color="primary"
            disabled={verifyState.loading}
            onClick={() => runVerify()}
          >
            {verifyState.loading ? t('verify.running') : t('verify.button')}
          </Button>
          <Button
            variant="outlined"
            disabled={exporting !== undefined}
            onClick={() => exportAs('csv')}
          >
            {t('export.csv')}
          </Button>
          <Button
            variant="outlined"
            disabled={exporting !== undefined}
            onClick={() => exportAs('ndjson')}
          >
            {t('export.ndjson')}
          </Button>
          <Tooltip
            title={filters.severity?.length ? '' : t('filters.changesOnly')}
          >
            <FormControlLabel
              control={
                <Switch
                  checked={showReads || Boolean(filters.severity?.length)}
                  disabled={Boolean(filters.severity?.length)}
                  onChange={e => setShowReads(e.target.checked)}
                  inputProps={{ 'aria-label': t('filters.showReads') }}
                />
              }
              label={t('filters.showReads')}
            />
          </Tooltip>
          <Tooltip title={isSignalsAvailable ? '' : t('liveTail.unavailable')}>
            <FormControlLabel
              control={
                <Switch
                  checked={liveTail}
                  disabled={!isSignalsAvailable}
                  onChange={e => setLiveTail(e.target.checked)}
                  inputProps={{ 'aria-label': t('liveTail.label') }}
                />
              }
              label={t('liveTail.label')}
            />
          </Tooltip>
        </Box>
      </Grid>
      {(verifyState.value || verifyState.error) && (
        <Grid item xs={12}>
          <VerifyResultPanel
            result={verifyState.value}
            error={verifyState.error}
          />
        </Grid>
      )}
      <Grid item xs={12}>
        <AuditLogFilters onChange={onFiltersChange} />
      </Grid>
      <Grid item xs={12}>
        {body}
      </Grid>
      <EventDetailsDrawer
        event={selected}
        onClose={() => setSelected(undefined)}
      />
    </Grid>
  );
}
