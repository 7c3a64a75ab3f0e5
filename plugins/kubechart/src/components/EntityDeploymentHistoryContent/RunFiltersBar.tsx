import FormControl from '@material-ui/core/FormControl';
import Grid from '@material-ui/core/Grid';
import InputLabel from '@material-ui/core/InputLabel';
import MenuItem from '@material-ui/core/MenuItem';
import Select from '@material-ui/core/Select';
import TextField from '@material-ui/core/TextField';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import {
  RUN_KINDS,
  RUN_STATUSES,
  RunKind,
  RunStatus,
} from '@kubechart/plugin-kubechart-common';
import { kubechartTranslationRef } from '../../translation';
import type { RunFilters } from '../../hooks';
import { useStatusLabel } from '../RunStatus';
import { CustomRange } from './CustomRange';

const ANY = '';
const CUSTOM = 'custom';

/** Status, kind, actor and time-range filters of the history table. */
export function RunFiltersBar(props: {
  filters: RunFilters;
  onChange: (filters: RunFilters) => void;
}) {
  const { filters, onChange } = props;
  const { t } = useTranslationRef(kubechartTranslationRef);
  const statusLabel = useStatusLabel();
  const ranges = [
    { hours: 24, label: t('history.filters.range24h') },
    { hours: 24 * 7, label: t('history.filters.range7d') },
    { hours: 24 * 30, label: t('history.filters.range30d') },
  ];

  const select = (
    id: string,
    label: string,
    value: string,
    options: Array<{ value: string; label: string }>,
    set: (value: string) => void,
  ) => (
    <FormControl fullWidth variant="outlined" size="small">
      <InputLabel id={`${id}-label`}>{label}</InputLabel>
      <Select
        labelId={`${id}-label`}
        id={id}
        label={label}
        value={value}
        onChange={e => set(e.target.value as string)}
      >
        <MenuItem value={ANY}>{t('history.filters.any')}</MenuItem>
        {options.map(o => (
          <MenuItem key={o.value} value={o.value}>
            {o.label}
          </MenuItem>
        ))}
      </Select>
    </FormControl>
  );

  return (
    <Grid container spacing={2}>
      <Grid item xs={12} sm={3}>
        {select(
          'kubechart-filter-status',
          t('history.filters.status'),
          filters.status ?? ANY,
          RUN_STATUSES.map(s => ({ value: s, label: statusLabel(s) })),
          v => onChange({ ...filters, status: (v || undefined) as RunStatus }),
        )}
      </Grid>
      <Grid item xs={12} sm={3}>
        {select(
          'kubechart-filter-kind',
          t('history.filters.kind'),
          filters.kind ?? ANY,
          RUN_KINDS.map(k => ({ value: k, label: k })),
          v => onChange({ ...filters, kind: (v || undefined) as RunKind }),
        )}
      </Grid>
      <Grid item xs={12} sm={3}>
        <TextField
          id="kubechart-filter-actor"
          fullWidth
          size="small"
          variant="outlined"
          label={t('history.filters.actor')}
          value={filters.actor ?? ''}
          onChange={e =>
            onChange({ ...filters, actor: e.target.value || undefined })
          }
        />
      </Grid>
      <Grid item xs={12} sm={3}>
        {select(
          'kubechart-filter-range',
          t('history.filters.range'),
          rangeValue(filters),
          [
            ...ranges.map(r => ({ value: String(r.hours), label: r.label })),
            { value: CUSTOM, label: t('history.filters.custom') },
          ],
          v =>
            onChange({
              ...filters,
              rangeHours: v && v !== CUSTOM ? Number(v) : undefined,
              custom: v === CUSTOM ? {} : undefined,
            }),
        )}
      </Grid>
      {filters.custom && (
        <CustomRange
          value={filters.custom}
          onChange={custom => onChange({ ...filters, custom })}
        />
      )}
    </Grid>
  );
}

function rangeValue(filters: RunFilters): string {
  if (filters.custom) {
    return CUSTOM;
  }
  return filters.rangeHours ? String(filters.rangeHours) : ANY;
}
