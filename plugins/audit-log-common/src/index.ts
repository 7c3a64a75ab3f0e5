/**
 * Common types, permissions and constants of the audit-log plugin family, and the free-text and
 * URL redaction and the window of refusals recorded one by one every family shares.
 *
 * @packageDocumentation
 */

export * from './permissions';
export * from './types';
export * from './signals';
export * from './canonical';
export * from './gap';
export * from './redaction';
export * from './refusalWindow';
