import {
  createTextRedactor,
  redactManifest,
  scrubStrings,
} from '@kubechart/plugin-kubechart-node';

/**
 * A manifest and its policy report as a reader may see them (a preview, an approval plan, a policy
 * check): the manifest redacted, and `secrets` (the values a request gave, or those of the Secrets
 * it applies or brings back) removed from both wherever they were copied.
 */
export function redactPlan<R>(
  manifest: string,
  report: R,
  secrets: string[],
): { manifest: string; report: R } {
  if (!secrets.length) return { manifest: redactManifest(manifest), report };
  const scrub = createTextRedactor(secrets, { keyValuePairs: false });
  return {
    manifest: redactManifest(manifest, { scrub }),
    report: scrubStrings(report, scrub),
  };
}
