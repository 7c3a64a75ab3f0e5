import { useMemo } from 'react';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import {
  Link,
  Progress,
  ResponseErrorPanel,
  StatusPending,
  StatusWarning,
  Table,
  TableColumn,
} from '@backstage/core-components';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import {
  runPagePath,
  type RunListItem,
} from '@kubechart/plugin-kubechart-common';
import { kubechartTranslationRef } from '../../translation';
import { useApprovals, useNow } from '../../hooks';
import {
  formatTarget,
  formatTimestamp,
  relativeTime,
  shortActor,
} from '../../lib/format';
import { approvalCount } from '../../lib/approval';
import { useStatusLabel } from '../RunStatus';

function mayDecide(run: RunListItem): boolean {
  return run.approval?.viewer?.mayDecide === true;
}

/**
 * The open approval requests of `GET /approvals`: those the user may decide on first, then the
 * user's own (with the server's reason why the user may not decide); oldest request first. Each
 * links to the run's own page (where Approve and Reject are). While the backend has more pages,
 * "Load older requests" reads the next one. When the backend could not list every request, it says
 * so, and never that none is open.
 */
export function ApprovalsList() {
  const { t } = useTranslationRef(kubechartTranslationRef);
  const statusLabel = useStatusLabel();
  const now = useNow(30_000);
  const { value, loading, error, loadMore, more } = useApprovals();

  // What the user may decide on first, then the user's own requests; oldest request first in each.
  const rows = useMemo(
    () =>
      [...(value?.items ?? [])].sort(
        (a, b) =>
          Number(mayDecide(b)) - Number(mayDecide(a)) ||
          (a.approval?.requestedAt ?? a.createdAt).localeCompare(
            b.approval?.requestedAt ?? b.createdAt,
          ),
      ),
    [value],
  );

  if (!value && loading) {
    return <Progress />;
  }
  if (!value) {
    return <ResponseErrorPanel error={error ?? new Error('No data')} />;
  }
  // A list the backend cut is not all there is: "none open" would not be true of it. While it has
  // a next page, the user reads on; when it has none, the list says that it is cut.
  const footer = value.nextCursor ? (
    <Box mt={1}>
      {more.error && (
        <Box mb={1}>
          <Alert severity="error">
            {t('approvals.loadMoreFailed', { message: more.error.message })}
          </Alert>
        </Box>
      )}
      <Button
        variant="outlined"
        size="small"
        onClick={() => loadMore()}
        disabled={more.loading}
      >
        {t('approvals.loadMore')}
      </Button>
      {more.loading && <Progress />}
    </Box>
  ) : (
    value.truncated && (
      <Box mt={1}>
        <Alert severity="warning">{t('approvals.truncated')}</Alert>
      </Box>
    )
  );
  if (!rows.length) {
    return value.truncated || value.nextCursor ? (
      <>{footer}</>
    ) : (
      <Typography color="textSecondary">{t('approvals.empty')}</Typography>
    );
  }

  // A run's own page opens every run, also a tenant's whose entity is created once it applied.
  const runLink = (run: RunListItem) => runPagePath(run.id);

  const expires = (iso: string | undefined) => {
    const r = relativeTime(iso, now);
    if (!r) {
      return '–';
    }
    return r.past
      ? t('approval.ago', { duration: r.age })
      : t('approval.inFuture', { duration: r.age });
  };

  const columns: TableColumn<RunListItem>[] = [
    {
      title: t('approvals.columns.yourPart'),
      render: run =>
        mayDecide(run) ? (
          <StatusWarning>{t('approvals.yourDecision')}</StatusWarning>
        ) : (
          // The server's word on why not (for the requester: "you requested this run").
          <StatusPending>
            {run.approval?.viewer?.reason ?? statusLabel(run.status)}
          </StatusPending>
        ),
    },
    {
      title: t('approvals.columns.run'),
      render: run => {
        return (
          <Link
            to={runLink(run)}
            title={t('approvals.openRun', { id: run.id })}
          >
            {run.id}
          </Link>
        );
      },
    },
    { title: t('approvals.columns.kind'), field: 'kind' },
    {
      title: t('approvals.columns.target'),
      render: run => formatTarget(run),
    },
    {
      title: t('approvals.columns.requestedBy'),
      render: run => shortActor(run.actor),
    },
    {
      title: t('approvals.columns.requested'),
      render: run =>
        formatTimestamp(run.approval?.requestedAt ?? run.createdAt),
    },
    {
      title: t('approvals.columns.expires'),
      render: run => expires(run.approval?.expiresAt),
    },
    {
      title: t('approvals.columns.progress'),
      render: run =>
        run.approval
          ? t('approval.progress', {
              approved: String(approvalCount(run.approval)),
              required: String(run.approval.required),
            })
          : '–',
    },
  ];

  return (
    <>
      <Table<RunListItem>
        columns={columns}
        data={rows}
        options={{
          toolbar: false,
          paging: rows.length > 10,
          pageSize: 10,
          search: false,
          sorting: false,
          padding: 'dense',
        }}
      />
      {footer}
    </>
  );
}
