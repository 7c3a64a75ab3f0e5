export * from './ClusterRegistry';
