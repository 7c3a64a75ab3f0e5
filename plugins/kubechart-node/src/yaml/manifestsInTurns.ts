import { manifestObjects } from '../policy/validity';
import type { KubeObject } from '../policy/types';
import { MANIFEST_DOCUMENT_LIMITS, MANIFEST_REQUEST_LIMITS } from './limits';
import { ParseYamlOptions, parseYamlLimitedInTurns } from './parseYamlLimited';

/**
 * What `parseManifests(text, options)` returns, read one document per turn of the event loop
 * ({@link parseYamlLimitedInTurns}): the same objects, bounds ({@link MANIFEST_DOCUMENT_LIMITS}; with
 * `maxObjects`, what a request brings: {@link MANIFEST_REQUEST_LIMITS} and `maxObjects`) and errors,
 * and no caller holds the event loop longer than its largest document costs to read. For a manifest
 * a request brings (a policy check, a manifests run or its preview, a recorded run's finish) and what
 * helm renders or applied (a release's check, the post-render gate, drift).
 * @public
 */
export async function parseManifestsInTurns(
  text: string,
  options: { maxObjects?: number } = {},
): Promise<KubeObject[]> {
  const docs = await parseYamlLimitedInTurns(text, manifestsRead(options));
  return manifestObjects(docs);
}

/**
 * How `parseManifests` and {@link parseManifestsInTurns} read a manifest: every document is one
 * object the API server would store at most ({@link MANIFEST_DOCUMENT_LIMITS}, what helm renders
 * too); a manifest a request brings (read with an object limit) is held to
 * {@link MANIFEST_REQUEST_LIMITS} and `maxObjects` as well.
 */
export function manifestsRead(options: {
  maxObjects?: number;
}): ParseYamlOptions {
  return {
    what: 'Manifests',
    schema: 'helm',
    limits:
      options.maxObjects !== undefined
        ? { ...MANIFEST_REQUEST_LIMITS, maxObjects: options.maxObjects }
        : MANIFEST_DOCUMENT_LIMITS,
  };
}
