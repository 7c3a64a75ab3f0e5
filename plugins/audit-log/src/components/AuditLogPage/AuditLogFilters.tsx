import { useTranslationRef } from '@backstage/core-plugin-api/alpha';
import {
  AUDIT_EVENT_SEVERITIES,
  AUDIT_EVENT_STATUSES,
  AuditEventFilters,
  AuditEventSeverity,
  AuditEventStatus,
} from '@kubechart/plugin-audit-log-common';
import Button from '@material-ui/core/Button';
import Grid from '@material-ui/core/Grid';
import MenuItem from '@material-ui/core/MenuItem';
import TextField from '@material-ui/core/TextField';
import { useEffect, useState } from 'react';
import useDebounce from 'react-use/esm/useDebounce';
import { auditLogTranslationRef } from '../../translation';

/** The filter form's own state: plain strings, as the inputs hold them. */
type Draft = {
  q: string;
  actor: string;
  plugin: string;
  eventId: string;
  target: string;
  severity: string;
  status: string;
  from: string;
  to: string;
};

const EMPTY: Draft = {
  q: '',
  actor: '',
  plugin: '',
  eventId: '',
  target: '',
  severity: '',
  status: '',
  from: '',
  to: '',
};

/** `datetime-local` values are local time without zone. */
function localToIso(value: string): string | undefined {
  if (!value) {
    return undefined;
  }
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function toFilters(draft: Draft): AuditEventFilters {
  const trimmed = (s: string) => s.trim() || undefined;
  return {
    q: trimmed(draft.q),
    actor: trimmed(draft.actor),
    plugin: trimmed(draft.plugin),
    eventId: trimmed(draft.eventId),
    target: trimmed(draft.target),
    severity: draft.severity
      ? [draft.severity as AuditEventSeverity]
      : undefined,
    status: draft.status ? [draft.status as AuditEventStatus] : undefined,
    from: localToIso(draft.from),
    to: localToIso(draft.to),
  };
}

/** Filters and free-text search; reports changes after a short pause. */
export function AuditLogFilters(props: {
  onChange: (filters: AuditEventFilters) => void;
  debounceMs?: number;
}) {
  const { onChange, debounceMs = 400 } = props;
  const { t } = useTranslationRef(auditLogTranslationRef);
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [applied, setApplied] = useState<Draft>(EMPTY);

  useDebounce(() => setApplied(draft), debounceMs, [draft]);
  useEffect(() => {
    onChange(toFilters(applied));
  }, [applied, onChange]);

  const field = (name: keyof Draft, label: string, width: 2 | 3 = 2) => (
    <Grid item xs={12} sm={6} md={width}>
      <TextField
        fullWidth
        size="small"
        variant="outlined"
        label={label}
        value={draft[name]}
        inputProps={{ 'aria-label': label }}
        onChange={e => setDraft({ ...draft, [name]: e.target.value })}
      />
    </Grid>
  );

  const select = (
    name: 'severity' | 'status',
    label: string,
    options: readonly string[],
  ) => (
    <Grid item xs={6} md={2}>
      <TextField
        select
        fullWidth
        size="small"
        variant="outlined"
        label={label}
        value={draft[name]}
        SelectProps={{ inputProps: { 'aria-label': label } }}
        onChange={e => setDraft({ ...draft, [name]: e.target.value })}
      >
        <MenuItem value="">{t('filters.any')}</MenuItem>
        {options.map(o => (
          <MenuItem key={o} value={o}>
            {o}
          </MenuItem>
        ))}
      </TextField>
    </Grid>
  );

  const time = (name: 'from' | 'to', label: string) => (
    <Grid item xs={6} md={3}>
      <TextField
        fullWidth
        size="small"
        variant="outlined"
        type="datetime-local"
        label={label}
        value={draft[name]}
        InputLabelProps={{ shrink: true }}
        inputProps={{ 'aria-label': label }}
        onChange={e => setDraft({ ...draft, [name]: e.target.value })}
      />
    </Grid>
  );

  return (
    <Grid container spacing={1} alignItems="center">
      {field('q', t('filters.search'), 3)}
      {field('actor', t('filters.actor'), 3)}
      {field('plugin', t('filters.plugin'))}
      {field('eventId', t('filters.eventId'))}
      {field('target', t('filters.target'))}
      {select('severity', t('filters.severity'), AUDIT_EVENT_SEVERITIES)}
      {select('status', t('filters.status'), AUDIT_EVENT_STATUSES)}
      {time('from', t('filters.from'))}
      {time('to', t('filters.to'))}
      <Grid item>
        <Button
          size="small"
          onClick={() => {
            setDraft(EMPTY);
            setApplied(EMPTY);
          }}
        >
          {t('filters.clear')}
        </Button>
      </Grid>
    </Grid>
  );
}
