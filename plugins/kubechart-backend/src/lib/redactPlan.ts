import {
  createTextRedactor,
  redactManifestInTurns,
  scrubStrings,
} from '@kubechart/plugin-kubechart-node';

/**
 * A manifest and its policy report as a reader may see them (a preview, an approval plan, a policy
 * check): the manifest redacted, and `secrets` (the values a request gave, or those of the Secrets
 * it applies or brings back) removed from both wherever they were copied. The manifest is redacted
 * a document per turn of the event loop (`redactManifestInTurns`).
 */
export async function redactPlan<R>(
  manifest: string,
  report: R,
  secrets: string[],
): Promise<{ manifest: string; report: R }> {
  if (!secrets.length)
    return { manifest: await redactManifestInTurns(manifest), report };
  const scrub = createTextRedactor(secrets, { keyValuePairs: false });
  return {
    manifest: await redactManifestInTurns(manifest, { scrub }),
    report: scrubStrings(report, scrub),
  };
}
