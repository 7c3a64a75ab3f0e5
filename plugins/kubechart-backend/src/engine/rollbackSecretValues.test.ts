import { InputError } from '@backstage/errors';
import {
  createTextRedactor,
  redactManifest,
} from '@kubechart/plugin-kubechart-node';
import { rollbackSecretValues } from './rollbackRevision';

/**
 * A rollback shows the manifests of the revision it returns to and of the one it replaces with
 * their Secrets' values hidden wherever they are repeated: a release of more objects than one policy
 * check judges has its values collected too, and one whose manifest cannot be read is refused.
 */
const SECRET = 'hunter2-Zq9vLp4w';
const manifest = (fillers: number) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'db' },
        stringData: { password: SECRET },
      },
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'copy', annotations: { note: `is ${SECRET}` } },
      },
      ...Array.from({ length: fillers }, (_, i) => ({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `filler-${i}` },
      })),
    ],
  });

const shown = (text: string, ...releases: Array<{ manifest: string }>) =>
  redactManifest(text, {
    scrub: createTextRedactor(rollbackSecretValues(...releases), {
      keyValuePairs: false,
    }),
  });

describe('the secret values a rollback hides', () => {
  it('are collected from a release of more than 1000 objects (List items counted)', () => {
    const latest = { manifest: manifest(999) };
    const text = shown(latest.manifest, { manifest: '' }, latest);
    expect(text).toContain('is ***');
    expect(text).not.toContain(SECRET);
  });

  it('refuse a release manifest that cannot be read, naming the reason', () => {
    const unreadable = `${manifest(
      1,
    )}\n---\nkind: ConfigMap\nmetadata: { name: broken\n`;
    expect(() => rollbackSecretValues({ manifest: unreadable })).toThrow(
      InputError,
    );
    expect(() => rollbackSecretValues({ manifest: unreadable })).toThrow(
      /^The secret values of a release manifest cannot be collected: Manifests is not valid YAML: .*; nothing of it is shown$/,
    );
  });
});
