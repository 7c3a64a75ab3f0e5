import { useState } from 'react';
import Box from '@material-ui/core/Box';
import FormControl from '@material-ui/core/FormControl';
import InputLabel from '@material-ui/core/InputLabel';
import MenuItem from '@material-ui/core/MenuItem';
import Select from '@material-ui/core/Select';
import Typography from '@material-ui/core/Typography';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import type { Run, RunListItem } from '@kubechart/plugin-kubechart-common';
import { kubechartTranslationRef } from '../../translation';
import { formatTimestamp } from '../../lib/format';
import { RunDiffResult } from './RunDiffResult';

/** Diff of values and manifests between a run and another run chosen from the list. */
export function RunDiffView(props: { run: Run; candidates: RunListItem[] }) {
  const { run, candidates } = props;
  const { t } = useTranslationRef(kubechartTranslationRef);
  const others = candidates.filter(c => c.id !== run.id);
  const [otherId, setOtherId] = useState<string>('');

  if (!others.length) {
    return <Typography color="textSecondary">{t('run.diffNone')}</Typography>;
  }

  return (
    <Box>
      <FormControl variant="outlined" size="small" style={{ minWidth: 320 }}>
        <InputLabel id="kubechart-diff-label">
          {t('run.diffAgainst')}
        </InputLabel>
        <Select
          labelId="kubechart-diff-label"
          id="kubechart-diff-select"
          label={t('run.diffAgainst')}
          value={otherId}
          onChange={e => setOtherId(e.target.value as string)}
        >
          {others.map(o => (
            <MenuItem key={o.id} value={o.id}>
              {`${o.kind} · ${o.status} · rev ${
                o.helmRevision ?? '–'
              } · ${formatTimestamp(o.createdAt)}`}
            </MenuItem>
          ))}
        </Select>
      </FormControl>
      {otherId && (
        <Box mt={2}>
          <RunDiffResult runId={run.id} otherId={otherId} />
        </Box>
      )}
    </Box>
  );
}
