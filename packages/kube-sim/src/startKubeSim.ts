import http from 'node:http';
import https from 'node:https';
import { AddressInfo, Socket } from 'node:net';
import { Controller } from './controller/controller';
import { FaultState, KubeSimFaults } from './faults';
import { buildKubeconfig } from './kubeconfig';
import { createObjects, seedDemo, seedNodes, seedSystem } from './seed';
import { BuiltinAdmission } from './server/admission';
import { KubeApi } from './server/api';
import { Authenticator, KubeSimUser } from './server/auth';
import { RbacAuthorizer } from './server/rbac/authorizer';
import { ServiceAccountTokens } from './server/tokens';
import { createHandler } from './server/handler';
import { recordedOpenApi } from './schema/openapi';
import { SchemaValidator } from './schema/validation';
import { CrdController } from './crd/controller';
import {
  customKindSchema,
  CustomResourceAdmission,
} from './crd/customResources';
import { ResourceRegistry } from './server/resources';
import { Store } from './server/store';
import { KubeObject } from './server/types';
import { generateServingCert } from './tls';

/** Options of {@link startKubeSim}. */
export interface KubeSimOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to bind; 127.0.0.1 unless set. */
  host?: string;
  /** The admin bearer token; a random one when left out. */
  token?: string;
  /** Static token users (`{ token, name, groups? }`); RBAC objects decide what they may do. */
  users?: KubeSimUser[];
  /** Objects created at start-up after the seed, as the admin (e.g. Roles and bindings for `users`). */
  objects?: KubeObject[];
  /** `empty` (system namespaces and `nodes` nodes) or `demo` (a small believable cluster). Default `empty`. */
  seed?: 'demo' | 'empty';
  /** Nodes to create with the `empty` seed (default 1). */
  nodes?: number;
  /** Serve HTTPS with a freshly generated self-signed CA (returned as `caData`). */
  tls?: boolean;
  /** With `tls`: serve this certificate (PEM; self-signed CA, valid for 127.0.0.1) instead of a new one. */
  tlsCertificate?: { cert: string; key: string };
  /** How long a scheduled pod takes to become Running and Ready (default 1500 ms). */
  podReadyDelayMs?: number;
  /**
   * How long a bound pod's kubelet takes to stop its containers after a graceful delete before it removes
   * the pod (default: `podReadyDelayMs`, at most 1000 ms; never longer than the pod's grace period).
   */
  podTerminationDelayMs?: number;
  /** Base back-off between crash-loop restarts and image-pull retries (default 5000 ms). */
  crashLoopBackoffMs?: number;
  /**
   * How long a deleted namespace stays Terminating with its content untouched before the namespace controller
   * empties it (and removes it, once empty), and how often it checks again while content remains (default 1000 ms;
   * a real one took about 5 s).
   */
  namespaceDeletionDelayMs?: number;
  /** How long job pods run before they succeed (default 1000 ms). */
  jobRunMs?: number;
  /** Changes kept for watches to resume from; older resourceVersions get 410 Gone (default 20000). */
  watchCacheSize?: number;
  /** Interval of BOOKMARK events on watches that allow them (default 10000 ms). */
  bookmarkIntervalMs?: number;
  /**
   * Check client writes against the real OpenAPI schemas (unknown fields, `fieldValidation`, types).
   * Default true; false only to measure what the checks cost (`yarn bench`).
   */
  schemaValidation?: boolean;
}

/** A running kube-sim. */
export interface KubeSim {
  /** The API server URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  port: number;
  /** The admin bearer token. */
  token: string;
  /** A kubeconfig (YAML) for the admin user; write it to a file for helm and kubectl. */
  kubeconfig: string;
  /** A kubeconfig (YAML) for the same server with another bearer token (a `users` entry's). */
  kubeconfigFor(token: string): string;
  /** Base64 of the CA certificate PEM when `tls` is on (the form Backstage's `caData` takes). */
  caData?: string;
  faults: KubeSimFaults;
  stop(): Promise<void>;
}

/** Starts a Kubernetes API server stand-in in this process. Development and tests only. */
export async function startKubeSim(
  options: KubeSimOptions = {},
): Promise<KubeSim> {
  const host = options.host ?? '127.0.0.1';
  const token =
    options.token ?? `kube-sim-${Math.random().toString(36).slice(2)}`;
  const registry = new ResourceRegistry();
  const store = new Store(options.watchCacheSize ?? 20000);
  const admission = new BuiltinAdmission(store, registry);
  const schemas =
    options.schemaValidation === false
      ? undefined
      : new SchemaValidator(recordedOpenApi);
  schemas?.addSource(customKindSchema);
  const api = new KubeApi(
    store,
    registry,
    new CustomResourceAdmission(admission),
    schemas,
  );
  const crds = new CrdController(api, schemas);
  let serving: { cert: string; key: string } | undefined;
  if (options.tls) serving = options.tlsCertificate ?? generateServingCert();
  const controller = new Controller(
    api,
    admission,
    {
      podReadyDelayMs: options.podReadyDelayMs ?? 1500,
      podTerminationDelayMs:
        options.podTerminationDelayMs ??
        Math.min(options.podReadyDelayMs ?? 1500, 1000),
      crashLoopBackoffMs: options.crashLoopBackoffMs ?? 5000,
      namespaceDeletionDelayMs: options.namespaceDeletionDelayMs ?? 1000,
      jobRunMs: options.jobRunMs ?? 1000,
    },
    serving?.cert ?? '',
  );
  controller.start();
  crds.start();
  seedSystem(api);
  if (options.seed === 'demo') seedDemo(api);
  else seedNodes(api, options.nodes ?? 1);
  createObjects(api, options.objects ?? []);
  store.startWatchCache();

  const faults = new FaultState();
  let port = options.port ?? 0;
  const auth = new Authenticator(token, options.users ?? []);
  const rbac = new RbacAuthorizer(api);
  auth.useRbac(rbac);
  const tokens = new ServiceAccountTokens((ns, name) =>
    api.tryGet(registry.find('', 'v1', 'serviceaccounts')!, ns, name),
  );
  auth.useServiceAccountTokens(tokens);
  const handler = createHandler({
    api,
    auth,
    rbac,
    tokens,
    faults,
    extensions: {
      podLog: (pod, container, o) =>
        controller.kubelets.podLog(pod, container, o),
      podMetrics: pods => controller.kubelets.podMetrics(pods),
      nodeMetrics: nodes => controller.kubelets.nodeMetrics(nodes),
    },
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 10000,
    serverAddress: () => `${host}:${port}`,
  });
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    handler(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  };

  let server: http.Server | https.Server | undefined;
  const sockets = new Set<Socket>();
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = serving
        ? https.createServer(
            { cert: serving.cert, key: serving.key },
            onRequest,
          )
        : http.createServer(onRequest);
      s.keepAliveTimeout = 30000;
      s.on('connection', (socket: Socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      s.on('clientError', (_err, socket) => {
        if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
        else socket.destroy();
      });
      s.once('error', reject);
      s.listen(port, host, () => {
        s.off('error', reject);
        port = (s.address() as AddressInfo).port;
        server = s;
        resolve();
      });
    });
  const close = () =>
    new Promise<void>(resolve => {
      const s = server;
      server = undefined;
      if (!s) {
        resolve();
        return;
      }
      s.close(() => resolve());
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    });

  await listen();
  const url = `${serving ? 'https' : 'http'}://${host}:${port}`;
  const caData = serving
    ? Buffer.from(serving.cert).toString('base64')
    : undefined;

  return {
    url,
    port,
    token,
    caData,
    kubeconfig: buildKubeconfig({ url, token, caData }),
    kubeconfigFor: (userToken: string) =>
      buildKubeconfig({ url, token: userToken, caData }),
    faults: {
      stopApi: close,
      async startApi() {
        if (!server) await listen();
      },
      setLatency(ms: number) {
        faults.latencyMs = Math.max(0, ms);
      },
      setErrorRate(rate: number) {
        faults.errorRate = Math.min(1, Math.max(0, rate));
      },
      failVerb(failure) {
        faults.failures.push(failure);
      },
      expireWatches() {
        store.expireWatches();
      },
      hangWatches(hang = {}) {
        faults.hang(hang);
      },
      heldWatches: () => faults.held,
      clear() {
        faults.latencyMs = 0;
        faults.errorRate = 0;
        faults.failures = [];
        faults.hangs = [];
      },
    },
    async stop() {
      controller.stop();
      crds.stop();
      await close();
    },
  };
}
