import { gzipSync } from 'node:zlib';
import { RunFailure } from '../engine/errors';
import { KubeClient } from './KubeClient';
import {
  MAX_HELM_RELEASE_RECORDS,
  readCurrentHelmReleases,
} from './helmRelease';

/** Secret data as the API server returns it: base64 of helm's base64 of (gzipped) JSON. */
const encoded = (json: string, gzip = true) =>
  Buffer.from(
    (gzip ? gzipSync(json) : Buffer.from(json)).toString('base64'),
  ).toString('base64');

const record = (version: number, status: string, manifest = '') =>
  JSON.stringify({
    name: 'web',
    version,
    info: { status },
    chart: { metadata: { name: 'webapp', version: '1.0.0' } },
    config: {},
    manifest,
  });

/** A Secret labelled as a record of release `web` (`status` label, type `helm.sh/release.v1` unless given). */
function secret(
  name: string,
  release: string | undefined,
  labels: { status?: string; version?: string } = {},
  type = 'helm.sh/release.v1',
) {
  return {
    type,
    metadata: {
      name,
      namespace: 'shop',
      uid: `uid-${name}`,
      resourceVersion: '1',
      labels: { name: 'web', owner: 'helm', ...labels },
    },
    data: release === undefined ? {} : { release },
  };
}
/** The Secret helm writes for revision `version`, labelled `status`. */
const revision = (version: number, status: string, manifest = '') =>
  secret(
    `sh.helm.release.v1.web.v${version}`,
    encoded(record(version, status, manifest)),
    { status, version: String(version) },
  );

/** A KubeClient whose list of `name=web,owner=helm` Secrets in `shop` answers `items`. */
function clientWith(items: any[]): KubeClient {
  return {
    core: {
      listNamespacedSecret: async () => ({
        metadata: { resourceVersion: '42' },
        items,
      }),
    },
  } as unknown as KubeClient;
}

const read = (items: any[]) =>
  readCurrentHelmReleases(clientWith(items), 'shop', 'web');
const current = async (items: any[]) =>
  (await read(items)).current.map(r => ({
    secret: r.secret,
    version: r.version,
    status: r.status,
  }));
/** The failure reading `items` ends in; it must be a RunFailure (the run fails with its reason). */
const refusal = async (items: any[]) => {
  const error = await read(items).then(
    () => undefined,
    e => e,
  );
  expect(error).toBeInstanceOf(RunFailure);
  return String(error.message);
};

describe('reading the release records helm acts on', () => {
  it('reads the last record and the last one labelled deployed, each once, with the list they were read from', async () => {
    const items = [
      revision(1, 'superseded'),
      revision(2, 'deployed', 'kind: ConfigMap'),
      revision(3, 'failed'),
    ];
    const result = await read(items);
    expect(
      result.current.map(r => [r.secret, r.version, r.status, r.manifest]),
    ).toEqual([
      ['sh.helm.release.v1.web.v3', 3, 'failed', ''],
      ['sh.helm.release.v1.web.v2', 2, 'deployed', 'kind: ConfigMap'],
    ]);
    expect(result.listedAt).toBe('42');
    expect(result.uids).toEqual([
      'uid-sh.helm.release.v1.web.v1',
      'uid-sh.helm.release.v1.web.v2',
      'uid-sh.helm.release.v1.web.v3',
    ]);
    expect(await current([revision(1, 'deployed')])).toEqual([
      { secret: 'sh.helm.release.v1.web.v1', version: 1, status: 'deployed' },
    ]);
    expect(await current([])).toEqual([]);
  });

  it('orders records by the revision their record states, not by their name or label', async () => {
    // Named and labelled revision 1, but its record is revision 7: helm reads it as revision 7.
    const renamed = secret(
      'sh.helm.release.v1.web.v1',
      encoded(record(7, 'deployed')),
      {
        status: 'deployed',
        version: '1',
      },
    );
    expect(await current([renamed, revision(2, 'superseded')])).toEqual([
      { secret: 'sh.helm.release.v1.web.v1', version: 7, status: 'deployed' },
    ]);
  });

  it('reports a last record that is uninstalled as it is, with the last one labelled deployed, for the caller to judge', async () => {
    // helm's uninstall --keep-history marks the last record uninstalled: the caller sees its status.
    expect(
      await current([revision(1, 'superseded'), revision(2, 'uninstalled')]),
    ).toEqual([
      {
        secret: 'sh.helm.release.v1.web.v2',
        version: 2,
        status: 'uninstalled',
      },
    ]);
    // A record labelled deployed below it (as a failed last one, uninstalled with its history
    // kept, leaves): helm's upgrade may act on that one, so it is reported too.
    expect(
      await current([revision(1, 'deployed'), revision(2, 'uninstalled')]),
    ).toEqual([
      {
        secret: 'sh.helm.release.v1.web.v2',
        version: 2,
        status: 'uninstalled',
      },
      { secret: 'sh.helm.release.v1.web.v1', version: 1, status: 'deployed' },
    ]);
  });

  it('refuses two records of the last revision, naming both Secrets', async () => {
    const twin = secret('twin-of-v3', encoded(record(3, 'failed')), {
      status: 'failed',
      version: '3',
    });
    const why = await refusal([
      revision(1, 'deployed'),
      revision(3, 'failed'),
      twin,
    ]);
    expect(why).toBe(
      'Release web in namespace shop: release records sh.helm.release.v1.web.v3, twin-of-v3 each state revision 3',
    );
  });

  it('refuses two records labelled deployed of the highest deployed revision, below a unique last one', async () => {
    const twin = secret('twin-of-v2', encoded(record(2, 'deployed')), {
      status: 'deployed',
      version: '2',
    });
    const why = await refusal([
      revision(2, 'deployed'),
      twin,
      revision(5, 'failed'),
    ]);
    expect(why).toMatch(
      /release records sh\.helm\.release\.v1\.web\.v2, twin-of-v2 each state revision 2/,
    );
  });

  it('refuses a record whose revision is a duplicate only by what its record states (its name and label say another)', async () => {
    const forged = secret(
      'sh.helm.release.v1.web.v9',
      encoded(record(4, 'deployed')),
      { status: 'deployed', version: '9' },
    );
    expect(await refusal([revision(4, 'deployed'), forged])).toMatch(
      /each state revision 4/,
    );
  });

  it('reads a Secret of another type labelled as a record, as helm does (it reads every labelled Secret, whatever its type)', async () => {
    const opaque = secret(
      'not-a-helm-name',
      encoded(record(9, 'deployed', 'kind: Secret')),
      { status: 'deployed', version: '9' },
      'Opaque',
    );
    expect(await current([revision(1, 'deployed'), opaque])).toEqual([
      { secret: 'not-a-helm-name', version: 9, status: 'deployed' },
    ]);
  });

  it.each([
    ['Opaque', undefined],
    ['Opaque', ''],
    ['kubernetes.io/service-account-token', undefined],
    ['helm.sh/release.v1', undefined],
  ])(
    'refuses a Secret of type %s labelled as a record that holds no record (release: %p)',
    async (type, release) => {
      const labelled = secret(
        'labelled',
        release,
        { status: 'deployed' },
        type,
      );
      expect(await refusal([revision(1, 'deployed'), labelled])).toBe(
        'Release web in namespace shop: Secret labelled is labelled as its release record and holds none',
      );
    },
  );

  it(`refuses more than ${MAX_HELM_RELEASE_RECORDS} records, and reads ${MAX_HELM_RELEASE_RECORDS}`, async () => {
    const items = Array.from({ length: MAX_HELM_RELEASE_RECORDS + 1 }, (_, i) =>
      revision(
        i + 1,
        i === MAX_HELM_RELEASE_RECORDS ? 'deployed' : 'superseded',
      ),
    );
    expect(await refusal(items)).toBe(
      `Release web in namespace shop has ${
        MAX_HELM_RELEASE_RECORDS + 1
      } release record Secrets; kubechart reads at most ${MAX_HELM_RELEASE_RECORDS}`,
    );
    expect(await current(items.slice(1))).toEqual([
      {
        secret: `sh.helm.release.v1.web.v${MAX_HELM_RELEASE_RECORDS + 1}`,
        version: MAX_HELM_RELEASE_RECORDS + 1,
        status: 'deployed',
      },
    ]);
  });

  // helm decodes a record with Go's encoding/json: keys match its fields whatever their case (and
  // with Unicode folding), and of two keys for one field the last counts.
  it.each([
    [
      'a manifest spelled Manifest only',
      '{"name":"web","version":2,"info":{"status":"deployed"},"Manifest":"kind: Secret"}',
      /its key "Manifest" at its top level is not spelled as the field manifest/,
    ],
    [
      'a second manifest spelled MANIFEST',
      '{"name":"web","version":2,"manifest":"","MANIFEST":"kind: Secret"}',
      /the keys "manifest" and "MANIFEST" at its top level, which helm reads as one field/,
    ],
    [
      'the key manifest twice',
      '{"name":"web","version":2,"manifest":"","manifest":"kind: Secret"}',
      /the key "manifest" twice at its top level/,
    ],
    [
      'a status spelled Status in info',
      '{"name":"web","version":2,"info":{"Status":"deployed"}}',
      /key "Status" in info is not spelled as the field status/,
    ],
    [
      'a version twice, the second another revision',
      '{"name":"web","version":2,"version":3}',
      /the key "version" twice at its top level/,
    ],
    [
      'a manifest spelled with the long s (\u017f)',
      '{"name":"web","version":2,"manife\u017ft":"kind: Secret"}',
      /key "manife\u017ft" at its top level is not ASCII/,
    ],
    [
      "a hook's events spelled with a non-breaking space",
      '{"name":"web","version":2,"hooks":[{"events\u00a0":["pre-delete"]}]}',
      /key "events\u00a0" in hooks\[\] is not ASCII/,
    ],
    [
      "a hook's kind spelled with the Kelvin sign",
      '{"name":"web","version":2,"hooks":[{"\u212aind":"Job"}]}',
      /key "\u212aind" in hooks\[\] is not ASCII/,
    ],
  ])(
    'refuses a record holding %s, naming the record, also when it is not the current one',
    async (_, json, why) => {
      const odd = secret('sh.helm.release.v1.web.v2', encoded(json), {
        status: 'superseded',
        version: '2',
      });
      for (const items of [
        [revision(1, 'superseded'), odd],
        [odd, revision(3, 'deployed')],
      ]) {
        const message = await refusal(items);
        expect(message).toMatch(
          /^Helm release record sh\.helm\.release\.v1\.web\.v2 of release web in namespace shop is refused: /,
        );
        expect(message).toMatch(why);
      }
    },
  );

  it.each([
    ['not base64 at all', '%%% not base64 %%%', /not valid JSON/],
    [
      'gzip that is cut off',
      Buffer.from(
        gzipSync(record(2, 'deployed')).subarray(0, 30).toString('base64'),
      ).toString('base64'),
      /could not be decompressed/,
    ],
    [
      "gzip's magic bytes and then no gzip",
      Buffer.from(
        Buffer.from([0x1f, 0x8b, 1, 2, 3, 4, 5, 6, 7, 8]).toString('base64'),
      ).toString('base64'),
      /could not be decompressed/,
    ],
    ['text that is not JSON', encoded('kind: Deployment'), /not valid JSON/],
    ['the JSON null', encoded('null'), /is not a release record/],
    ['a JSON array', encoded('[1, 2]'), /is not a release record/],
    ['a JSON string', encoded('"deployed"'), /is not a release record/],
    [
      'a record without a revision',
      encoded('{"name":"web","info":{"status":"deployed"}}'),
      /states no revision/,
    ],
    [
      'a record of revision 0',
      encoded('{"name":"web","version":0}'),
      /states no revision/,
    ],
    [
      'a record of revision 2.5',
      encoded('{"name":"web","version":2.5}'),
      /states no revision/,
    ],
  ])(
    'refuses an unreadable record (%s), naming its Secret, also when it is not the current one',
    async (_, data, why) => {
      const bad = secret('sh.helm.release.v1.web.v2', data, {
        status: 'superseded',
        version: '2',
      });
      for (const items of [
        [revision(1, 'deployed'), bad],
        [bad, revision(3, 'deployed')],
      ]) {
        const message = await refusal(items);
        expect(message).toContain('sh.helm.release.v1.web.v2');
        expect(message).toMatch(why);
      }
    },
  );

  it('reads a record helm stored without gzip', async () => {
    const plain = secret(
      'sh.helm.release.v1.web.v2',
      encoded(record(2, 'deployed', 'kind: Service'), false),
      { status: 'deployed', version: '2' },
    );
    expect((await read([plain])).current.map(r => r.manifest)).toEqual([
      'kind: Service',
    ]);
  });
});
