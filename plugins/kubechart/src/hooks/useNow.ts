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

/** Whole seconds between an ISO timestamp and `now`, never negative. */
export function secondsSince(iso: string | undefined, now: number): number {
  if (!iso) {
    return 0;
  }
  return Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
}
