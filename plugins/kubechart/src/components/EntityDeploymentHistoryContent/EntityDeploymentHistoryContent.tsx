import { useState } from 'react';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Grid from '@material-ui/core/Grid';
import useDebounce from 'react-use/esm/useDebounce';
import { useSearchParams } from 'react-router-dom';
import {
  EmptyState,
  LinkButton,
  Progress,
  ResponseErrorPanel,
  WarningPanel,
} from '@backstage/core-components';
import { ResponseError } from '@backstage/errors';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import { useEntity } from '@backstage/plugin-catalog-react';
import { stringifyEntityRef } from '@backstage/catalog-model';
import { kubechartTranslationRef } from '../../translation';
import { RunFilters, useDeploymentRuns } from '../../hooks';
import { DriftPanel } from '../DriftStatus';
import { RunDetail } from '../RunDetail';
import { RunFiltersBar } from './RunFiltersBar';
import { RunsTable } from './RunsTable';

const PAGE_SIZE = 20;
const NO_FILTERS: RunFilters = {};

/**
 * The deployment-history tab of an entity: its runs with filters and cursor pagination, and
 * the selected run in detail. A run started from here (rollback, retry) is shown first.
 * @public
 */
export function EntityDeploymentHistoryContent(props: {
  /** Where the "open the templates" button of the empty state goes; default `/create`. */
  templatesPath?: string;
}) {
  const { templatesPath = '/create' } = props;
  const { entity } = useEntity();
  const entityRef = stringifyEntityRef(entity);
  const { t } = useTranslationRef(kubechartTranslationRef);

  const [filters, setFilters] = useState<RunFilters>(NO_FILTERS);
  // The filters sent to the backend: the ones on screen, once typing has paused.
  const [queryFilters, setQueryFilters] = useState<RunFilters>(NO_FILTERS);
  useDebounce(() => setQueryFilters(filters), 300, [filters]);
  // Cursors of the pages before the current one; the last entry is the current page's cursor.
  const [cursors, setCursors] = useState<Array<string | undefined>>([
    undefined,
  ]);
  // `?run=<id>` (the link a template's task page shows) opens on that run.
  const [searchParams] = useSearchParams();
  const [selectedRunId, setSelectedRunId] = useState<string | undefined>(
    () => searchParams.get('run') ?? undefined,
  );

  const { value, loading, error, retry } = useDeploymentRuns({
    entityRef,
    filters: queryFilters,
    cursor: cursors[cursors.length - 1],
    limit: PAGE_SIZE,
  });

  const changeFilters = (next: RunFilters) => {
    setFilters(next);
    setCursors([undefined]);
  };

  const onRunStarted = (runId: string) => {
    // Back to the first, unfiltered page so the new run shows at the top.
    setFilters(NO_FILTERS);
    setQueryFilters(NO_FILTERS);
    setCursors([undefined]);
    setSelectedRunId(runId);
    retry();
  };

  const filtered = Object.values(queryFilters).some(v => v !== undefined);
  let body: JSX.Element;
  if (!value && loading) {
    body = <Progress />;
  } else if (error instanceof ResponseError && error.statusCode === 403) {
    // The caller may not read this entity's runs: said so with the backend's reason, never as an
    // empty history, and not as a failure to retry.
    body = (
      <WarningPanel
        title={t('history.notAllowedTitle')}
        message={error.body?.error?.message || error.message}
        defaultExpanded
      />
    );
  } else if (!value) {
    body = <ResponseErrorPanel error={error ?? new Error('No data')} />;
  } else if (!value.items.length && !filtered && cursors.length === 1) {
    body = (
      <EmptyState
        missing="data"
        title={t('history.emptyTitle')}
        description={t('history.emptyDescription')}
        action={
          <LinkButton to={templatesPath} color="primary" variant="contained">
            {t('history.openTemplates')}
          </LinkButton>
        }
      />
    );
  } else {
    body = (
      <>
        {error && <ResponseErrorPanel error={error} />}
        <RunsTable
          runs={value.items}
          loading={loading}
          selectedRunId={selectedRunId}
          onSelect={run => setSelectedRunId(run.id)}
          emptyText={t('history.emptyFiltered')}
        />
        <Box display="flex" justifyContent="flex-end" gridGap={8} mt={1}>
          <Button
            disabled={cursors.length <= 1}
            onClick={() => setCursors(c => c.slice(0, -1))}
          >
            {t('history.previousPage')}
          </Button>
          <Button
            disabled={!value.nextCursor}
            onClick={() => setCursors(c => [...c, value.nextCursor])}
          >
            {t('history.nextPage')}
          </Button>
        </Box>
      </>
    );
  }

  return (
    <Grid container spacing={3}>
      <Grid item xs={12}>
        <DriftPanel entityRef={entityRef} onRunStarted={onRunStarted} />
      </Grid>
      <Grid item xs={12}>
        <RunFiltersBar filters={filters} onChange={changeFilters} />
      </Grid>
      <Grid item xs={12}>
        {body}
      </Grid>
      {selectedRunId && (
        <Grid item xs={12}>
          <RunDetail
            key={selectedRunId}
            runId={selectedRunId}
            candidates={value?.items ?? []}
            onRunStarted={onRunStarted}
          />
        </Grid>
      )}
    </Grid>
  );
}
