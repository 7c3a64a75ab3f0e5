import { useState } from 'react';
import Button from '@material-ui/core/Button';
import MenuItem from '@material-ui/core/MenuItem';
import TextField from '@material-ui/core/TextField';
import { useApi } from '@backstage/core-plugin-api';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import { usePermission } from '@backstage/plugin-permission-react';
import {
  Run,
  kubechartRunsCreatePermission,
  kubechartRunsRollbackPermission,
} from '@kubechart/plugin-kubechart-common';
import { kubechartApiRef } from '../../api';
import { kubechartTranslationRef } from '../../translation';
import { ConfirmRunDialog } from '../RunActions/ConfirmRunDialog';
import { useStartRun } from '../RunActions/useStartRun';

/** The releases a tenant run installed, in its order (its input's `releases`). */
function tenantReleases(run: Run): string[] {
  if (run.kind !== 'tenant') return [];
  const releases = run.input.releases;
  return Array.isArray(releases)
    ? releases
        .map(r => (r && typeof r.name === 'string' ? r.name : ''))
        .filter(Boolean)
    : [];
}

/**
 * "Re-apply last run": a new run that applies the drifted run again (a release is rolled back to
 * the run's revision, needing `kubechart.runs.rollback`; manifests are applied again, needing
 * `kubechart.runs.create`). A tenant run with several releases asks which one. Asks for
 * confirmation, then opens the new run.
 */
export function ReapplyButton(props: {
  run: Run;
  onStarted: (runId: string) => void;
}) {
  const { run, onStarted } = props;
  const api = useApi(kubechartApiRef);
  const { t } = useTranslationRef(kubechartTranslationRef);
  const manifests = run.kind === 'manifests';
  const { allowed } = usePermission({
    permission: manifests
      ? kubechartRunsCreatePermission
      : kubechartRunsRollbackPermission,
  });
  const [open, setOpen] = useState(false);
  const releases = tenantReleases(run);
  const [chosen, setChosen] = useState<string | undefined>(undefined);
  const release =
    releases.length > 1 ? chosen ?? releases[0] : run.target.release;
  const { busy, start } = useStartRun();
  if (!allowed) {
    return null;
  }
  const where = {
    cluster: run.target.cluster,
    namespace: run.target.namespace,
    release: release ?? '',
  };

  const confirm = async () => {
    const id = await start(() =>
      releases.length > 1 && release
        ? api.reapplyRun(run.id, { release })
        : api.reapplyRun(run.id),
    );
    if (id) {
      setOpen(false);
      onStarted(id);
    }
  };

  return (
    <>
      <Button variant="outlined" color="primary" onClick={() => setOpen(true)}>
        {t('drift.reapply')}
      </Button>
      <ConfirmRunDialog
        open={open}
        busy={busy}
        title={t('drift.reapplyTitle', { runId: run.id })}
        body={
          manifests
            ? t('drift.reapplyManifestsBody', where)
            : t('drift.reapplyReleaseBody', where)
        }
        confirmLabel={t('drift.reapplyConfirm')}
        onConfirm={confirm}
        onCancel={() => setOpen(false)}
      >
        {releases.length > 1 && (
          <TextField
            select
            fullWidth
            margin="normal"
            label={t('drift.reapplyRelease')}
            value={release}
            onChange={e => setChosen(e.target.value)}
            disabled={busy}
          >
            {releases.map(name => (
              <MenuItem key={name} value={name}>
                {name}
              </MenuItem>
            ))}
          </TextField>
        )}
      </ConfirmRunDialog>
    </>
  );
}
