import { IncomingMessage } from 'node:http';
import { PRIVILEGED_GROUP, RbacAuthorizer, UserInfo } from './rbac/authorizer';
import { RequestAttributes } from './rbac/rules';
import { errors, PlainTextError, StatusError } from './status';
import type { ServiceAccountTokens } from './tokens';

/**
 * A rule granting verbs on resources, optionally only in some namespaces ('*' matches anything).
 * Kept for tests written before kube-sim evaluated RBAC objects; prefer Roles and bindings.
 */
export interface AccessRule {
  verbs: string[];
  resources: string[];
  namespaces?: string[];
}

/** A static token user (like the API server's `--token-auth-file`). */
export interface KubeSimUser {
  token: string;
  /** The user name RBAC subjects of kind `User` match. */
  name: string;
  /** Groups besides `system:authenticated` (which every token user gets). */
  groups?: string[];
  uid?: string;
  /** Rights granted without RBAC objects (legacy); RBAC bindings apply as well. */
  rules?: AccessRule[];
}

export type { UserInfo };

const AUTHENTICATED = 'system:authenticated';
const UNAUTHENTICATED = 'system:unauthenticated';
const ANONYMOUS = 'system:anonymous';
const SA_PREFIX = 'system:serviceaccount:';
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The admin token's identity: a member of `system:masters`, allowed everything. */
export const ADMIN_USER: UserInfo = {
  name: 'kube-sim-admin',
  groups: [PRIVILEGED_GROUP, AUTHENTICATED],
};

/** `system:serviceaccount:<ns>:<name>` split, or undefined when the name is not a valid one. */
export function splitServiceAccount(
  username: string,
): { namespace: string; name: string } | undefined {
  if (!username.startsWith(SA_PREFIX)) return undefined;
  const parts = username.slice(SA_PREFIX.length).split(':');
  if (parts.length !== 2) return undefined;
  const [namespace, name] = parts;
  if (namespace.length > 63 || !DNS1123_LABEL.test(namespace)) return undefined;
  if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) return undefined;
  return { namespace, name };
}

/** The groups the API server gives a ServiceAccount user. */
export function serviceAccountGroups(namespace: string) {
  return ['system:serviceaccounts', `system:serviceaccounts:${namespace}`];
}

/** The 403 the API server answers when `attrs` is not allowed for `user`. */
export function forbiddenError(
  user: UserInfo,
  attrs: RequestAttributes,
  reason: string,
): StatusError {
  let msg: string;
  if (!attrs.resourceRequest) {
    msg = `User ${JSON.stringify(user.name)} cannot ${
      attrs.verb
    } path ${JSON.stringify(attrs.path)}`;
  } else {
    const resource = attrs.subresource
      ? `${attrs.resource}/${attrs.subresource}`
      : attrs.resource;
    const scope = attrs.namespace
      ? `in the namespace ${JSON.stringify(attrs.namespace)}`
      : 'at the cluster scope';
    msg = `User ${JSON.stringify(user.name)} cannot ${
      attrs.verb
    } resource ${JSON.stringify(resource)} in API group ${JSON.stringify(
      attrs.apiGroup,
    )} ${scope}`;
  }
  if (reason) msg = `${msg}: ${reason}`;
  if (!attrs.resourceRequest || !attrs.resource) {
    return new StatusError(403, 'Forbidden', `forbidden: ${msg}`, {});
  }
  return errors.forbidden(
    attrs.resource,
    attrs.apiGroup,
    attrs.name || undefined,
    msg,
  );
}

interface ImpersonationRequest {
  kind: 'ServiceAccount' | 'User' | 'Group' | 'UserExtra' | 'UID';
  namespace?: string;
  name: string;
  apiVersion?: string;
  /** The extra key, for UserExtra. */
  fieldPath?: string;
}

/** Go's `%v` of a v1.ObjectReference, as it appears in the API server's impersonation error. */
function describeRequest(r: ImpersonationRequest) {
  return `{${[
    r.kind,
    r.namespace ?? '',
    r.name,
    '',
    r.apiVersion ?? '',
    '',
    r.fieldPath ?? '',
  ].join(' ')}}`;
}

function headerValues(req: IncomingMessage, name: string): string[] {
  const distinct = req.headersDistinct?.[name];
  if (distinct) return distinct;
  const v = req.headers[name];
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/**
 * Authentication (admin token, static token users, anonymous), impersonation and authorization
 * (system:masters, then RBAC objects, then a user's legacy rules), in the API server's order.
 */
export class Authenticator {
  private rbac?: RbacAuthorizer;
  private saTokens?: ServiceAccountTokens;

  constructor(
    private readonly adminToken: string,
    private readonly users: KubeSimUser[],
  ) {}

  /** Connects the RBAC authorizer (it reads Roles and bindings from the API's store). */
  useRbac(rbac: RbacAuthorizer) {
    this.rbac = rbac;
  }

  /** Accepts ServiceAccount tokens issued through the TokenRequest API. */
  useServiceAccountTokens(tokens: ServiceAccountTokens) {
    this.saTokens = tokens;
  }

  /** Resolves the caller from the Authorization header; an unknown token is a 401. */
  authenticate(header: string | undefined): UserInfo {
    if (!header) return { name: ANONYMOUS, groups: [UNAUTHENTICATED] };
    const m = header.match(/^Bearer\s+(.+)$/i);
    const token = m?.[1].trim();
    if (token && token === this.adminToken) return ADMIN_USER;
    const user = token ? this.users.find(u => u.token === token) : undefined;
    if (user) {
      const groups = [...(user.groups ?? [])];
      if (!groups.includes(AUTHENTICATED)) groups.push(AUTHENTICATED);
      return {
        name: user.name,
        ...(user.uid ? { uid: user.uid } : {}),
        groups,
      };
    }
    const sa = token ? this.saTokens?.authenticate(token) : undefined;
    if (sa) return sa;
    throw new StatusError(401, 'Unauthorized', 'Unauthorized');
  }

  /** Whether RBAC (or a legacy rule) allows the request, with the authorizer's reason. */
  decide(user: UserInfo, attrs: RequestAttributes) {
    if (user.groups.includes(PRIVILEGED_GROUP))
      return { allowed: true, reason: '' };
    if (this.legacyAllows(user, attrs)) return { allowed: true, reason: '' };
    if (!this.rbac) return { allowed: false, reason: '' };
    return this.rbac.authorize(user, attrs);
  }

  /** Throws the API server's 403 unless the request is allowed. */
  authorize(user: UserInfo, attrs: RequestAttributes) {
    const d = this.decide(user, attrs);
    if (!d.allowed) throw forbiddenError(user, attrs, d.reason);
  }

  private legacyAllows(user: UserInfo, attrs: RequestAttributes) {
    if (!attrs.resourceRequest) return false;
    const rules = this.users.find(u => u.name === user.name)?.rules;
    if (!rules) return false;
    const resource = attrs.subresource
      ? `${attrs.resource}/${attrs.subresource}`
      : attrs.resource;
    return rules.some(
      r =>
        (r.verbs.includes('*') || r.verbs.includes(attrs.verb)) &&
        (r.resources.includes('*') || r.resources.includes(resource)) &&
        (!r.namespaces ||
          (attrs.namespace !== '' &&
            (r.namespaces.includes('*') ||
              r.namespaces.includes(attrs.namespace)))),
    );
  }

  /**
   * Applies `Impersonate-User`, `-Group`, `-Uid` and `-Extra-*`: each one must be allowed
   * (verb `impersonate`) for the requestor, then the request acts as the impersonated user.
   */
  impersonate(req: IncomingMessage, requestor: UserInfo): UserInfo {
    const requests: ImpersonationRequest[] = [];
    const userHeader = headerValues(req, 'impersonate-user')[0] ?? '';
    if (userHeader) {
      const sa = splitServiceAccount(userHeader);
      requests.push(
        sa
          ? { kind: 'ServiceAccount', namespace: sa.namespace, name: sa.name }
          : { kind: 'User', name: userHeader },
      );
    }
    const groupHeaders = headerValues(req, 'impersonate-group');
    for (const g of groupHeaders) requests.push({ kind: 'Group', name: g });
    for (const header of Object.keys(req.headers)) {
      if (!header.startsWith('impersonate-extra-')) continue;
      let key = header.slice('impersonate-extra-'.length);
      try {
        key = decodeURIComponent(key);
      } catch {
        // keep the raw key, as the API server does when unescaping fails
      }
      for (const value of headerValues(req, header)) {
        requests.push({
          kind: 'UserExtra',
          name: value,
          apiVersion: 'authentication.k8s.io/v1',
          fieldPath: key,
        });
      }
    }
    const uidHeader = headerValues(req, 'impersonate-uid')[0] ?? '';
    if (uidHeader) {
      requests.push({
        kind: 'UID',
        name: uidHeader,
        apiVersion: 'authentication.k8s.io/v1',
      });
    }
    if (requests.length === 0) return requestor;
    if (!userHeader) {
      throw new PlainTextError(
        500,
        `Internal Server Error: ${JSON.stringify(
          req.url ?? '/',
        )}: requested [${requests
          .map(describeRequest)
          .join(' ')}] without impersonating a user`,
      );
    }

    let username = '';
    let groups: string[] = [];
    let uid = '';
    const extra: Record<string, string[]> = {};
    for (const r of requests) {
      const attrs: RequestAttributes = {
        verb: 'impersonate',
        resourceRequest: true,
        apiGroup: r.apiVersion ? r.apiVersion.split('/')[0] : '',
        resource: '',
        subresource: '',
        namespace: r.namespace ?? '',
        name: r.name,
        path: '',
      };
      switch (r.kind) {
        case 'ServiceAccount':
          attrs.resource = 'serviceaccounts';
          username = `${SA_PREFIX}${r.namespace}:${r.name}`;
          if (groupHeaders.length === 0)
            groups = serviceAccountGroups(r.namespace!);
          break;
        case 'User':
          attrs.resource = 'users';
          username = r.name;
          break;
        case 'Group':
          attrs.resource = 'groups';
          groups.push(r.name);
          break;
        case 'UserExtra':
          attrs.resource = 'userextras';
          attrs.subresource = r.fieldPath!;
          (extra[r.fieldPath!] ??= []).push(r.name);
          break;
        case 'UID':
          attrs.resource = 'uids';
          uid = r.name;
          break;
        default:
          break;
      }
      this.authorize(requestor, attrs);
    }
    if (username !== ANONYMOUS) {
      if (!groups.includes(AUTHENTICATED) && !groups.includes(UNAUTHENTICATED))
        groups.push(AUTHENTICATED);
    } else if (!groups.includes(UNAUTHENTICATED)) {
      groups.push(UNAUTHENTICATED);
    }
    return {
      name: username,
      ...(uid ? { uid } : {}),
      groups,
      ...(Object.keys(extra).length ? { extra } : {}),
    };
  }
}
