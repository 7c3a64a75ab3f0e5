/* eslint-disable no-console */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { KubeSimUser } from './server/auth';
import { startKubeSim } from './startKubeSim';
import { generateServingCert } from './tls';

const USAGE = `Usage: yarn kube-sim [options]

Starts kube-sim, a Kubernetes API server stand-in for development (never for production).

Options:
  --port <n>             port to listen on (default 7443)
  --host <addr>          interface to bind (default 127.0.0.1)
  --token <token>        admin bearer token (default kube-sim-dev-token)
  --seed <demo|empty>    initial cluster content (default demo)
  --tls                  serve HTTPS with a generated CA (needed by helm and kubectl,
                         which never send a token over plain HTTP); the CA is kept beside
                         the kubeconfig (kube-sim-ca.crt/.key) and reused on the next start
  --kubeconfig <path>    where to write the kubeconfig (default <repo>/.kube-sim/kubeconfig)
  --pod-ready-delay-ms <n>  how long pods take to become Ready (default 1500)
  --user <token>:<name>[:<group>,…]  a static token user (repeatable); it has only the
                         rights RBAC objects grant it (discovery and /version for everyone)
  -h, --help             show this help
`;

interface CliOptions {
  port: number;
  host: string;
  token: string;
  seed: 'demo' | 'empty';
  tls: boolean;
  kubeconfig: string;
  podReadyDelayMs: number;
  users: KubeSimUser[];
}

/** The monorepo root: the nearest directory up from `from` whose package.json declares workspaces. */
function findRepoRoot(from: string): string {
  let dir = resolve(from);
  for (;;) {
    const pkg = resolve(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).workspaces)
      return dir;
    const parent = dirname(dir);
    if (parent === dir) return resolve(from);
    dir = parent;
  }
}

function parseArgs(argv: string[]): CliOptions {
  const repoRoot = findRepoRoot(process.cwd());
  const opts: CliOptions = {
    port: 7443,
    host: '127.0.0.1',
    token: 'kube-sim-dev-token',
    seed: 'demo',
    tls: false,
    kubeconfig: resolve(repoRoot, '.kube-sim/kubeconfig'),
    podReadyDelayMs: 1500,
    users: [],
  };
  const value = (i: number, flag: string) => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--'))
      throw new Error(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const take = () => {
      if (inline !== undefined) return inline;
      const v = value(i, flag);
      i += 1;
      return v;
    };
    switch (flag) {
      case '--port': {
        const port = Number(take());
        if (!Number.isInteger(port) || port < 0 || port > 65535)
          throw new Error('--port must be 0-65535');
        opts.port = port;
        break;
      }
      case '--host':
        opts.host = take();
        break;
      case '--token':
        opts.token = take();
        break;
      case '--seed': {
        const seed = take();
        if (seed !== 'demo' && seed !== 'empty')
          throw new Error('--seed must be demo or empty');
        opts.seed = seed;
        break;
      }
      case '--tls':
        opts.tls = true;
        break;
      case '--kubeconfig':
        opts.kubeconfig = resolve(process.cwd(), take());
        break;
      case '--pod-ready-delay-ms':
        opts.podReadyDelayMs = Math.max(0, Number(take()) || 0);
        break;
      case '--user': {
        // Groups may hold colons themselves (system:masters): only the first two split.
        const [userToken, name, ...rest] = take().split(':');
        const groups = rest.join(':');
        if (!userToken || !name)
          throw new Error('--user must be <token>:<name>[:<group>,…]');
        opts.users.push({
          token: userToken,
          name,
          ...(groups ? { groups: groups.split(',').filter(Boolean) } : {}),
        });
        break;
      }
      case '-h':
      case '--help':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${argv[i]}`);
    }
  }
  return opts;
}

/** Reuses the CA kept beside the kubeconfig, so clients configured with its caData keep working. */
function loadOrCreateCertificate(dir: string): { cert: string; key: string } {
  const certPath = resolve(dir, 'kube-sim-ca.crt');
  const keyPath = resolve(dir, 'kube-sim-ca.key');
  if (existsSync(certPath) && existsSync(keyPath)) {
    return {
      cert: readFileSync(certPath, 'utf8'),
      key: readFileSync(keyPath, 'utf8'),
    };
  }
  const pair = generateServingCert();
  writeFileSync(keyPath, pair.key, { mode: 0o600 });
  writeFileSync(certPath, pair.cert, { mode: 0o644 });
  return pair;
}

async function main() {
  let opts: CliOptions;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`kube-sim: ${(e as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  mkdirSync(dirname(opts.kubeconfig), { recursive: true });
  const sim = await startKubeSim({
    port: opts.port,
    host: opts.host,
    token: opts.token,
    seed: opts.seed,
    tls: opts.tls,
    tlsCertificate: opts.tls
      ? loadOrCreateCertificate(dirname(opts.kubeconfig))
      : undefined,
    podReadyDelayMs: opts.podReadyDelayMs,
    users: opts.users,
  });
  writeFileSync(opts.kubeconfig, sim.kubeconfig, { mode: 0o600 });
  console.log(`kube-sim listening on ${sim.url} (seed: ${opts.seed})`);
  console.log(`kubeconfig written to ${opts.kubeconfig}`);
  console.log(`  export KUBECONFIG=${opts.kubeconfig}`);
  if (opts.tls) {
    console.log(
      `  CA certificate (PEM, kept across restarts; caData is its base64): ${resolve(
        dirname(opts.kubeconfig),
        'kube-sim-ca.crt',
      )}`,
    );
  } else {
    console.log('  (plain HTTP: helm and kubectl need --tls to authenticate)');
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`kube-sim: ${signal}, stopping`);
    sim.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch(e => {
  console.error(`kube-sim: ${(e as Error).message}`);
  process.exit(1);
});
