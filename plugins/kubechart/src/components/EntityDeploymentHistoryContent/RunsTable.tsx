import { useMemo } from 'react';
import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import { useTheme } from '@material-ui/core/styles';
import { Table, TableColumn } from '@backstage/core-components';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import type { RunListItem } from '@kubechart/plugin-kubechart-common';
import { kubechartTranslationRef } from '../../translation';
import {
  formatDuration,
  formatTarget,
  formatTimestamp,
  runDurationMs,
  shortActor,
} from '../../lib/format';
import { RunStatus } from '../RunStatus';

/** The runs of one page, newest first; a click on a row selects it. */
export function RunsTable(props: {
  runs: RunListItem[];
  selectedRunId?: string;
  onSelect: (run: RunListItem) => void;
  loading?: boolean;
  emptyText?: string;
}) {
  const { runs, selectedRunId, onSelect, loading, emptyText } = props;
  const { t } = useTranslationRef(kubechartTranslationRef);
  const theme = useTheme();

  const columns = useMemo(
    (): TableColumn<RunListItem>[] => [
      {
        title: t('history.columns.status'),
        field: 'status',
        render: run => <RunStatus status={run.status} />,
      },
      { title: t('history.columns.kind'), field: 'kind' },
      { title: t('history.columns.target'), render: run => formatTarget(run) },
      {
        title: t('history.columns.revision'),
        render: run => run.helmRevision ?? '–',
      },
      {
        title: t('history.columns.actor'),
        render: run => shortActor(run.actor),
      },
      {
        title: t('history.columns.started'),
        render: run => formatTimestamp(run.startedAt ?? run.createdAt),
      },
      {
        title: t('history.columns.duration'),
        render: run => formatDuration(runDurationMs(run)),
      },
    ],
    [t],
  );

  // A stable array: material-table resets its rows whenever `data` changes identity.
  const sorted = useMemo(
    () => [...runs].sort((a, b) => b.createdAt.localeCompare(a.createdAt)),
    [runs],
  );

  return (
    <Table<RunListItem>
      title={t('history.title')}
      columns={columns}
      data={sorted}
      isLoading={loading}
      emptyContent={
        emptyText ? (
          <Box p={2}>
            <Typography>{emptyText}</Typography>
          </Box>
        ) : undefined
      }
      onRowClick={(_event, run) => run && onSelect(run)}
      options={{
        paging: false,
        search: false,
        sorting: false,
        padding: 'dense',
        rowStyle: (run: RunListItem) =>
          run.id === selectedRunId
            ? { backgroundColor: theme.palette.action.selected }
            : {},
      }}
    />
  );
}
