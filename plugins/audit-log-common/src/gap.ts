import { AuditGapInfo } from './types';

/**
 * The sentence a gap record carries:
 * "12 events dropped between 2026-01-01T10:00:00.000Z and … because queue full (10), …".
 * @public
 */
export function describeGap(gap: AuditGapInfo): string {
  const reasons = Object.entries(gap.reasons)
    .map(([reason, count]) => `${reason} (${count})`)
    .join(', ');
  const noun = gap.dropped === 1 ? 'event' : 'events';
  return `${gap.dropped} ${noun} dropped between ${gap.firstOccurredAt} and ${gap.lastOccurredAt} because ${reasons}`;
}
