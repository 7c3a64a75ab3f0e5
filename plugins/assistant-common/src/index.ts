/**
 * Common types, plan schema, kubectl rendering, safety rules and permissions
 * of the Kubernetes assistant.
 *
 * @packageDocumentation
 */

export * from './plan';
export * from './planJsonSchema';
export * from './renderKubectl';
export * from './safety';
export * from './permissions';
export * from './api';
export {
  hiddenCharacters,
  codePointName,
  countHiddenCharacters,
  visiblePieces,
  withMarkers,
  withoutColours,
} from './hiddenCharacters';
