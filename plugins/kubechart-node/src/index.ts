/**
 * Building blocks of kubechart for backend modules: chart policy engine, Helm runner, cluster
 * client, redaction, extension points and a client that records runs in deployment history.
 *
 * @packageDocumentation
 */
export * from './policy';
export * from './helm';
export * from './chartSource';
export * from './cluster';
export * from './redaction';
export * from './yaml';
export * from './extensions';
export * from './runs';
