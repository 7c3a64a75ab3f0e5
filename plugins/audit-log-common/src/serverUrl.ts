/**
 * An API server URL as it identifies the server: scheme and host lowercased, the scheme's default
 * port made explicit, no trailing slash. Host names are not resolved: two names of one address are
 * not told apart. KubeChart's cluster registry and the assistant's cluster list both refuse two
 * cluster names for one server by it.
 * @public
 */
export function normalizeServerUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    return url.trim().toLowerCase().replace(/\/+$/, '');
  }
  const scheme = u.protocol.toLowerCase();
  const port = u.port || (scheme === 'http:' ? '80' : '443');
  const path = u.pathname.replace(/\/+$/, '');
  return `${scheme}//${u.hostname.toLowerCase()}:${port}${path}`;
}
