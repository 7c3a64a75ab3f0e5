import yaml from 'js-yaml';
import { generateWorkloadManifests } from './workloadManifests';

describe('generateWorkloadManifests', () => {
  const form = {
    name: 'hello',
    image: 'ghcr.io/kubechart/example-web',
    tag: '1.0.0',
    replicas: 3,
    port: 8080,
  };

  it('generates the workload, its service, disruption budget, network policy and route', () => {
    const docs = yaml.loadAll(
      generateWorkloadManifests({
        ...form,
        domain: 'hello.example.com',
        route: 'HTTPRoute',
        env: { MODE: 'prod' },
      }),
    ) as any[];
    expect(docs.map(d => `${d.kind}/${d.metadata.name}`)).toEqual([
      'Deployment/hello',
      'Service/hello',
      'PodDisruptionBudget/hello',
      'NetworkPolicy/hello',
      'HTTPRoute/hello',
    ]);
    const container = docs[0].spec.template.spec.containers[0];
    expect(container.image).toBe('ghcr.io/kubechart/example-web:1.0.0');
    expect(container.env).toEqual([{ name: 'MODE', value: 'prod' }]);
    expect(docs[0].spec.replicas).toBe(3);
    expect(docs[4].spec.hostnames).toEqual(['hello.example.com']);
  });

  it('uses an Ingress when asked, and no route without a domain', () => {
    const ingress = yaml.loadAll(
      generateWorkloadManifests({
        ...form,
        domain: 'a.example.com',
        route: 'Ingress',
      }),
    ) as any[];
    expect(ingress[4].kind).toBe('Ingress');
    const none = yaml.loadAll(generateWorkloadManifests(form)) as any[];
    expect(none.map(d => d.kind)).not.toContain('HTTPRoute');
  });

  it('keeps form input as values: a crafted name cannot add keys or documents', () => {
    const docs = yaml.loadAll(
      generateWorkloadManifests({
        ...form,
        env: { X: 'a\n---\nkind: ClusterRoleBinding' },
      }),
    ) as any[];
    expect(docs).toHaveLength(4);
    expect(docs[0].spec.template.spec.containers[0].env[0].value).toBe(
      'a\n---\nkind: ClusterRoleBinding',
    );
  });

  it('refuses to generate before the required fields are filled in', () => {
    expect(() => generateWorkloadManifests({ name: 'x' })).toThrow(
      /image, tag/,
    );
  });
});
