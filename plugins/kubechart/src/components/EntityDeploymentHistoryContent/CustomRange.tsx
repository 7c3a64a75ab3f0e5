import Grid from '@material-ui/core/Grid';
import TextField from '@material-ui/core/TextField';
import { useTranslationRef } from '@backstage/frontend-plugin-api';
import { kubechartTranslationRef } from '../../translation';

type Range = { from?: string; to?: string };

/** From and to fields of a custom time range, in local time. */
export function CustomRange(props: {
  value: Range;
  onChange: (value: Range) => void;
}) {
  const { value, onChange } = props;
  const { t } = useTranslationRef(kubechartTranslationRef);
  const field = (key: keyof Range, label: string) => (
    <Grid item xs={12} sm={3}>
      <TextField
        id={`kubechart-filter-${key}`}
        type="datetime-local"
        fullWidth
        size="small"
        variant="outlined"
        label={label}
        InputLabelProps={{ shrink: true }}
        value={value[key] ?? ''}
        onChange={e =>
          onChange({ ...value, [key]: e.target.value || undefined })
        }
      />
    </Grid>
  );
  return (
    <>
      {field('from', t('history.filters.from'))}
      {field('to', t('history.filters.to'))}
    </>
  );
}
