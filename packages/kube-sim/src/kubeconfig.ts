import yaml from 'js-yaml';

/**
 * A kubeconfig with one cluster, one token user and one context, all named `kube-sim`.
 * Over plain HTTP it sets `insecure-skip-tls-verify`, without which @kubernetes/client-node 1.x
 * refuses http:// servers. (helm and kubectl never send a bearer token over plain HTTP: use TLS for them.)
 */
export function buildKubeconfig(opts: {
  url: string;
  token: string;
  caData?: string;
  namespace?: string;
}): string {
  return yaml.dump(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'kube-sim',
          cluster: {
            server: opts.url,
            ...(opts.caData
              ? { 'certificate-authority-data': opts.caData }
              : {}),
            ...(opts.url.startsWith('http:')
              ? { 'insecure-skip-tls-verify': true }
              : {}),
          },
        },
      ],
      users: [{ name: 'kube-sim', user: { token: opts.token } }],
      contexts: [
        {
          name: 'kube-sim',
          context: {
            cluster: 'kube-sim',
            user: 'kube-sim',
            namespace: opts.namespace ?? 'default',
          },
        },
      ],
      'current-context': 'kube-sim',
      preferences: {},
    },
    { lineWidth: -1 },
  );
}
