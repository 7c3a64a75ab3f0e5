/**
 * Types, permissions, annotation names and signal channels shared by the kubechart plugins.
 *
 * @packageDocumentation
 */
export * from './permissions';
export * from './annotations';
export * from './signals';
export * from './types';
export * from './validation';
export * from './links';
export * from './runChanges';
export * from './hiddenCharacters';
