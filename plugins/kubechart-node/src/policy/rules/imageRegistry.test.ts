import { PolicyEngine } from '../PolicyEngine';
import { parseImage } from './util';

/**
 * An image's first part names a registry host when the container runtime reads it as one: with a
 * `.` or `:`, `localhost`, or any upper-case letter (Docker Hub's paths are lower case, so
 * `Evilhost/app` is pulled from host `Evilhost`). Read as Docker Hub's, it passed a
 * `trustedRegistries` list holding `docker.io`.
 */
describe('the registry of an image', () => {
  it('is the first part when it holds an upper-case letter', () => {
    expect(parseImage('Evilhost/app:1.0')).toEqual({
      registry: 'Evilhost',
      path: 'app',
      tag: '1.0',
      digest: undefined,
    });
    expect(parseImage('library/nginx:1.27')).toMatchObject({
      registry: 'docker.io',
      path: 'library/nginx',
    });
  });

  it('so such an image is not trusted as Docker Hub’s', () => {
    const engine = new PolicyEngine({ trustedRegistries: ['docker.io'] });
    const deployment = (image: string) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'team-a' },
      spec: {
        template: { spec: { containers: [{ name: 'web', image }] } },
      },
    });
    const failed = (image: string) =>
      engine
        .check([deployment(image)])
        .results.filter(r => !r.passed && r.ruleId === 'trusted-registry');
    expect(failed('Evilhost/app:1.0')).toHaveLength(1);
    expect(failed('library/nginx:1.27')).toHaveLength(0);
  });
});
