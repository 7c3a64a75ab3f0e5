import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import { LinearGauge } from '@backstage/core-components';
import { usageGaugeColor, usageSeverity } from '../../lib/usageColor';

/**
 * A labelled 0..1 utilisation bar. High use is drawn in the theme's warning (from 70 %) or error
 * (from 90 %) colour, low use in its ok colour.
 */
export function UtilisationBar(props: {
  label: string;
  value: number;
  detail?: string;
}) {
  const { label, value, detail } = props;
  const percent = Math.round(value * 100);
  return (
    <Box
      mt={1}
      aria-label={`${label} ${percent}%`}
      data-testid="kubechart-usage"
      data-severity={usageSeverity(value)}
    >
      <Typography variant="caption">
        {label}: {percent}%{detail ? ` (${detail})` : ''}
      </Typography>
      <LinearGauge
        value={Math.min(1, Math.max(0, value))}
        getColor={usageGaugeColor}
      />
    </Box>
  );
}
