/**
 * Scaffolder actions that provision tenants and install Helm charts through the kubechart engine.
 *
 * @packageDocumentation
 */
export { scaffolderModuleKubechart as default } from './module';
export * from './actions';
