export * from './ClusterRegistry';
export * from './ClusterDiscovery';
