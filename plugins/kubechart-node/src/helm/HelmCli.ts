import { Config } from '@backstage/config';
import { CustomErrorBase, InputError } from '@backstage/errors';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Transform } from 'node:stream';
import pLimit from 'p-limit';
import { createTextRedactor } from '../redaction/redact';
import { toChartInputError } from './inputErrors';
import type { HelmPostRenderer } from './postRenderGate';
import {
  validateChartRef,
  validateChartVersion,
  validateNamespace,
  validateReleaseName,
  validateRepoUrl,
} from './validation';

/** Hides the values of secret-looking `key=value` pairs of helm's words (known secrets are the caller's). */
const scrubPairs = createTextRedactor();

/**
 * A failed helm invocation; `message` carries helm's own error text (its last lines, with the
 * values of secret-looking pairs hidden), `stderr` all of it as helm wrote it (at most
 * {@link HelmCliOptions.maxStderrBytes}); `overflow`, when helm was killed for writing more than
 * the bound of one of its outputs, which one and its bound. @public
 */
export class HelmCommandError extends CustomErrorBase {
  name = 'HelmCommandError' as const;
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly timedOut = false,
    readonly overflow?: { stream: 'stdout' | 'stderr'; maxBytes: number },
  ) {
    super(message);
  }
}

/**
 * Receives helm's output, one line at a time. One that throws is not called again for that
 * command; the command still reads all of helm's output and settles as helm ended. @public
 */
export type HelmLineListener = (
  line: string,
  stream: 'stdout' | 'stderr',
) => void;

/** What every helm call needs to reach a cluster. @public */
export type HelmTarget = {
  /** Kubeconfig YAML (written to a 0600 temp file for the call). Omit for `template`. */
  kubeconfig?: string;
  namespace: string;
  /**
   * Act as this user towards the API server (`--kube-as-user`, `--kube-as-group`), e.g. a tenant's
   * deployer ServiceAccount `system:serviceaccount:<ns>:<name>`. Only with `kubeconfig`.
   */
  impersonate?: { user: string; groups?: string[] };
};

/** A chart to render or install. @public */
export type HelmChartOptions = HelmTarget & {
  release: string;
  chart: string;
  repo?: string;
  version?: string;
  values?: Record<string, unknown>;
  onLine?: HelmLineListener;
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Runs helm with this post-renderer (see `startPostRenderGate`): what it approves is exactly what
   * helm applies; a refusal makes helm fail before it applies anything.
   */
  postRenderer?: HelmPostRenderer;
  /**
   * `helm template` only: the capabilities to render with instead of helm's defaults (what a
   * cluster serves: `group/version` and `group/version/Kind`, and its version).
   */
  apiVersions?: string[];
  kubeVersion?: string;
};

/** A hook of a release as helm rendered (and, after an install, ran) it. @public */
export type HelmHook = {
  name: string;
  kind: string;
  /** The template it came from, e.g. `mychart/templates/job.yaml`. */
  path: string;
  events: string[];
  manifest: string;
};

/** The hooks of a release JSON (`helm status`, a dry run's `--output json`). */
const hooksOf = (release: { hooks?: unknown } | undefined): HelmHook[] =>
  (Array.isArray(release?.hooks) ? release!.hooks : []).map((h: any) => ({
    name: String(h?.name ?? ''),
    kind: String(h?.kind ?? ''),
    path: String(h?.path ?? ''),
    events: Array.isArray(h?.events) ? h.events.map(String) : [],
    manifest: String(h?.manifest ?? ''),
  }));

/**
 * The revision `helm upgrade --install` reports it wrote: its status table's `REVISION:` line, which
 * comes before the chart's notes (the first such line); undefined when there is none.
 */
function revisionWritten(stdout: string): number | undefined {
  const m = /^REVISION: (\d+)[ \t\r]*$/m.exec(stdout);
  const revision = m ? Number(m[1]) : NaN;
  return Number.isSafeInteger(revision) && revision > 0 ? revision : undefined;
}

/** One entry of `helm history --output json`. @public */
export type HelmHistoryEntry = {
  revision: number;
  updated: string;
  status: string;
  chart: string;
  app_version?: string;
  description?: string;
};

/**
 * One finished helm invocation, for operations metrics: the helm command (`upgrade --install`,
 * `template`, `status`, …), how it ended, how long it ran and how long it waited for a free slot
 * in the process pool. @public
 */
export type HelmCommandEvent = {
  command: string;
  outcome: 'ok' | 'failed' | 'timeout' | 'cancelled';
  durationMs: number;
  queuedMs: number;
};

/**
 * The backend's environment without the settings that tell helm where to store release records and
 * which cluster, namespace and identity to act on (`HELM_DRIVER`, `HELM_KUBEASUSER`,
 * `HELM_KUBECONTEXT`, `KUBECONFIG`, …): helm gets those from the arguments kubechart gives it and
 * from {@link HelmCliOptions.env}, never from the process it runs in.
 */
function withoutHelmSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(env).filter(
      ([k]) => !k.startsWith('HELM_') && k !== 'KUBECONFIG',
    ),
  );
}

/** Default of {@link HelmCliOptions.maxConcurrent}. @public */
export const DEFAULT_HELM_MAX_CONCURRENT = 4;

/**
 * Default of {@link HelmCliOptions.maxStdoutBytes}: 64 MiB. What helm writes to its standard output
 * is a rendered manifest (the YAML reader refuses more than 5 MiB of it, the post-render gate more
 * than 20 MiB) or a release as JSON (its manifest and hooks, with the chart's files, of a release
 * whose record fits a Secret), so no call needs more; it is far below the longest string the
 * runtime can build (512 MiB), which helm's output is joined into. @public
 */
export const DEFAULT_HELM_MAX_STDOUT_BYTES = 64 * 1024 * 1024;

/**
 * Default of {@link HelmCliOptions.maxStderrBytes}: 4 MiB, tens of thousands of lines of warnings.
 * @public
 */
export const DEFAULT_HELM_MAX_STDERR_BYTES = 4 * 1024 * 1024;

/** Options of {@link HelmCli}. @public */
export type HelmCliOptions = {
  /** Path or name of the helm binary; default `helm` on PATH. */
  binary?: string;
  /** Default timeout of one helm call; default 5 minutes. */
  timeoutMs?: number;
  /**
   * Extra environment; HELM_* cache dirs default to a private temp dir. The backend's own HELM_* and
   * KUBECONFIG are not passed to helm, and HELM_DRIVER is always `secret`.
   */
  env?: Record<string, string>;
  /**
   * At most this many helm processes run at once; further calls wait in order for a free slot
   * (the timeout counts from the process start). Default {@link DEFAULT_HELM_MAX_CONCURRENT}.
   */
  maxConcurrent?: number;
  /**
   * Most bytes one helm call may write to its standard output; once it writes more, helm is killed
   * (as on a timeout) and the call fails, and nothing past the bound is kept or passed on.
   * Default {@link DEFAULT_HELM_MAX_STDOUT_BYTES}.
   */
  maxStdoutBytes?: number;
  /**
   * The same bound for helm's error output. Default {@link DEFAULT_HELM_MAX_STDERR_BYTES}.
   */
  maxStderrBytes?: number;
  /** Told about every finished helm invocation (metrics). */
  onCommand?: (event: HelmCommandEvent) => void;
};

/** The helm process pool right now. @public */
export type HelmPoolState = { running: number; queued: number; limit: number };

/**
 * Runs the helm CLI (3 or 4) as a child process: argv array (never a shell), values through a
 * 0600 temp file removed afterwards, a timeout that kills it, and output captured line by line.
 * @public
 */
export class HelmCli {
  readonly binary: string;
  private readonly timeoutMs: number;
  private readonly env: Record<string, string>;
  private versionCache?: Promise<{ major: number; version: string }>;
  private readonly pool: pLimit.Limit;
  private readonly maxConcurrent: number;
  private readonly maxBytes: { stdout: number; stderr: number };
  private readonly onCommand?: (event: HelmCommandEvent) => void;

  /**
   * Reads `kubechart.helm.binary`, `kubechart.helm.timeoutSeconds` and
   * `kubechart.helm.maxConcurrent`.
   */
  static fromConfig(
    config: Config,
    options: Pick<HelmCliOptions, 'onCommand'> = {},
  ): HelmCli {
    const timeout = config.getOptionalNumber('kubechart.helm.timeoutSeconds');
    return new HelmCli({
      binary: config.getOptionalString('kubechart.helm.binary'),
      timeoutMs: timeout ? timeout * 1000 : undefined,
      maxConcurrent: config.getOptionalNumber('kubechart.helm.maxConcurrent'),
      ...options,
    });
  }

  constructor(options: HelmCliOptions = {}) {
    this.binary = options.binary ?? 'helm';
    this.timeoutMs = options.timeoutMs ?? 5 * 60_000;
    this.maxConcurrent = options.maxConcurrent ?? DEFAULT_HELM_MAX_CONCURRENT;
    if (!Number.isInteger(this.maxConcurrent) || this.maxConcurrent < 1) {
      throw new InputError(
        `kubechart.helm.maxConcurrent must be a positive whole number, got ${options.maxConcurrent}`,
      );
    }
    this.pool = pLimit(this.maxConcurrent);
    this.maxBytes = {
      stdout: options.maxStdoutBytes ?? DEFAULT_HELM_MAX_STDOUT_BYTES,
      stderr: options.maxStderrBytes ?? DEFAULT_HELM_MAX_STDERR_BYTES,
    };
    for (const [name, value] of [
      ['maxStdoutBytes', this.maxBytes.stdout],
      ['maxStderrBytes', this.maxBytes.stderr],
    ] as const) {
      if (!Number.isInteger(value) || value < 1)
        throw new InputError(
          `${name} must be a positive whole number, got ${value}`,
        );
    }
    this.onCommand = options.onCommand;
    const base = path.join(os.tmpdir(), 'kubechart-helm');
    this.env = {
      HELM_CACHE_HOME: path.join(base, 'cache'),
      HELM_CONFIG_HOME: path.join(base, 'config'),
      HELM_DATA_HOME: path.join(base, 'data'),
      ...options.env,
    };
  }

  /** The helm version, e.g. `{ major: 4, version: 'v4.1.4' }`. */
  async version(): Promise<{ major: number; version: string }> {
    this.versionCache ??= this.exec(
      ['version', '--template', '{{.Version}}'],
      {},
    ).then(r => {
      const version = r.stdout.trim();
      const major = Number(/^v?(\d+)/.exec(version)?.[1]);
      if (!major)
        throw new HelmCommandError(
          `Unrecognised helm version "${version}"`,
          0,
          '',
        );
      return { major, version };
    });
    return this.versionCache;
  }

  /**
   * `helm template`: renders the chart and returns the manifest. A render over
   * {@link HelmCliOptions.maxStdoutBytes} is an `InputError` naming the bound (the chart and values
   * render too much), as are the chart references and values helm refuses (`toChartInputError`).
   */
  async template(options: HelmChartOptions): Promise<string> {
    const args = [
      'template',
      options.release,
      ...this.chartArgs(options),
      '--namespace',
      options.namespace,
    ];
    for (const apiVersion of options.apiVersions ?? [])
      args.push('--api-versions', apiVersion);
    if (options.kubeVersion) args.push('--kube-version', options.kubeVersion);
    const post = await this.postRenderArgs(options);
    args.push(...post.args);
    const r = await this.withFiles(options, files =>
      this.exec([...args, ...files], { ...options, env: post.env }),
    ).catch(e => {
      throw toChartInputError(post.explain(e), { render: true });
    });
    return r.stdout;
  }

  /**
   * `helm upgrade --install`; returns the revision helm wrote (as it reports it: the release's latest
   * record once it exits may be another's), and that revision's manifest and hooks as its record holds
   * them when read right after. A helm that reports no revision is a `HelmCommandError`.
   */
  async upgradeInstall(
    options: HelmChartOptions & {
      wait?: boolean;
      timeoutSeconds?: number;
      createNamespace?: boolean;
      skipCrds?: boolean;
    },
  ) {
    const args = [
      'upgrade',
      '--install',
      options.release,
      ...this.chartArgs(options),
      '--namespace',
      options.namespace,
      // Exactly the values given: without it helm reuses the current record's values when none are.
      '--reset-values',
    ];
    // helm installs crds/ before it renders (so before any post-renderer); a caller may install them itself.
    if (options.skipCrds) args.push('--skip-crds');
    if (options.timeoutSeconds)
      args.push('--timeout', `${options.timeoutSeconds}s`);
    if (options.wait) args.push('--wait');
    if (options.createNamespace) args.push('--create-namespace');
    const post = await this.postRenderArgs(options);
    args.push(...post.args);
    const r = await this.withFiles(options, files =>
      this.exec([...args, ...files], { ...options, env: post.env }),
    ).catch(e => {
      throw toChartInputError(post.explain(e));
    });
    const revision = revisionWritten(r.stdout);
    if (revision === undefined) {
      throw new HelmCommandError(
        `helm upgrade --install of release ${options.release} in ${options.namespace} did not report the revision it wrote`,
        0,
        r.stderr,
      );
    }
    const status = await this.status({
      release: options.release,
      namespace: options.namespace,
      kubeconfig: options.kubeconfig,
      impersonate: options.impersonate,
      revision,
    });
    return {
      revision,
      manifest: status?.manifest as string | undefined,
      hooks: hooksOf(status),
    };
  }

  /**
   * `helm upgrade --install --dry-run=server --output json`: renders against the cluster (so `lookup`
   * sees what the install will see) and applies nothing. Returns the hook manifests, which helm 3
   * does not pass through a post-renderer: the caller checks them before the real install.
   */
  async renderHooks(options: HelmChartOptions): Promise<HelmHook[]> {
    const args = [
      'upgrade',
      '--install',
      options.release,
      ...this.chartArgs(options),
      '--namespace',
      options.namespace,
      '--reset-values',
      '--dry-run=server',
      '--output',
      'json',
    ];
    // With a post-renderer, its check sees the main manifests first, before helm asks the cluster about them.
    const post = await this.postRenderArgs(options);
    args.push(...post.args);
    const r = await this.withFiles(options, files =>
      this.exec([...args, ...files], { ...options, env: post.env }),
    ).catch(e => {
      throw toChartInputError(post.explain(e));
    });
    let release: { hooks?: unknown };
    try {
      release = JSON.parse(r.stdout);
    } catch {
      throw new HelmCommandError(
        'helm upgrade --install --dry-run=server did not answer a release as JSON',
        0,
        r.stderr,
      );
    }
    return hooksOf(release);
  }

  /** `helm rollback <release> <revision>`. */
  async rollback(
    options: HelmTarget & {
      release: string;
      revision: number;
      onLine?: HelmLineListener;
      timeoutMs?: number;
    },
  ) {
    validateReleaseName(options.release);
    if (!Number.isInteger(options.revision) || options.revision < 1) {
      throw new InputError(`Invalid revision ${options.revision}`);
    }
    await this.withFiles(
      {
        namespace: options.namespace,
        kubeconfig: options.kubeconfig,
        impersonate: options.impersonate,
      },
      files =>
        this.exec(
          [
            'rollback',
            options.release,
            String(options.revision),
            '--namespace',
            options.namespace,
            ...files,
          ],
          options,
        ),
    );
  }

  /** `helm uninstall`; resolves to false when the release did not exist. */
  async uninstall(
    options: HelmTarget & {
      release: string;
      onLine?: HelmLineListener;
      timeoutMs?: number;
    },
  ): Promise<boolean> {
    validateReleaseName(options.release);
    try {
      await this.withFiles(
        {
          namespace: options.namespace,
          kubeconfig: options.kubeconfig,
          impersonate: options.impersonate,
        },
        files =>
          this.exec(
            [
              'uninstall',
              options.release,
              '--namespace',
              options.namespace,
              ...files,
            ],
            options,
          ),
      );
      return true;
    } catch (e) {
      if (e instanceof HelmCommandError && /not found/i.test(e.stderr))
        return false;
      throw e;
    }
  }

  /** `helm history --output json`; empty when the release does not exist. */
  async history(
    options: HelmTarget & { release: string },
  ): Promise<HelmHistoryEntry[]> {
    validateReleaseName(options.release);
    try {
      const r = await this.withFiles(
        {
          namespace: options.namespace,
          kubeconfig: options.kubeconfig,
          impersonate: options.impersonate,
        },
        files =>
          this.exec(
            [
              'history',
              options.release,
              '--namespace',
              options.namespace,
              '--output',
              'json',
              ...files,
            ],
            {},
          ),
      );
      return JSON.parse(r.stdout || '[]');
    } catch (e) {
      if (e instanceof HelmCommandError && /not found/i.test(e.stderr))
        return [];
      throw e;
    }
  }

  /**
   * `helm status --output json`: the release's latest record, or that of `revision`; undefined when
   * the release (or that revision) does not exist.
   */
  async status(
    options: HelmTarget & { release: string; revision?: number },
  ): Promise<Record<string, any> | undefined> {
    validateReleaseName(options.release);
    const { revision } = options;
    if (
      revision !== undefined &&
      (!Number.isInteger(revision) || revision < 1)
    ) {
      throw new InputError(`Invalid revision ${revision}`);
    }
    try {
      const r = await this.withFiles(
        {
          namespace: options.namespace,
          kubeconfig: options.kubeconfig,
          impersonate: options.impersonate,
        },
        files =>
          this.exec(
            [
              'status',
              options.release,
              '--namespace',
              options.namespace,
              ...(revision === undefined
                ? []
                : ['--revision', String(revision)]),
              '--output',
              'json',
              ...files,
            ],
            {},
          ),
      );
      return JSON.parse(r.stdout);
    } catch (e) {
      if (e instanceof HelmCommandError && /not found/i.test(e.stderr))
        return undefined;
      throw e;
    }
  }

  /** Post-renderer arguments and environment for the installed helm's major version. */
  private async postRenderArgs(options: HelmChartOptions): Promise<{
    args: string[];
    env?: Record<string, string>;
    explain: (e: unknown) => unknown;
  }> {
    const pr = options.postRenderer;
    if (!pr) return { args: [], explain: e => e };
    const { major } = await this.version();
    const before = pr.refusals?.length ?? 0;
    // helm 4 does not show a post-renderer plugin's stderr: the refusal reason comes from the post-renderer.
    const explain = (e: unknown) => {
      const added = pr.refusals?.slice(before) ?? [];
      if (
        !(e instanceof HelmCommandError) ||
        added.every(r => e.message.includes(r))
      )
        return e;
      return new HelmCommandError(
        `${e.message}\n${added.join('\n')}`,
        e.exitCode,
        e.stderr,
        e.timedOut,
        e.overflow,
      );
    };
    return { args: pr.helmArgs(major), env: pr.helmEnv(major), explain };
  }

  /** Validated chart/repo/version arguments. */
  private chartArgs(options: HelmChartOptions): string[] {
    validateReleaseName(options.release);
    validateNamespace(options.namespace);
    validateChartRef(options.chart);
    const args = [options.chart];
    if (options.repo !== undefined) {
      validateRepoUrl(options.repo);
      args.push('--repo', options.repo);
    }
    if (options.version !== undefined) {
      validateChartVersion(options.version);
      args.push('--version', options.version);
    }
    return args;
  }

  /** Writes values and kubeconfig to 0600 files in a private temp dir, removed afterwards. */
  private async withFiles<T>(
    options: {
      values?: Record<string, unknown>;
      kubeconfig?: string;
      namespace: string;
      impersonate?: HelmTarget['impersonate'];
    },
    fn: (args: string[]) => Promise<T>,
  ): Promise<T> {
    validateNamespace(options.namespace);
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubechart-'));
    try {
      const args: string[] = [];
      if (options.values) {
        const file = path.join(dir, 'values.json');
        // JSON is YAML; mode 0600 so no other local user can read secret values.
        await fs.writeFile(file, JSON.stringify(options.values), {
          mode: 0o600,
        });
        args.push('--values', file);
      }
      if (options.kubeconfig) {
        const file = path.join(dir, 'kubeconfig');
        await fs.writeFile(file, options.kubeconfig, { mode: 0o600 });
        args.push('--kubeconfig', file);
        if (options.impersonate) {
          args.push('--kube-as-user', options.impersonate.user);
          for (const g of options.impersonate.groups ?? [])
            args.push('--kube-as-group', g);
        }
      }
      return await fn(args);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }

  /** How many helm processes run and wait for a slot now. */
  poolState(): HelmPoolState {
    return {
      running: this.pool.activeCount,
      queued: this.pool.pendingCount,
      limit: this.maxConcurrent,
    };
  }

  /**
   * Spawns helm with an argv array and collects its output, once a slot of the process pool is
   * free (see {@link HelmCliOptions.maxConcurrent}).
   */
  exec(
    args: string[],
    options: {
      onLine?: HelmLineListener;
      timeoutMs?: number;
      signal?: AbortSignal;
      env?: Record<string, string>;
    },
  ): Promise<{ stdout: string; stderr: string }> {
    const queuedAt = performance.now();
    const command = args[0] === 'upgrade' ? 'upgrade --install' : args[0];
    return this.pool(async () => {
      const startedAt = performance.now();
      let outcome: HelmCommandEvent['outcome'] = 'ok';
      try {
        if (options.signal?.aborted) {
          outcome = 'cancelled';
          throw new HelmCommandError(
            `helm ${command} was cancelled before it started`,
            null,
            '',
          );
        }
        return await this.spawnHelm(args, options);
      } catch (e) {
        if (outcome === 'ok')
          outcome =
            e instanceof HelmCommandError && e.timedOut ? 'timeout' : 'failed';
        throw e;
      } finally {
        this.onCommand?.({
          command,
          outcome,
          durationMs: performance.now() - startedAt,
          queuedMs: startedAt - queuedAt,
        });
      }
    });
  }

  private spawnHelm(
    args: string[],
    options: {
      onLine?: HelmLineListener;
      timeoutMs?: number;
      signal?: AbortSignal;
      env?: Record<string, string>;
    },
  ): Promise<{ stdout: string; stderr: string }> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    return new Promise((resolve, reject) => {
      const child = spawn(this.binary, args, {
        shell: false,
        stdio: ['ignore', 'pipe', 'pipe'],
        // Own process group, so a timeout also kills anything helm started (plugins, post-renderers).
        detached: true,
        env: {
          ...withoutHelmSettings(process.env),
          ...this.env,
          ...options.env,
          // kubechart reads and checks release records as Secrets; helm must store them there.
          HELM_DRIVER: 'secret',
        },
      });
      const stdout: string[] = [];
      const stderr: string[] = [];
      let timedOut = false;
      let overflow: 'stdout' | 'stderr' | undefined;
      let killTimer: NodeJS.Timeout | undefined;
      const signalGroup = (sig: NodeJS.Signals) => {
        try {
          process.kill(-child.pid!, sig);
        } catch {
          child.kill(sig);
        }
      };
      const kill = () => {
        if (killTimer) return;
        signalGroup('SIGTERM');
        killTimer = setTimeout(() => signalGroup('SIGKILL'), 5000);
        killTimer.unref();
      };
      const timer = setTimeout(() => {
        timedOut = true;
        kill();
      }, timeoutMs);
      const onAbort = () => kill();
      options.signal?.addEventListener('abort', onAbort);
      /** Whether `onLine` is still called (not once it threw). */
      let listening = true;
      const pump = (
        stream: NodeJS.ReadableStream,
        sink: string[],
        name: 'stdout' | 'stderr',
      ) => {
        const max = this.maxBytes[name];
        let bytes = 0;
        // Counted before lines are split: past the bound helm is killed and what it still writes is
        // read and dropped, so neither a line nor all of them grow past it.
        const bounded = stream.pipe(
          new Transform({
            transform(chunk: Buffer, _encoding, callback) {
              bytes += chunk.length;
              if (bytes <= max) {
                callback(null, chunk);
                return;
              }
              if (!overflow) {
                overflow = name;
                kill();
              }
              callback();
            },
          }),
        );
        const rl = readline.createInterface({
          input: bounded,
          crlfDelay: Infinity,
        });
        rl.on('line', line => {
          sink.push(line);
          if (!listening) return;
          try {
            options.onLine?.(line, name);
          } catch {
            // A listener that throws would throw out of the stream's handler: the process's
            // uncaught exception, with helm's output no longer read. It is not called again for
            // this command; what helm wrote and how it ended are read and settled as before.
            listening = false;
          }
        });
        return new Promise<void>(r => rl.on('close', () => r()));
      };
      const done = Promise.all([
        pump(child.stdout!, stdout, 'stdout'),
        pump(child.stderr!, stderr, 'stderr'),
      ]);
      let spawnError: Error | undefined;
      child.on('error', e => {
        spawnError = e;
      });
      const settle = async (code: number | null) => {
        clearTimeout(timer);
        if (killTimer) clearTimeout(killTimer);
        options.signal?.removeEventListener('abort', onAbort);
        await done;
        const err = stderr.join('\n');
        const verb = args[0] === 'upgrade' ? 'upgrade --install' : args[0];
        if (spawnError) {
          reject(
            new HelmCommandError(
              `helm could not be started (${this.binary}): ${spawnError.message}`,
              null,
              err,
            ),
          );
        } else if (overflow) {
          reject(
            new HelmCommandError(
              `helm ${verb} wrote more than ${
                this.maxBytes[overflow]
              } bytes to its ${
                overflow === 'stdout' ? 'standard' : 'error'
              } output and was killed`,
              code,
              err,
              false,
              { stream: overflow, maxBytes: this.maxBytes[overflow] },
            ),
          );
        } else if (timedOut) {
          reject(
            new HelmCommandError(
              `helm ${verb} timed out after ${Math.round(
                timeoutMs / 1000,
              )}s and was killed`,
              code,
              err,
              true,
            ),
          );
        } else if (code !== 0) {
          // The last lines of what helm said, cut once it is scrubbed whole: a value under a
          // secret-looking key over lines (a template's `fail` message echoing it) is hidden only
          // with its key's line, which may be before them.
          const text =
            scrubPairs(err)
              .split('\n')
              .filter(l => l.trim())
              .slice(-5)
              .join('\n') || `exit code ${code}`;
          reject(
            new HelmCommandError(`helm ${verb} failed: ${text}`, code, err),
          );
        } else {
          resolve({
            stdout: stdout.join('\n') + (stdout.length ? '\n' : ''),
            stderr: err,
          });
        }
      };
      // Whatever fails while the result is put together fails the call: it never stays pending
      // (holding its slot of the pool for good).
      child.on('close', code => settle(code).catch(reject));
    });
  }
}
