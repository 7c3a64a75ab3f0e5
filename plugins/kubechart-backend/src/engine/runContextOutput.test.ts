import { mockServices } from '@backstage/backend-test-utils';
import type { RunEvent } from '@kubechart/plugin-kubechart-common';
import { NewRunEvent, RunStore } from '../database/RunStore';
import { MAX_OUTPUT_CONTEXT_LINES, RunContext } from './RunContext';

/** A run context on a store that keeps the events it is given, as the run log holds them. */
function runLog() {
  const stored: NewRunEvent[] = [];
  const store = {
    appendEvents: async (runId: string, events: NewRunEvent[]) => {
      stored.push(...events);
      return events.map(
        (e, i) => ({ ...e, runId, seq: stored.length + i } as RunEvent),
      );
    },
  } as unknown as RunStore;
  const ctx = new RunContext('run-1', store, mockServices.logger.mock());
  return {
    ctx,
    messages: async () => {
      await ctx.flush();
      return stored.map(e => e.message);
    },
    stored,
  };
}

/**
 * helm's output reaches a run's log line by line, from stdout and stderr at once. A value under a
 * secret-looking key that runs over lines is hidden whole: each line is judged with the lines of
 * its stream before it that it may continue, not on its own.
 */
describe('RunContext output lines', () => {
  it('hides every line of a quoted value over lines, whatever the other stream prints between them', async () => {
    const { ctx, messages } = runLog();
    const onLine = ctx.helmOutput('[web]', 'release:web');
    onLine('Error: template failed: db: password: "first-Ab12', 'stderr');
    onLine('Release "web" does not exist. Installing it now.', 'stdout');
    onLine('  second-Cd34', 'stderr');
    onLine('third-Ef56" and more', 'stderr');
    onLine('user: app', 'stderr');
    const log = await messages();
    expect(log).toEqual([
      '[web] Error: template failed: db: password: "***',
      '[web] Release "web" does not exist. Installing it now.',
      '[web] ***',
      '[web] ***" and more',
      '[web] user: app',
    ]);
  });

  it("hides the lines of a YAML block under a secret key, blank lines within it too, up to the block's end", async () => {
    const { ctx, messages } = runLog();
    const onLine = ctx.helmOutput('[web]');
    for (const line of [
      'config:',
      '  tls-key: |',
      '    -----BEGIN PRIVATE KEY-----',
      '    MIIEvQIBADANBgkq',
      '',
      '    hkiG9w0BAQEFAASC',
      '  token:',
      '    nested: Gh78-value',
      '  mode: plain',
    ])
      onLine(line, 'stdout');
    expect(await messages()).toEqual([
      '[web] config:',
      '[web]   tls-key: |',
      '[web]     ***',
      '[web]     ***',
      '[web]     ***',
      '[web]   token:',
      '[web]     ***',
      '[web]   mode: plain',
    ]);
  });

  it('logs each line as it comes, without waiting for the next one', async () => {
    const { ctx, messages } = runLog();
    const onLine = ctx.helmOutput('[web]');
    onLine('password: "open-Ij90', 'stderr');
    expect(await messages()).toEqual(['[web] password: "***']);
    onLine('still-Kl12"', 'stderr');
    expect(await messages()).toEqual(['[web] password: "***', '[web] ***"']);
  });

  it('hides a multi-line value the run knows as a secret, each of its lines, also in the last lines of an error', async () => {
    const { ctx, messages } = runLog();
    ctx.addSecrets({ db: { password: 'Mn34-line-one\n  Op56-line-two' } });
    // helm's error names its last lines only (a failure reason).
    expect(ctx.redact('Op56-line-two" refused')).toBe('***" refused');
    const onLine = ctx.helmOutput('[web]');
    onLine('the value is Mn34-line-one', 'stdout');
    onLine('Op56-line-two, as given', 'stdout');
    const log = (await messages()).join('\n');
    expect(log).not.toContain('Mn34-line-one');
    expect(log).not.toContain('Op56-line-two');
    expect(log).toContain(', as given');
  });

  it('withholds the rest of a stream whose secret value does not end within the bound, saying so; the other stream goes on', async () => {
    const { ctx, messages } = runLog();
    const onLine = ctx.helmOutput('[web]');
    onLine('token: "Qr78-start', 'stderr');
    for (let i = 0; i < MAX_OUTPUT_CONTEXT_LINES + 10; i++)
      onLine(`secret-line-${i}`, 'stderr');
    onLine('done" ok', 'stderr');
    onLine('STATUS: deployed', 'stdout');
    const log = await messages();
    expect(log.join('\n')).not.toMatch(/secret-line|Qr78|done/);
    expect(log.filter(m => m === '[web] ***')).toHaveLength(
      MAX_OUTPUT_CONTEXT_LINES - 1,
    );
    expect(log.slice(-2)).toEqual([
      `[web] (the rest of helm's stderr is not shown: a value under a secret-looking key runs over more than ${MAX_OUTPUT_CONTEXT_LINES} lines or 32 KiB, so where it ends is not known)`,
      '[web] STATUS: deployed',
    ]);
  });
});
