import { useEffect, useRef } from 'react';

/**
 * Calls `callback` every `intervalMs` while `enabled`. The interval is not restarted when the
 * callback changes identity (as `retry` of `useAsyncRetry` does on every load).
 */
export function usePolling(
  callback: () => void,
  intervalMs: number,
  enabled: boolean,
) {
  const latest = useRef(callback);
  latest.current = callback;
  useEffect(() => {
    if (!enabled) {
      return undefined;
    }
    const handle = setInterval(() => latest.current(), intervalMs);
    return () => clearInterval(handle);
  }, [intervalMs, enabled]);
}
