import { InputError } from '@backstage/errors';
import { constants } from 'node:buffer';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DEFAULT_HELM_MAX_STDERR_BYTES,
  DEFAULT_HELM_MAX_STDOUT_BYTES,
  HelmCli,
  HelmCommandError,
  HelmCommandEvent,
} from './HelmCli';

// The scrubbing of helm's error text, made to throw on a marker: an error while helm's result is put
// together must still settle the call.
jest.mock('../redaction/redact', () => {
  const actual = jest.requireActual('../redaction/redact');
  return {
    ...actual,
    createTextRedactor: (...args: any[]) => {
      const redact = actual.createTextRedactor(...args);
      return (text: string) => {
        if (text.includes('SCRUB-THROWS')) throw new Error('scrubbing broke');
        return redact(text);
      };
    },
  };
});

/** How helm's output is bounded while it is collected (`maxStdoutBytes`, `maxStderrBytes`). */
describe('HelmCli output bounds', () => {
  let dir: string;
  let fake: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'fakehelm-out-'));
    fake = path.join(dir, 'helm');
    // Writes FAKE_BYTES bytes ('a' lines of 99 characters and a newline) to FAKE_STREAM, or writes
    // lines for ever (FAKE_MODE=flood), then answers as FAKE_MODE says.
    await fs.writeFile(
      fake,
      `#!/bin/sh
echo "$$" > "${dir}/pid"
line=$(printf 'a%.0s' $(seq 1 99))
if [ "$FAKE_MODE" = "flood" ]; then
  if [ "$FAKE_STREAM" = "stderr" ]; then yes "$line" >&2; else yes "$line"; fi
fi
if [ -n "$FAKE_BYTES" ]; then
  if [ "$FAKE_STREAM" = "stderr" ]; then yes "$line" | head -c "$FAKE_BYTES" >&2; else yes "$line" | head -c "$FAKE_BYTES"; fi
fi
if [ "$FAKE_MODE" = "scrubthrows" ]; then echo "Error: SCRUB-THROWS" >&2; exit 1; fi
exit 0
`,
      { mode: 0o755 },
    );
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  const render = (helm: HelmCli) =>
    helm.template({ release: 'r', chart: 'c', namespace: 'n' });

  /** Whether the fake helm that last started is still alive. */
  const fakeAlive = async () => {
    const pid = Number(await fs.readFile(path.join(dir, 'pid'), 'utf8'));
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it('returns output of exactly the bound whole', async () => {
    const helm = new HelmCli({
      binary: fake,
      env: { FAKE_BYTES: '1000' },
      maxStdoutBytes: 1000,
    });
    const manifest = await render(helm);
    expect(manifest).toBe(`${'a'.repeat(99)}\n`.repeat(10));
  });

  it('refuses a render one byte over the bound as the caller’s (400, naming the bound), and frees its slot of the pool', async () => {
    const events: HelmCommandEvent[] = [];
    const helm = new HelmCli({
      binary: fake,
      env: { FAKE_BYTES: '1001' },
      maxStdoutBytes: 1000,
      maxConcurrent: 1,
      onCommand: e => events.push(e),
    });
    const err = await render(helm).catch(e => e);
    // The chart and values render too much: the request is to change, not the server.
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe(
      'The chart rendered more than 1000 bytes with these values, the most kubechart reads of what helm template writes: give values that render less',
    );
    expect(err).not.toBeInstanceOf(HelmCommandError);
    expect(events.map(e => e.outcome)).toEqual(['failed']);
    expect(helm.poolState()).toEqual({ running: 0, queued: 0, limit: 1 });
  });

  it('kills helm that writes without end, and the next call gets the slot', async () => {
    const lines: string[] = [];
    const helm = new HelmCli({
      binary: fake,
      env: { FAKE_MODE: 'flood' },
      maxStdoutBytes: 64 * 1024,
      maxConcurrent: 1,
    });
    const err = await helm
      .template({
        release: 'r',
        chart: 'c',
        namespace: 'n',
        onLine: l => lines.push(l),
      })
      .catch(e => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe(
      'The chart rendered more than 65536 bytes with these values, the most kubechart reads of what helm template writes: give values that render less',
    );
    expect(await fakeAlive()).toBe(false);
    // What reached the listener is what was kept: nothing past the bound.
    expect(lines.join('\n').length).toBeLessThanOrEqual(64 * 1024);
    expect(helm.poolState()).toEqual({ running: 0, queued: 0, limit: 1 });

    const next = new HelmCli({
      binary: fake,
      env: { FAKE_BYTES: '100' },
      maxConcurrent: 1,
    });
    expect(await render(next)).toBe(`${'a'.repeat(99)}\n`);
  });

  it('kills helm that writes without end to its error output', async () => {
    const helm = new HelmCli({
      binary: fake,
      env: { FAKE_MODE: 'flood', FAKE_STREAM: 'stderr' },
      maxStderrBytes: 64 * 1024,
    });
    const err = await render(helm).catch(e => e);
    expect(err).toBeInstanceOf(HelmCommandError);
    expect(err.message).toBe(
      'helm template wrote more than 65536 bytes to its error output and was killed',
    );
    expect(err.stderr.length).toBeLessThanOrEqual(64 * 1024);
    expect(err.stderr.length).toBeGreaterThan(0);
    expect(await fakeAlive()).toBe(false);
    expect(helm.poolState()).toMatchObject({ running: 0, queued: 0 });
  });

  it('keeps output over the bound of a call that may have applied something a server error', async () => {
    // What `helm upgrade --install` writes comes after it applied the release: no request error.
    const helm = new HelmCli({
      binary: fake,
      env: { FAKE_BYTES: '1001' },
      maxStdoutBytes: 1000,
    });
    const err = await helm
      .upgradeInstall({ release: 'r', chart: 'c', namespace: 'n' })
      .catch(e => e);
    expect(err).toBeInstanceOf(HelmCommandError);
    expect(err).not.toBeInstanceOf(InputError);
    expect(err.message).toBe(
      'helm upgrade --install wrote more than 1000 bytes to its standard output and was killed',
    );
  });

  it('settles the call when putting its result together throws', async () => {
    const helm = new HelmCli({
      binary: fake,
      env: { FAKE_MODE: 'scrubthrows' },
      maxConcurrent: 1,
    });
    await expect(render(helm)).rejects.toThrow('scrubbing broke');
    expect(helm.poolState()).toEqual({ running: 0, queued: 0, limit: 1 });
  });

  it('bounds output by default well below the longest string the runtime can hold', () => {
    // Above what the post-render gate (20 MiB) and the YAML reader (5 MiB) accept...
    expect(DEFAULT_HELM_MAX_STDOUT_BYTES).toBeGreaterThan(20 * 1024 * 1024);
    // ... and far below a string too long to build (a character is at least one byte of output).
    expect(DEFAULT_HELM_MAX_STDOUT_BYTES * 4).toBeLessThanOrEqual(
      constants.MAX_STRING_LENGTH,
    );
    expect(DEFAULT_HELM_MAX_STDERR_BYTES).toBeLessThan(
      DEFAULT_HELM_MAX_STDOUT_BYTES,
    );
  });

  it('refuses a bound that is not a positive whole number', () => {
    expect(() => new HelmCli({ maxStdoutBytes: 0 })).toThrow(
      'maxStdoutBytes must be a positive whole number, got 0',
    );
    expect(() => new HelmCli({ maxStderrBytes: 1.5 })).toThrow(
      'maxStderrBytes must be a positive whole number, got 1.5',
    );
  });
});
