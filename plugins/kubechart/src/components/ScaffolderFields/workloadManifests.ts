import yaml from 'js-yaml';

/**
 * What the "Apply manifests (advanced)" form describes: one HTTP workload. Keys are the template's
 * parameter names.
 * @public
 */
export type WorkloadForm = {
  name?: string;
  image?: string;
  tag?: string;
  replicas?: number;
  port?: number;
  env?: Record<string, string>;
  probePath?: string;
  cpuRequest?: string;
  cpuLimit?: string;
  memoryRequest?: string;
  memoryLimit?: string;
  domain?: string;
  route?: string;
  gateway?: string;
};

const REQUIRED: Array<keyof WorkloadForm> = ['name', 'image', 'tag'];

/** The form fields still missing before the manifests can be generated. */
export function missingWorkloadFields(form: WorkloadForm): string[] {
  return REQUIRED.filter(k => !form[k]);
}

/**
 * The Deployment, Service, PodDisruptionBudget, NetworkPolicy and (with a domain) HTTPRoute or
 * Ingress of a workload, as multi-document YAML: exactly what the apply step is given. The values
 * are written by a YAML serialiser, so no form input can add keys or documents.
 * @public
 */
export function generateWorkloadManifests(form: WorkloadForm): string {
  const missing = missingWorkloadFields(form);
  if (missing.length) {
    throw new Error(`Fill in ${missing.join(', ')} first`);
  }
  const name = form.name!;
  const port = form.port ?? 8080;
  const probePath = form.probePath || '/healthz';
  const selector = { 'app.kubernetes.io/name': name };
  const env = Object.entries(form.env ?? {}).map(([k, v]) => ({
    name: k,
    value: String(v),
  }));
  const objects: object[] = [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, labels: selector },
      spec: {
        replicas: form.replicas ?? 2,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels: selector },
          spec: {
            securityContext: { runAsNonRoot: true, runAsUser: 10001 },
            containers: [
              {
                name: 'app',
                image: `${form.image}:${form.tag}`,
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                },
                ports: [{ name: 'http', containerPort: port }],
                ...(env.length ? { env } : {}),
                resources: {
                  requests: {
                    cpu: form.cpuRequest || '100m',
                    memory: form.memoryRequest || '128Mi',
                  },
                  limits: {
                    cpu: form.cpuLimit || '500m',
                    memory: form.memoryLimit || '256Mi',
                  },
                },
                livenessProbe: { httpGet: { path: probePath, port: 'http' } },
                readinessProbe: { httpGet: { path: probePath, port: 'http' } },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name },
      spec: {
        selector,
        ports: [{ name: 'http', port: 80, targetPort: 'http' }],
      },
    },
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name },
      spec: { minAvailable: 1, selector: { matchLabels: selector } },
    },
    {
      // Only the workload's own namespace and the ingress controller may reach it.
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name },
      spec: {
        podSelector: { matchLabels: selector },
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [
              { podSelector: {} },
              {
                namespaceSelector: {
                  matchLabels: {
                    'kubernetes.io/metadata.name': 'ingress-nginx',
                  },
                },
              },
            ],
            ports: [{ port }],
          },
        ],
      },
    },
  ];
  if (form.domain) {
    objects.push(
      form.route === 'Ingress'
        ? {
            apiVersion: 'networking.k8s.io/v1',
            kind: 'Ingress',
            metadata: { name },
            spec: {
              rules: [
                {
                  host: form.domain,
                  http: {
                    paths: [
                      {
                        path: '/',
                        pathType: 'Prefix',
                        backend: { service: { name, port: { name: 'http' } } },
                      },
                    ],
                  },
                },
              ],
            },
          }
        : {
            apiVersion: 'gateway.networking.k8s.io/v1',
            kind: 'HTTPRoute',
            metadata: { name },
            spec: {
              parentRefs: [{ name: form.gateway || 'shared-gateway' }],
              hostnames: [form.domain],
              rules: [{ backendRefs: [{ name, port: 80 }] }],
            },
          },
    );
  }
  return objects
    .map(o => yaml.dump(o, { noRefs: true, lineWidth: -1 }))
    .join('---\n');
}
