/**
 * Test helpers for the plugins' tests (`@internal/kube-sim/testUtils`): the work a scan, a walk or a
 * YAML read does and the turns of the event loop it lets others have, counted instead of timed, and texts that make a secret scan start again.
 *
 * @packageDocumentation
 */
export {
  costOf,
  countingReads,
  nodesReadBy,
  nodesReadByAsync,
  superLinearScans,
  workOf,
  workOfAsync,
} from './countWork';
export type { Work } from './countWork';
export {
  HOSTILE_URLS,
  KNOWN_SECRET_LINES,
  hostileCommandTexts,
  hostileSecretTexts,
} from './hostileTexts';
export { turnsDuring } from './turns';
