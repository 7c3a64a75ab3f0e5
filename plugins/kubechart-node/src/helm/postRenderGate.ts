import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { POST_RENDER_CLIENT_SOURCE } from './postRenderClient';
import { labelManifestsInTurns } from './tenantLabels';

/** What the gate's check decides about the manifests helm is about to send. @public */
export type PostRenderDecision =
  | {
      approved: true;
      /** What helm sends instead of the input; default: the input unchanged. */ manifest?: string;
    }
  | {
      approved: false;
      /** Shown in helm's error (and so in the run's failure reason). */ reason: string;
    };

/** Options of {@link startPostRenderGate}. @public */
export type PostRenderGateOptions = {
  /** Judges the rendered manifests exactly as helm will send them (after `lookup`, hooks included on helm 4). */
  check(manifest: string): PostRenderDecision | Promise<PostRenderDecision>;
  /** Labels set on every object (and pod template) before the check, e.g. the tenant's. */
  labels?: Record<string, string>;
  /** Largest manifest accepted, in bytes; larger is refused. Default 20 MiB. */
  maxBytes?: number;
  /** Where the gate's private directory is created. Default the OS temp dir. */
  tmpDir?: string;
};

/** What {@link HelmCli} needs to run helm with a post-renderer. @public */
export interface HelmPostRenderer {
  /** Arguments to add to `helm template` / `helm upgrade --install` for this helm major version. */
  helmArgs(helmMajor: number): string[];
  /** Environment to add to that helm process. */
  helmEnv(helmMajor: number): Record<string, string>;
  /** Reasons of refusals so far; a failed helm call's error gets the new ones appended. */
  readonly refusals?: readonly string[];
}

/** A running post-render gate: one per run (or per release). @public */
export interface PostRenderGate extends HelmPostRenderer {
  /** Manifests the gate approved, in order, as helm received them back: what the cluster gets. */
  readonly approved: string[];
  /** Reasons of the refusals the gate gave. */
  readonly refusals: string[];
  /** Stops listening and removes the private directory. */
  close(): Promise<void>;
}

/** Name of the helm 4 post-renderer plugin the gate writes. @public */
export const POST_RENDER_PLUGIN_NAME = 'kubechart-policy';

const DEFAULT_MAX_BYTES = 20 * 1024 * 1024;
const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Starts a post-render gate: a unix socket in a private (0700) directory, plus the executable helm 3
 * runs (`--post-renderer <path>`) and the helm 4 `postrenderer/v1` plugin (`--post-renderer
 * kubechart-policy`, found through `HELM_PLUGINS`) that forward helm's rendered manifests to it.
 * Each call runs `check`; an approval returns the manifests to helm, a refusal (or any error, a
 * wrong token, an oversized input) makes the post-renderer exit non-zero, so helm applies nothing.
 * @public
 */
export async function startPostRenderGate(
  options: PostRenderGateOptions,
): Promise<PostRenderGate> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const dir = await fs.mkdtemp(
    path.join(options.tmpDir ?? os.tmpdir(), 'kubechart-pr-'),
  );
  await fs.chmod(dir, 0o700);
  const token = randomBytes(24).toString('hex');
  const socketPath = path.join(dir, 'gate.sock');
  const client = path.join(dir, 'post-render.cjs');
  const executable = path.join(dir, 'post-render');
  const pluginsDir = path.join(dir, 'plugins');
  const pluginDir = path.join(pluginsDir, POST_RENDER_PLUGIN_NAME);
  await fs.writeFile(client, POST_RENDER_CLIENT_SOURCE, { mode: 0o600 });
  // An empty environment (`env -i`): helm passes the backend's environment on, and a NODE_OPTIONS meant
  // for the backend (a --require hook, instrumentation, an inspector) would load into, slow down or
  // break every post-render. The client needs nothing from the environment: its arguments say it all.
  await fs.writeFile(
    executable,
    `#!/bin/sh\nexec /usr/bin/env -i ${shellQuote(
      process.execPath,
    )} ${shellQuote(client)} "$@"\n`,
    { mode: 0o700 },
  );
  await fs.mkdir(pluginDir, { recursive: true });
  await fs.writeFile(
    path.join(pluginDir, 'plugin.yaml'),
    [
      'apiVersion: v1',
      'type: postrenderer/v1',
      `name: ${POST_RENDER_PLUGIN_NAME}`,
      'version: 1.0.0',
      'runtime: subprocess',
      'runtimeConfig:',
      '  platformCommand:',
      `    - command: ${JSON.stringify(executable)}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );

  const approved: string[] = [];
  const refusals: string[] = [];
  const answer = (socket: net.Socket, header: object, body = '') =>
    socket.end(`${JSON.stringify(header)}\n${body}`);
  const refuse = (socket: net.Socket, reason: string) => {
    refusals.push(reason);
    answer(socket, { ok: false, reason });
  };

  const server = net.createServer({ allowHalfOpen: true }, socket => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    socket.on('error', () => socket.destroy());
    socket.on('data', chunk => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > maxBytes + token.length + 1) {
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk as Buffer);
    });
    socket.on('end', async () => {
      if (tooLarge) {
        refuse(
          socket,
          `the rendered manifests are larger than ${maxBytes} bytes; nothing was applied`,
        );
        return;
      }
      const all = Buffer.concat(chunks);
      const nl = all.indexOf(10);
      if (nl < 0 || all.subarray(0, nl).toString('utf8') !== token) {
        refuse(
          socket,
          "the post-renderer did not present this run's token; nothing was applied",
        );
        return;
      }
      const rendered = all.subarray(nl + 1).toString('utf8');
      try {
        // A document per turn of the event loop: other requests are answered meanwhile.
        const manifest = options.labels
          ? await labelManifestsInTurns(rendered, options.labels)
          : rendered;
        const decision = await options.check(manifest);
        if (decision.approved) {
          const out = decision.manifest ?? manifest;
          approved.push(out);
          // The length lets the post-renderer tell a complete answer from a cut one.
          answer(socket, { ok: true, bytes: Buffer.byteLength(out) }, out);
        } else {
          refuse(socket, decision.reason);
        }
      } catch (e) {
        // Fail closed: a check that throws refuses.
        refuse(
          socket,
          `the policy check failed: ${
            (e as Error)?.message ?? String(e)
          }; nothing was applied`,
        );
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  await fs.chmod(socketPath, 0o600);

  return {
    approved,
    refusals,
    helmArgs: major =>
      major >= 4
        ? [
            '--post-renderer',
            POST_RENDER_PLUGIN_NAME,
            '--post-renderer-args',
            socketPath,
            '--post-renderer-args',
            token,
          ]
        : [
            '--post-renderer',
            executable,
            '--post-renderer-args',
            socketPath,
            '--post-renderer-args',
            token,
          ],
    // helm 4 finds post-renderer plugins in HELM_PLUGINS; the gate's directory holds only its own.
    helmEnv: (major): Record<string, string> =>
      major >= 4 ? { HELM_PLUGINS: pluginsDir } : {},
    close: async () => {
      await new Promise<void>(resolve => server.close(() => resolve()));
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
