/**
 * Common types, permissions and constants of the audit-log plugin family.
 *
 * @packageDocumentation
 */

export * from './permissions';
export * from './types';
export * from './signals';
export * from './canonical';
export * from './gap';
