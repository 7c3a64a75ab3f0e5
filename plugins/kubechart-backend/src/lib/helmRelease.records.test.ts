import { gzipSync } from 'node:zlib';
import { RunFailure } from '../engine/errors';
import { KubeClient } from './KubeClient';
import {
  MAX_HELM_RELEASE_RECORDS,
  readCurrentHelmReleases,
  splitManifestsAsHelm,
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

  it('refuses a Secret named and labelled as revision 1 whose record is revision 7, naming both', async () => {
    // helm would read it as revision 7, and list it where its name puts it.
    const renamed = secret(
      'sh.helm.release.v1.web.v1',
      encoded(record(7, 'deployed')),
      {
        status: 'deployed',
        version: '1',
      },
    );
    expect(await refusal([renamed, revision(2, 'superseded')])).toBe(
      'Release web in namespace shop: Secret sh.helm.release.v1.web.v1 is labelled as its release record, but its record is revision 7, which helm stores in the Secret sh.helm.release.v1.web.v7. helm never writes such a Secret, yet reads every Secret so labelled and lists them by name to tell whether it installs anew or upgrades, so which record it would act on cannot be known. The release record is a Secret in the namespace; correct or delete it and try again.',
    );
  });

  it.each([
    [
      'named otherwise than helm names its revision',
      secret('zzz-web', encoded(record(2, 'deployed')), {
        status: 'deployed',
        version: '2',
      }),
      /Secret zzz-web is labelled as its release record, but its record is revision 2, which helm stores in the Secret sh\.helm\.release\.v1\.web\.v2\./,
    ],
    [
      'labelled as another revision',
      secret('sh.helm.release.v1.web.v2', encoded(record(2, 'deployed')), {
        status: 'deployed',
        version: '02',
      }),
      /it is labelled version "02", and its record is revision 2\./,
    ],
    [
      'labelled without a version',
      secret('sh.helm.release.v1.web.v2', encoded(record(2, 'deployed')), {
        status: 'deployed',
      }),
      /it is labelled version "", and its record is revision 2\./,
    ],
    [
      'of another type',
      secret(
        'sh.helm.release.v1.web.v2',
        encoded(record(2, 'deployed')),
        { status: 'deployed', version: '2' },
        'Opaque',
      ),
      /it is of type "Opaque", not helm\.sh\/release\.v1\./,
    ],
    [
      'holding a record of another release',
      secret(
        'sh.helm.release.v1.web.v2',
        encoded(record(2, 'deployed').replace('"name":"web"', '"name":"api"')),
        { status: 'deployed', version: '2' },
      ),
      /its record is of release "api"\./,
    ],
    [
      'holding a record whose revision is a string',
      secret(
        'sh.helm.release.v1.web.v2',
        encoded(record(2, 'deployed').replace('"version":2', '"version":"2"')),
        { status: 'deployed', version: '2' },
      ),
      /release record sh\.helm\.release\.v1\.web\.v2 states no revision/,
    ],
    [
      'holding a record whose status is not a string',
      secret(
        'sh.helm.release.v1.web.v2',
        encoded(
          record(2, 'deployed').replace('"status":"deployed"', '"status":1'),
        ),
        { status: 'deployed', version: '2' },
      ),
      /its record's status is 1, not a string\./,
    ],
  ])(
    'refuses a Secret labelled as a record %s, also when it is not the current one',
    async (_, odd, why) => {
      for (const items of [
        [revision(1, 'deployed'), odd],
        [odd, revision(3, 'deployed')],
        [revision(1, 'deployed'), revision(3, 'uninstalled'), odd],
      ]) {
        expect(await refusal(items)).toMatch(why);
      }
    },
  );

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

  it('tells the records an upgrade may act on: all but an uninstalled last one, which helm upgrades from only when labelled deployed', async () => {
    const upgradeCurrent = async (items: any[]) =>
      (await read(items)).upgradeCurrent.map(r => r.secret);
    const v = (n: number) => `sh.helm.release.v1.web.v${n}`;
    // Uninstalled with its history kept: helm installs anew, or finds no deployed record.
    expect(
      await upgradeCurrent([
        revision(1, 'superseded'),
        revision(2, 'uninstalled'),
      ]),
    ).toEqual([]);
    expect(await upgradeCurrent([])).toEqual([]);
    // A record labelled deployed below an uninstalled last one: helm upgrades from it when the last
    // Secret it lists (by name) is not the uninstalled one, as v9 after v10, or installs anew.
    expect(
      await upgradeCurrent([
        revision(1, 'deployed'),
        revision(2, 'uninstalled'),
      ]),
    ).toEqual([v(1)]);
    expect(
      await upgradeCurrent([
        revision(1, 'superseded'),
        revision(10, 'uninstalled'),
        revision(9, 'deployed'),
      ]),
    ).toEqual([v(9)]);
    // An uninstalled record labelled deployed is the one helm's search for a deployed one finds.
    const labelledDeployed = secret(v(2), encoded(record(2, 'uninstalled')), {
      status: 'deployed',
      version: '2',
    });
    expect(
      await upgradeCurrent([revision(1, 'superseded'), labelledDeployed]),
    ).toEqual([v(2)]);
    // Otherwise the same as a rollback's: the last record and the highest labelled deployed.
    expect(
      await upgradeCurrent([revision(1, 'deployed'), revision(2, 'failed')]),
    ).toEqual([v(2), v(1)]);
    expect(
      await upgradeCurrent([revision(1, 'superseded'), revision(2, 'failed')]),
    ).toEqual([v(2)]);
    expect(
      await upgradeCurrent([
        revision(1, 'deployed'),
        revision(2, 'pending-upgrade'),
      ]),
    ).toEqual([v(2), v(1)]);
  });

  it('refuses a second record of the last revision, or of the highest deployed one, by its name', async () => {
    const twin = secret('twin-of-v3', encoded(record(3, 'failed')), {
      status: 'failed',
      version: '3',
    });
    expect(
      await refusal([revision(1, 'deployed'), revision(3, 'failed'), twin]),
    ).toMatch(
      /^Release web in namespace shop: Secret twin-of-v3 is labelled as its release record, but its record is revision 3, which helm stores in the Secret sh\.helm\.release\.v1\.web\.v3\./,
    );
    const deployedTwin = secret('twin-of-v2', encoded(record(2, 'deployed')), {
      status: 'deployed',
      version: '2',
    });
    expect(
      await refusal([
        revision(2, 'deployed'),
        deployedTwin,
        revision(5, 'failed'),
      ]),
    ).toMatch(/Secret twin-of-v2 is labelled as its release record/);
  });

  it('refuses a record whose revision is a duplicate only by what its record states (its name and label say another)', async () => {
    const forged = secret(
      'sh.helm.release.v1.web.v9',
      encoded(record(4, 'deployed')),
      { status: 'deployed', version: '9' },
    );
    expect(await refusal([revision(4, 'deployed'), forged])).toMatch(
      /Secret sh\.helm\.release\.v1\.web\.v9 is labelled as its release record, but its record is revision 4, which helm stores in the Secret sh\.helm\.release\.v1\.web\.v4\./,
    );
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

describe("reading a record's manifest as helm's uninstall splits it", () => {
  const configMap = (name: string) =>
    ['apiVersion: v1', 'kind: ConfigMap', 'metadata:', `  name: ${name}`].join(
      '\n',
    );
  const hidden = JSON.stringify({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'tenant-victim' },
  });
  /** The manifest helm writes: each template's output after `---` and its `# Source:` line. */
  const helmWritten = [
    '---',
    '# Source: webapp/templates/a.yaml',
    configMap('a'),
    'data:',
    '  script: |',
    '    echo ---',
    '    --- indented',
    '---',
    '# Source: webapp/templates/b.yaml',
    configMap('b'),
    '',
  ].join('\n');

  it('splits as releaseutil.SplitManifests does: at every line starting with ---, whatever follows it', () => {
    expect(splitManifestsAsHelm(helmWritten)).toEqual([
      `# Source: webapp/templates/a.yaml\n${configMap(
        'a',
      )}\ndata:\n  script: |\n    echo ---\n    --- indented`,
      `# Source: webapp/templates/b.yaml\n${configMap('b')}`,
    ]);
    expect(splitManifestsAsHelm(`a: 1  \n---x: 2\n\n---{"b": 3} #\n`)).toEqual([
      'a: 1',
      'x: 2',
      '{"b": 3} #',
    ]);
    // The spaces after a --- are the match's: a line starting with --- right after them is not.
    expect(splitManifestsAsHelm('---\n\n---\n---')).toEqual(['---']);
    // A long run of spaces is read once (no regex that retries).
    expect(splitManifestsAsHelm(`a:${' '.repeat(200_000)}b`)).toEqual([
      `a:${' '.repeat(200_000)}b`,
    ]);
  });

  it('reads a record as helm writes it', async () => {
    const records = await read([revision(1, 'deployed', helmWritten)]);
    expect(records.current.map(r => r.manifest)).toEqual([helmWritten]);
  });

  it.each([
    [
      'a line starting with ---{ inside a quoted string',
      `---\n${configMap('a')}\ndata: {note: 'see\n---${hidden} #'}\n`,
    ],
    [
      'a line starting with ---x inside a quoted string',
      `---\n${configMap('a')}\ndata: {note: "see\n---x\n${configMap('b')}"}\n`,
    ],
    [
      'an object after a ... line, which helm does not read',
      `---\n${configMap('a')}\n...\n${configMap('b')}\n`,
    ],
    [
      'a ... line ending a piece, and a line starting with ---{ in a string',
      [
        '---',
        configMap('note-a'),
        '...',
        configMap('note-b'),
        "data: {note: 'see",
        `---${hidden} #'}`,
        '',
      ].join('\n'),
    ],
    ['a ... line at the end', `---\n${configMap('a')}\n...\n`],
  ])(
    'refuses a record whose manifest helm splits otherwise (%s), also when it is not the current one',
    async (_, manifest) => {
      const forged = revision(1, 'superseded', manifest);
      for (const items of [[forged], [forged, revision(2, 'deployed')]]) {
        const message = await refusal(items);
        expect(message).toContain(
          'release record sh.helm.release.v1.web.v1 cannot be read the same way helm reads it',
        );
        expect(message).toContain('nothing was uninstalled or changed');
      }
    },
  );
});
