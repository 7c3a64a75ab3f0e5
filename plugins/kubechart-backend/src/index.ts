/**
 * The kubechart backend plugin: provisioning engine, deployment history, cluster and tenant health.
 *
 * @packageDocumentation
 */
export { kubechartPlugin as default } from './plugin';
