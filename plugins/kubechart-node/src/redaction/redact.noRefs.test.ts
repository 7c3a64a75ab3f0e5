import yaml from 'js-yaml';
import { redactManifest } from './redact';

/**
 * A document holding a Secret is written out again; js-yaml looks for repeated objects to write
 * anchors for (`&ref_0`) unless told not to (`noRefs`), and that search compares every object with
 * every other one seen before it: a List of 65,000 small ConfigMaps and one Secret held the event
 * loop 5 s in it. What is written out never refers to another part of it (what redaction returns
 * shares no objects), so the search is skipped.
 */
describe('redactManifest writing a document out again', () => {
  afterEach(() => jest.restoreAllMocks());

  const list = (n: number) =>
    [
      'apiVersion: v1',
      'kind: List',
      'items:',
      '- { apiVersion: v1, kind: Secret, metadata: { name: db }, stringData: { password: hunter2-Zq9vLp4w } }',
      ...Array.from(
        { length: n },
        (_, i) =>
          `- { apiVersion: v1, kind: ConfigMap, metadata: { name: c${i} }, data: { i: "${i}" } }`,
      ),
    ].join('\n');

  it('does not search it for repeated objects', () => {
    const dump = jest.spyOn(yaml, 'dump');
    const out = redactManifest(list(3));
    expect(out).not.toContain('hunter2-Zq9vLp4w');
    expect(out).toContain('name: c2');
    // One document (the List) is written out again, without the search.
    expect(dump.mock.calls.map(([, options]) => options?.noRefs)).toEqual([
      true,
    ]);
  });
});
