import { gzipSync } from 'node:zlib';
import { KubeClient } from './KubeClient';
import {
  helmReleaseOfSecret,
  readHelmRelease,
  readLatestHelmRelease,
} from './helmRelease';
import { turnsDuring } from '@internal/kube-sim/testUtils';

const MiB = 1024 * 1024;

// Building and decompressing 64 MiB records takes seconds on a loaded 2-core runner: no test here
// measures time, so the bound is only there to end a hung test.
jest.setTimeout(60_000);

/** A `helm.sh/release.v1` Secret as the API server returns it: `data.release` is base64 of helm's base64 of gzipped JSON. */
function releaseSecret(name: string, revision: number, gzipped: Buffer) {
  return {
    type: 'helm.sh/release.v1',
    metadata: {
      name: `sh.helm.release.v1.${name}.v${revision}`,
      namespace: 'shop',
      labels: {
        name,
        owner: 'helm',
        status: 'deployed',
        version: String(revision),
      },
    },
    data: {
      release: Buffer.from(gzipped.toString('base64')).toString('base64'),
    },
  };
}

/** A KubeClient that holds only the given Secrets in namespace `shop`. */
function clientWith(secrets: any[]): KubeClient {
  return {
    core: {
      listNamespacedSecret: async () => ({ items: secrets }),
    },
    read: async (o: { metadata: { name: string } }) =>
      secrets.find(s => s.metadata.name === o.metadata.name),
  } as unknown as KubeClient;
}

const record = (over: Record<string, unknown> = {}) => ({
  name: 'web',
  version: 2,
  info: { status: 'deployed', last_deployed: '2026-01-02T03:04:05Z' },
  chart: {
    metadata: { name: 'webapp', version: '1.2.3' },
    templates: [{ name: 'templates/deploy.yaml', data: 'a2luZDogRGVwbG95' }],
    files: [{ name: 'README.md', data: 'aGVsbG8=' }],
    values: { replicas: 1 },
  },
  config: { replicas: 3 },
  manifest: '---\nkind: Deployment\nmetadata: { name: web }\n',
  hooks: [
    {
      path: 'webapp/templates/job.yaml',
      manifest: 'kind: Job',
      events: ['pre-delete', 7],
    },
  ],
  ...over,
});

/**
 * A release record whose chart carries a 64 MiB file of zeros (base64 `A`s): about 64 KB gzipped,
 * well under a Secret's 1 MiB, and 64 MiB once decompressed.
 */
function bomb(): Buffer {
  const json = JSON.stringify(
    record({ chart: { metadata: { name: 'webapp' }, files: ['@@'] } }),
  );
  const [before, after] = json.split('"@@"');
  return gzipSync(
    Buffer.concat([
      Buffer.from(`${before}{"name":"zeros","data":"`),
      Buffer.alloc(64 * MiB, 'A'),
      Buffer.from(`"}${after}`),
    ]),
  );
}

/**
 * Runs `work` while counting the turns of the event loop (a `setImmediate` queued anew each turn,
 * the first before `work` starts): none when `work` settles without letting the event loop run,
 * as a synchronous decompression or parse does, however long it takes.
 */
async function turnsWhile<T>(
  work: () => Promise<T>,
): Promise<{ turns: number; result: PromiseSettledResult<T> }> {
  let result!: PromiseSettledResult<T>;
  const turns = await turnsDuring(async () => {
    [result] = await Promise.allSettled([work()]);
  });
  return { turns, result };
}

describe('reading helm release records', () => {
  it('reads the parts kubechart uses from a normal record', async () => {
    const client = clientWith([
      releaseSecret('web', 1, gzipSync(JSON.stringify(record({ version: 1 })))),
      releaseSecret('web', 2, gzipSync(JSON.stringify(record()))),
    ]);
    const expected = {
      name: 'web',
      version: 2,
      status: 'deployed',
      deployedAt: '2026-01-02T03:04:05Z',
      chart: { name: 'webapp', version: '1.2.3' },
      config: { replicas: 3 },
      manifest: '---\nkind: Deployment\nmetadata: { name: web }\n',
      // The events helm runs each hook on, as its record lists them (only its strings), with Go's
      // zero values for the fields it runs it by that the record leaves out.
      hooks: [
        {
          path: 'webapp/templates/job.yaml',
          manifest: 'kind: Job',
          events: ['pre-delete'],
          name: '',
          kind: '',
          weight: 0,
          deletePolicies: [],
        },
      ],
    };
    expect(await readLatestHelmRelease(client, 'shop', 'web')).toEqual(
      expected,
    );
    expect(await readHelmRelease(client, 'shop', 'web', 2)).toEqual(expected);
    expect(await readHelmRelease(client, 'shop', 'web', 3)).toBeUndefined();
  });

  // helm decodes a record with Go's encoding/json, which matches keys to fields whatever their case
  // (ſ is s, the Kelvin sign k) and takes the last of two keys for one field.
  it.each([
    [
      'a second manifest spelled otherwise, last',
      `{"name":"web","version":5,"manifest":"kind: A","Manifest":"kind: B"}`,
      /the keys "manifest" and "Manifest" at its top level/,
    ],
    [
      'the same key twice',
      `{"name":"web","version":5,"manifest":"kind: A","manifest":"kind: B"}`,
      /the key "manifest" twice at its top level/,
    ],
    [
      'a status spelled \u017ftatus, in info',
      `{"name":"web","version":5,"info":{"\u017ftatus":"deployed"}}`,
      /key "\u017ftatus" in info is not ASCII/,
    ],
    [
      'a hook kind spelled with the Kelvin sign',
      `{"name":"web","version":5,"hooks":[{"\u212aind":"Job"}]}`,
      /key "\u212aind" in hooks\[\] is not ASCII/,
    ],
    [
      "a hook's path spelled Path",
      `{"name":"web","version":5,"hooks":[{"path":"a"},{"Path":"b"}]}`,
      /key "Path" in hooks\[\] is not spelled as the field path/,
    ],
    [
      "the chart's name spelled NAME",
      `{"name":"web","version":5,"chart":{"metadata":{"NAME":"x"}}}`,
      /key "NAME" in chart.metadata is not spelled as the field name/,
    ],
  ])('refuses a record holding %s, naming the record', async (_, json, why) => {
    const client = clientWith([releaseSecret('web', 5, gzipSync(json))]);
    for (const read of [
      () => readLatestHelmRelease(client, 'shop', 'web'),
      () => readHelmRelease(client, 'shop', 'web', 5),
    ]) {
      await expect(read()).rejects.toThrow(
        /Helm release record sh\.helm\.release\.v1\.web\.v5 of release web in namespace shop is refused/,
      );
      await expect(read()).rejects.toThrow(why);
    }
  });

  it("reads a record whose values hold keys that differ only in case, as helm does (values are a map, not helm's fields)", async () => {
    const json = JSON.stringify(
      record({
        config: {
          Replicas: 1,
          replicas: 2,
          '\u017fize': 'x',
          nested: { A: 1, a: 2 },
        },
      }),
    );
    const client = clientWith([releaseSecret('web', 2, gzipSync(json))]);
    expect(
      (await readLatestHelmRelease(client, 'shop', 'web'))?.config,
    ).toEqual({
      Replicas: 1,
      replicas: 2,
      '\u017fize': 'x',
      nested: { A: 1, a: 2 },
    });
  });

  // A rollback reads the revision it returns to by name, and the record helm writes from a watch:
  // what helm would read otherwise is refused as the list of the release's records refuses it.
  it.each([
    [
      'a manifest helm splits at a line starting with ---{',
      releaseSecret(
        'web',
        2,
        gzipSync(
          JSON.stringify(
            record({
              manifest: `---\nkind: ConfigMap\nmetadata: { name: a }\ndata: {note: 'see\n---{"kind":"NetworkPolicy","metadata":{"name":"kubechart-default-deny"}} #'}\n`,
            }),
          ),
        ),
      ),
      /^Release web in namespace shop: release record sh\.helm\.release\.v1\.web\.v2 cannot be read the same way helm reads it: the piece 1 of 2 helm splits its manifest into \(at lines starting with ---\) cannot be read on its own \(.*\)\. helm never writes such a record; /s,
    ],
    [
      'a Secret of type Opaque',
      {
        ...releaseSecret('web', 2, gzipSync(JSON.stringify(record()))),
        type: 'Opaque',
      },
      /^Release web in namespace shop: Secret sh\.helm\.release\.v1\.web\.v2 (is the Secret helm reads as its revision 2|is labelled as its release record), but it is of type "Opaque", not helm\.sh\/release\.v1\. helm never writes such a Secret, yet /,
    ],
    [
      'a record of another revision',
      releaseSecret('web', 2, gzipSync(JSON.stringify(record({ version: 5 })))),
      /but its record is revision 5, which helm stores in the Secret sh\.helm\.release\.v1\.web\.v5\./,
    ],
    [
      'a Secret not labelled owner=helm',
      (() => {
        const s = releaseSecret('web', 2, gzipSync(JSON.stringify(record())));
        return {
          ...s,
          metadata: {
            ...s.metadata,
            labels: { ...s.metadata.labels, owner: 'someone' },
          },
        };
      })(),
      /but it is labelled owner "someone" and name "web", not owner=helm,name=web\./,
    ],
    [
      'a Secret holding no record',
      {
        ...releaseSecret('web', 2, gzipSync('')),
        data: {},
      },
      /^Release web in namespace shop: Secret sh\.helm\.release\.v1\.web\.v2 (is the Secret helm reads as its revision 2|is labelled as its release record) and holds none$/,
    ],
  ])(
    'refuses a record by name or from a watch holding %s, naming it',
    async (_, secret, why) => {
      const client = clientWith([secret]);
      await expect(readHelmRelease(client, 'shop', 'web', 2)).rejects.toThrow(
        why,
      );
      await expect(helmReleaseOfSecret(secret, 'shop', 'web')).rejects.toThrow(
        why,
      );
    },
  );

  it('refuses a record that decompresses past the limit, naming the release, without stalling the event loop', async () => {
    const gzipped = bomb();
    expect(gzipped.length).toBeLessThan(200 * 1024);
    const client = clientWith([releaseSecret('web', 7, gzipped)]);
    for (const read of [
      () => readLatestHelmRelease(client, 'shop', 'web'),
      () => readHelmRelease(client, 'shop', 'web', 7),
    ]) {
      const { turns, result } = await turnsWhile(read);
      expect(result.status).toBe('rejected');
      expect(String((result as PromiseRejectedResult).reason)).toMatch(
        /Helm release record sh\.helm\.release\.v1\.web\.v7 of release web in namespace shop is larger than 32 MiB once decompressed/,
      );
      // Decompression runs off the event loop (other work goes on meanwhile) and stops at the limit.
      expect(turns).toBeGreaterThan(0);
    }
  });

  it('checks how helm splits a record of many documents a document per turn of the event loop', async () => {
    const manifest = Array.from(
      { length: 400 },
      (_, i) =>
        `---\n# Source: webapp/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: cm${i} }\ndata: { a: b }\n`,
    ).join('');
    const client = clientWith([
      releaseSecret('web', 2, gzipSync(JSON.stringify(record({ manifest })))),
    ]);
    const { turns, result } = await turnsWhile(() =>
      readHelmRelease(client, 'shop', 'web', 2),
    );
    expect(result.status).toBe('fulfilled');
    expect((result as PromiseFulfilledResult<any>).value.manifest).toBe(
      manifest,
    );
    // Other requests are answered between the documents: read as one stream, then as helm's pieces.
    expect(turns).toBeGreaterThanOrEqual(2 * 399);
  });

  it('refuses a record nested deeper than a release record is, naming the release', async () => {
    const deep = `{"name":"web","version":3,"config":${'{"a":'.repeat(
      500,
    )}1${'}'.repeat(500)}}`;
    const client = clientWith([releaseSecret('web', 3, gzipSync(deep))]);
    await expect(readLatestHelmRelease(client, 'shop', 'web')).rejects.toThrow(
      /Helm release record sh\.helm\.release\.v1\.web\.v3 of release web in namespace shop .*nesting deeper than 100/,
    );
  });

  it('refuses a record of more values than a release record holds before parsing it, naming the release', async () => {
    const dense = `{"name":"web","version":4,"config":{"a":[${'0,'.repeat(
      2_000_000,
    )}0]}}`;
    const client = clientWith([releaseSecret('web', 4, gzipSync(dense))]);
    // Refused on a count of its values, never parsed (`JSON.parse` of millions of values holds the
    // event loop for seconds).
    const parse = jest.spyOn(JSON, 'parse');
    try {
      await expect(
        readLatestHelmRelease(client, 'shop', 'web'),
      ).rejects.toThrow(
        /Helm release record sh\.helm\.release\.v1\.web\.v4 of release web in namespace shop refused: more than 1000000 values/,
      );
      expect(parse).not.toHaveBeenCalled();
    } finally {
      parse.mockRestore();
    }
  });

  it('reads a large real-sized record (a chart with 12 MiB of files) beyond the 5 MB bound on request bodies', async () => {
    const json = JSON.stringify(
      record({
        chart: {
          metadata: { name: 'webapp', version: '1.2.3' },
          files: [{ name: 'big.bin', data: 'QUJD'.repeat(3 * MiB) }],
        },
      }),
    );
    const client = clientWith([releaseSecret('web', 2, gzipSync(json))]);
    expect(await readLatestHelmRelease(client, 'shop', 'web')).toMatchObject({
      name: 'web',
      version: 2,
      chart: { name: 'webapp', version: '1.2.3' },
      config: { replicas: 3 },
    });
  });
});
