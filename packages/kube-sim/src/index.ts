/**
 * kube-sim: a Kubernetes API server stand-in for development and tests. Not a production path;
 * no plugin depends on it at run time.
 *
 * @packageDocumentation
 */
export { startKubeSim } from './startKubeSim';
export type { KubeSim, KubeSimOptions } from './startKubeSim';
export type { KubeSimFaults, VerbFailure, WatchHang } from './faults';
export type { KubeSimUser, AccessRule } from './server/auth';
export { limitedUser } from './users';
export type { LimitedUserOptions } from './users';
export type { PolicyRule } from './server/rbac/rules';
export type { KubeObject } from './server/types';
