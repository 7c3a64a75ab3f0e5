import { StatusError } from './status';

/** A rule granting verbs on resources, optionally only in some namespaces ('*' matches anything). */
export interface AccessRule {
  verbs: string[];
  resources: string[];
  namespaces?: string[];
}

/** An extra user: its bearer token, its name, and what it may do (nothing, when no rules). */
export interface KubeSimUser {
  token: string;
  name: string;
  rules?: AccessRule[];
}

export type Caller =
  | { kind: 'admin'; name: string }
  | { kind: 'user'; user: KubeSimUser }
  | { kind: 'anonymous' };

const PUBLIC_PATHS = new Set(['/version', '/healthz', '/livez', '/readyz']);

export class Authenticator {
  constructor(
    private readonly adminToken: string,
    private readonly users: KubeSimUser[],
  ) {}

  /** Resolves the caller from the Authorization header; a wrong token is a 401. */
  authenticate(header: string | undefined): Caller {
    if (!header) return { kind: 'anonymous' };
    const m = header.match(/^Bearer\s+(.+)$/i);
    const token = m?.[1].trim();
    if (token && token === this.adminToken)
      return { kind: 'admin', name: 'kube-sim-admin' };
    const user = this.users.find(u => u.token === token);
    if (user) return { kind: 'user', user };
    throw new StatusError(401, 'Unauthorized', 'Unauthorized');
  }

  /** Non-resource paths (discovery, OpenAPI): public ones for everyone, the rest for any authenticated caller. */
  authorizePath(caller: Caller, path: string) {
    if (PUBLIC_PATHS.has(path) || caller.kind !== 'anonymous') return;
    throw new StatusError(
      403,
      'Forbidden',
      `forbidden: User "system:anonymous" cannot get path "${path}"`,
      {},
    );
  }

  authorizeResource(
    caller: Caller,
    verb: string,
    resource: string,
    group: string,
    namespace: string | undefined,
    name: string | undefined,
  ) {
    if (caller.kind === 'admin') return;
    if (caller.kind === 'user') {
      const ok = (caller.user.rules ?? []).some(
        r =>
          (r.verbs.includes('*') || r.verbs.includes(verb)) &&
          (r.resources.includes('*') || r.resources.includes(resource)) &&
          (!r.namespaces ||
            (namespace !== undefined && r.namespaces.includes(namespace))),
      );
      if (ok) return;
    }
    const user = caller.kind === 'user' ? caller.user.name : 'system:anonymous';
    const plural = resource.split('/')[0];
    const qualified = group ? `${plural}.${group}` : plural;
    const scope = namespace
      ? `in the namespace "${namespace}"`
      : 'at the cluster scope';
    throw new StatusError(
      403,
      'Forbidden',
      `${qualified}${
        name ? ` "${name}"` : ''
      } is forbidden: User "${user}" cannot ${verb} resource "${resource}" in API group "${group}" ${scope}`,
      { ...(name ? { name } : {}), ...(group ? { group } : {}), kind: plural },
    );
  }
}
