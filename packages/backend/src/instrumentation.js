// @ts-check
/*
 * OpenTelemetry for the example backend, set up as Backstage's "Setup OpenTelemetry" tutorial
 * does: loaded with `--require` before anything else (see this package's start script), it starts
 * the OpenTelemetry Node SDK with a Prometheus exporter. Every meter — the metrics service of each
 * plugin (kubechart, audit-log, kube-assistant, catalog, scaffolder, …) — is then served on
 * http://OTEL_EXPORTER_PROMETHEUS_HOST:OTEL_EXPORTER_PROMETHEUS_PORT/metrics (default
 * 0.0.0.0:9464/metrics). Only metrics: traces and logs stay off unless OTEL_TRACES_EXPORTER /
 * OTEL_LOGS_EXPORTER say otherwise, and no auto-instrumentations are loaded.
 */
const { isMainThread } = require('node:worker_threads');

// Once per process, not again in worker threads.
if (isMainThread) {
  process.env.OTEL_TRACES_EXPORTER ??= 'none';
  process.env.OTEL_LOGS_EXPORTER ??= 'none';
  const { NodeSDK } = require('@opentelemetry/sdk-node');
  const { PrometheusExporter } = require('@opentelemetry/exporter-prometheus');
  const sdk = new NodeSDK({
    metricReader: new PrometheusExporter(),
    instrumentations: [],
  });
  sdk.start();
  process.once('beforeExit', () => sdk.shutdown().catch(() => undefined));
}
