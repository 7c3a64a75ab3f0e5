import { manifestObjects } from '../policy/validity';
import type { KubeObject } from '../policy/types';
import { MANIFEST_REQUEST_LIMITS } from './limits';
import { parseYamlLimitedInTurns } from './parseYamlLimited';

/**
 * What `parseManifests(text, { maxObjects })` returns for a manifest a request brings (a policy
 * check, a manifests run or its preview, a recorded run's finish), read one document per turn of the
 * event loop ({@link parseYamlLimitedInTurns}): the same objects, bounds ({@link MANIFEST_REQUEST_LIMITS}
 * and `maxObjects`) and errors, and no request holds the event loop longer than its largest
 * document costs to read.
 * @public
 */
export async function parseManifestsInTurns(
  text: string,
  options: { maxObjects: number },
): Promise<KubeObject[]> {
  const docs = await parseYamlLimitedInTurns(text, {
    what: 'Manifests',
    schema: 'helm',
    limits: { ...MANIFEST_REQUEST_LIMITS, maxObjects: options.maxObjects },
  });
  return manifestObjects(docs);
}
