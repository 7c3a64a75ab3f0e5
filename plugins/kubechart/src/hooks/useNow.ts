import { useEffect, useState } from 'react';

/** The current time, refreshed every `intervalMs` (for "updated N s ago"). */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const handle = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(handle);
  }, [intervalMs]);
  return now;
}

/**
 * How far ahead of `now` a timestamp may lie and still read as "0 s ago": rounding, and the small
 * difference any two clocks have.
 */
const AHEAD_TOLERANCE_S = 2;

/**
 * Whole seconds between an ISO timestamp and `now`. A timestamp more than a couple of seconds
 * ahead of `now` (the server's clock ahead of the browser's) is `ahead`, with `seconds` how far
 * ahead it is: its age is not known then, and it is never shown as "0 s ago" (that reads as fresh
 * however stale the data is, for as long as the clocks differ).
 */
export function ageOf(
  iso: string | undefined,
  now: number,
): { seconds: number; ahead: boolean } {
  if (!iso) {
    return { seconds: 0, ahead: false };
  }
  const seconds = Math.round((now - new Date(iso).getTime()) / 1000);
  if (seconds < -AHEAD_TOLERANCE_S) {
    return { seconds: -seconds, ahead: true };
  }
  return { seconds: Math.max(0, seconds), ahead: false };
}
