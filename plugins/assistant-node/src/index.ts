/**
 * Node library of the Kubernetes assistant: the provider interface and the
 * extension point modules use to add providers.
 *
 * @packageDocumentation
 */

export * from './provider';
export * from './extensions';
export * from './refusal';
