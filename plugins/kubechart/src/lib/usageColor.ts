import type { GaugePropsGetColor } from '@backstage/core-components';

/** Use (0..1) from which a gauge is drawn in the theme's warning colour. */
export const USAGE_WARNING_AT = 0.7;
/** Use (0..1) from which a gauge is drawn in the theme's error colour. */
export const USAGE_ERROR_AT = 0.9;

/** How worrying a use (0..1) of a limited resource is: the more used, the worse. */
export type UsageSeverity = 'ok' | 'warning' | 'error';

/** The severity of a use between 0 and 1 (CPU, memory, a quota). */
export function usageSeverity(fraction: number): UsageSeverity {
  if (fraction >= USAGE_ERROR_AT) {
    return 'error';
  }
  if (fraction >= USAGE_WARNING_AT) {
    return 'warning';
  }
  return 'ok';
}

/**
 * Colour for Backstage's `LinearGauge`/`Gauge` when the value is a *use*: high use is the theme's
 * warning or error colour. (The default `getProgressColor` is for scores, where high is good.)
 */
export const usageGaugeColor: GaugePropsGetColor = ({ palette, value, max }) =>
  palette.status[usageSeverity(value / (max || 100))];
