import { parseManifests } from '../policy/PolicyEngine';
import { redactManifest, redactManifestInTurns } from '../redaction/redact';
import { labelManifests, labelManifestsInTurns } from '../helm/tenantLabels';
import { parseManifestsInTurns } from './manifestsInTurns';
import { turnsDuring } from '@internal/kube-sim/testUtils';

/**
 * What helm renders is read one object per document, each held to what the Kubernetes API server
 * stores of one object (1.5 MiB, `maxDocumentBytes`) and to `maxDocumentNodes`, whether or not an
 * object limit is given: a chart's values (`extraObjects` through `tpl`) decide what it renders.
 */

/** One ConfigMap of `keys` keys `  k<n>: v`: what a chart renders from user values. */
const configMap = (name: string, keys: number) =>
  [
    'apiVersion: v1',
    'kind: ConfigMap',
    `metadata: { name: ${name} }`,
    'data:',
    ...Array.from({ length: keys }, (_, i) => `  k${i.toString(36)}: v`),
    '',
  ].join('\n');

/** A ConfigMap of just over 2 MiB (about 200,000 keys), well within the 5 MiB a stream may hold. */
const TWO_MIB_DOCUMENT = configMap('big', 200_000);

/** `count` small documents. */
const manyDocuments = (count: number) =>
  Array.from({ length: count }, (_, i) => configMap(`cm${i}`, 20)).join(
    '---\n',
  );

describe('helm output read with per-document bounds', () => {
  it('refuses a rendered document larger than the API server stores, naming the per-document limit', async () => {
    expect(Buffer.byteLength(TWO_MIB_DOCUMENT)).toBeGreaterThan(
      2 * 1024 * 1024,
    );
    const limit =
      /the document starting on line 1 is larger than 1572864 bytes; the limit maxDocumentBytes is 1572864/;
    expect(() => parseManifests(TWO_MIB_DOCUMENT)).toThrow(limit);
    await expect(parseManifestsInTurns(TWO_MIB_DOCUMENT)).rejects.toThrow(
      limit,
    );
    expect(() =>
      labelManifests(TWO_MIB_DOCUMENT, { 'kubechart.io/tenant': 'acme' }),
    ).toThrow(limit);
    await expect(
      labelManifestsInTurns(TWO_MIB_DOCUMENT, {
        'kubechart.io/tenant': 'acme',
      }),
    ).rejects.toThrow(limit);
  });

  it('refuses a rendered document of more nodes than one object may hold, naming the per-document limit', () => {
    // 60,000 keys: 60,000 values (keys are not counted) in well under 1.5 MiB.
    const text = `${configMap('small', 10)}---\n${configMap('wide', 60_000)}`;
    expect(Buffer.byteLength(text)).toBeLessThan(1024 * 1024);
    expect(() => parseManifests(text)).toThrow(
      /document 2 holds more than 50000 nodes once aliases are expanded; the limit maxDocumentNodes is 50000/,
    );
  });

  it('does not show a redacted document larger than the API server stores (and shows the others)', async () => {
    const text = `${configMap('small', 3)}---\n${TWO_MIB_DOCUMENT}`;
    for (const out of [
      redactManifest(text),
      await redactManifestInTurns(text),
    ]) {
      expect(out).toContain('name: small');
      expect(out.includes('name: big')).toBe(false);
      expect(out).toContain(
        '# (document not shown: not valid YAML or over the input limits)',
      );
    }
  });

  it('lets other work run between the documents of a large rendered output: reading and labelling', async () => {
    const text = manyDocuments(400);
    let objects: unknown[] = [];
    expect(
      await turnsDuring(async () => {
        objects = await parseManifestsInTurns(text);
      }),
    ).toBeGreaterThanOrEqual(399);
    expect(objects).toHaveLength(400);

    let labelled = '';
    const turns = await turnsDuring(async () => {
      labelled = await labelManifestsInTurns(text, {
        'kubechart.io/tenant': 'acme',
      });
    });
    // Read a document per turn, then written out a document per turn.
    expect(turns).toBeGreaterThanOrEqual(2 * 399);
    expect(labelled).toBe(
      labelManifests(text, { 'kubechart.io/tenant': 'acme' }),
    );
    expect(labelled.match(/kubechart\.io\/tenant: acme/g)).toHaveLength(400);
  });
});
