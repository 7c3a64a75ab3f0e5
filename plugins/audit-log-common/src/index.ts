/**
 * Common types, permissions and constants of the audit-log plugin family, and what every family
 * shares: the free-text and URL redaction, the window of refusals recorded one by one, and the
 * check of the plugin that passed a user's credentials on.
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
export * from './relayingPlugins';
export * from './entityOwner';
export * from './deadline';
export * from './goYaml';
export * from './hiddenCharacters';
export * from './serverUrl';
