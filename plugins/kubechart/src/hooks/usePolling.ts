import { useEffect } from 'react';

/**
 * Calls `callback` every `intervalMs` while `enabled`. Used as a fallback for live data when
 * the signals plugin is not installed.
 */
export function usePolling(
  callback: () => void,
  intervalMs: number,
  enabled: boolean,
) {
  useEffect(() => {
    if (!enabled) {
      return undefined;
    }
    const handle = setInterval(callback, intervalMs);
    return () => clearInterval(handle);
  }, [callback, intervalMs, enabled]);
}
