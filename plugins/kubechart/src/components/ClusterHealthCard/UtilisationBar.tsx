import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import { LinearGauge } from '@backstage/core-components';

/** A labelled 0..1 utilisation bar. */
export function UtilisationBar(props: {
  label: string;
  value: number;
  detail?: string;
}) {
  const { label, value, detail } = props;
  const percent = Math.round(value * 100);
  return (
    <Box mt={1} aria-label={`${label} ${percent}%`}>
      <Typography variant="caption">
        {label}: {percent}%{detail ? ` (${detail})` : ''}
      </Typography>
      <LinearGauge value={Math.min(1, Math.max(0, value))} />
    </Box>
  );
}
