import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { helmBinary } from './setup';

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/** Polls `fn` until it returns something truthy (tests of several backend instances). */
export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 60_000,
): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * A helm wrapper that logs every `upgrade` it is asked for (`start <pid>`) and every one it really
 * hands to helm (`apply <pid>`); with a gate file, it holds each upgrade until the gate exists.
 * Dry runs (`--dry-run…`, which apply nothing) pass straight through, unlogged.
 */
export function helmWrapper(
  dir: string,
  name: string,
  gate?: string,
): { binary: string; log: () => string[] } {
  const binary = path.join(dir, `helm-${name}`);
  const logFile = path.join(dir, `${name}.log`);
  writeFileSync(
    binary,
    [
      '#!/bin/sh',
      'dry=',
      'for a in "$@"; do case "$a" in --dry-run*) dry=1 ;; esac; done',
      'if [ "$1" = "upgrade" ] && [ -z "$dry" ]; then',
      `  echo "start $$" >> '${logFile}'`,
      gate ? `  while [ ! -f '${gate}' ]; do sleep 0.05; done` : '',
      `  echo "apply $$" >> '${logFile}'`,
      'fi',
      `exec '${helmBinary('helm3')}' "$@"`,
      '',
    ].join('\n'),
  );
  chmodSync(binary, 0o755);
  return {
    binary,
    log: () =>
      existsSync(logFile)
        ? readFileSync(logFile, 'utf8').trim().split('\n')
        : [],
  };
}

/** Whether a process is still alive. */
export const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
