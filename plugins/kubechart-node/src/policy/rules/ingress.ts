import { InputError } from '@backstage/errors';
import { capMessages } from '../messages';
import { isMapping } from '../podSpec';
import { KubeObject, PolicyContext, PolicyRule } from '../types';
import { isValidNamespaceName } from '@kubechart/plugin-kubechart-common';
import { ReadHost, classifyHost, isUnder } from './hostNames';
import { groupOf, quote, unset } from './util';

const INGRESS_GROUPS = ['networking.k8s.io', 'extensions'];
const GATEWAY_GROUP = 'gateway.networking.k8s.io';
/** Gateway API routes whose `spec.hostnames` pick the hosts they take from a (shared) Gateway's listeners. */
const ROUTE_KINDS = ['HTTPRoute', 'GRPCRoute', 'TLSRoute'];
/** Gateway API routes without hostnames: each takes every connection on the listener it attaches to. */
const L4_ROUTE_KINDS = ['TCPRoute', 'UDPRoute'];
/** Experimental Gateway API group of ListenerSets: listeners a tenant adds to a (shared) Gateway. */
const GATEWAY_X_GROUP = 'gateway.networking.x-k8s.io';
const LISTENER_SET_KINDS = ['ListenerSet', 'XListenerSet'];
/** Listener protocols that match on `hostname`; Gateway API ignores it on the others (TCP, UDP). */
const HOSTNAME_PROTOCOLS = ['HTTP', 'HTTPS', 'TLS'];
/** ingress-nginx's annotation that adds names (comma-separated) to an Ingress's server. */
const SERVER_ALIAS = 'nginx.ingress.kubernetes.io/server-alias';

const isIngress = (obj: KubeObject) =>
  obj.kind === 'Ingress' && INGRESS_GROUPS.includes(groupOf(obj.apiVersion));
const isRoute = (obj: KubeObject) =>
  ROUTE_KINDS.includes(String(obj.kind)) &&
  groupOf(obj.apiVersion) === GATEWAY_GROUP;
const isL4Route = (obj: KubeObject) =>
  L4_ROUTE_KINDS.includes(String(obj.kind)) &&
  groupOf(obj.apiVersion) === GATEWAY_GROUP;
/** In the experimental group, and in the standard one should it move there. */
const isListenerSet = (obj: KubeObject) =>
  LISTENER_SET_KINDS.includes(String(obj.kind)) &&
  [GATEWAY_X_GROUP, GATEWAY_GROUP].includes(groupOf(obj.apiVersion));

/** What one object claims: its hosts (with where each is written) and its catch-alls. */
type Claims = {
  hosts: Array<{ text: string; where: string }>;
  catchAlls: string[];
  problems: string[];
};

/** A list field: `[]` when unset, undefined (and a problem) when it is not a list. */
function listAt(v: unknown, where: string, c: Claims): unknown[] | undefined {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v;
  c.problems.push(`${where} is not a list`);
  return undefined;
}

/** Host strings of a list (`spec.tls[i].hosts`, `spec.hostnames`); anything else is a problem. */
function hostList(list: unknown[], where: string, c: Claims) {
  list.forEach((h, i) => {
    if (typeof h === 'string')
      c.hosts.push({ text: h, where: `${where}[${i}]` });
    else c.problems.push(`${where}[${i}] is not a string`);
  });
}

function ingressClaims(obj: KubeObject, spec: Record<string, any>, c: Claims) {
  for (const field of ['defaultBackend', 'backend']) {
    if (!unset(spec[field])) {
      c.catchAlls.push(
        `spec.${field} catches every request no rule matches, for every host the ingress controller serves, other tenants' included`,
      );
    }
  }
  (listAt(spec.rules, 'spec.rules', c) ?? []).forEach((rule, i) => {
    const where = `spec.rules[${i}]`;
    if (!isMapping(rule)) c.problems.push(`${where} is not a mapping`);
    else if (unset(rule.host)) {
      c.catchAlls.push(
        `${where} has no host: it matches requests for every host the ingress controller serves, other tenants' included`,
      );
    } else if (typeof rule.host !== 'string') {
      c.problems.push(`${where}.host is not a string`);
    } else c.hosts.push({ text: rule.host, where: `${where}.host` });
  });
  (listAt(spec.tls, 'spec.tls', c) ?? []).forEach((tls, i) => {
    const where = `spec.tls[${i}]`;
    if (!isMapping(tls)) {
      c.problems.push(`${where} is not a mapping`);
      return;
    }
    const hosts = listAt(tls.hosts, `${where}.hosts`, c);
    if (hosts?.length === 0) {
      c.catchAlls.push(
        `${where} lists no hosts: it applies to the ingress controller's default (wildcard) host`,
      );
    }
    hostList(hosts ?? [], `${where}.hosts`, c);
  });
  const alias = obj.metadata?.annotations?.[SERVER_ALIAS];
  if (alias === undefined || alias === null) return;
  if (typeof alias !== 'string') {
    c.problems.push(`annotation ${SERVER_ALIAS} is not a string`);
    return;
  }
  // As ingress-nginx reads it: split at commas, blanks around each name dropped. Only ASCII blanks
  // are trimmed here, so a name with any other space is refused rather than read otherwise.
  for (const name of alias.split(',')) {
    const text = name.replace(/^[ \t\n\r\v\f]+|[ \t\n\r\v\f]+$/g, '');
    if (text) c.hosts.push({ text, where: `annotation ${SERVER_ALIAS}` });
  }
}

function routeClaims(spec: Record<string, any>, c: Claims) {
  const hostnames = listAt(spec.hostnames, 'spec.hostnames', c);
  if (hostnames?.length === 0) {
    c.catchAlls.push(
      "it has no hostnames: it matches every host of the Gateway listeners it attaches to, other tenants' included",
    );
  }
  hostList(hostnames ?? [], 'spec.hostnames', c);
}

/**
 * The listeners a ListenerSet adds to a Gateway: each `hostname` is a claim as a route's hostnames
 * are; a listener without one, or of a protocol that takes none (TCP, UDP), takes everything on
 * its port.
 */
function listenerSetClaims(spec: Record<string, any>, c: Claims) {
  (listAt(spec.listeners, 'spec.listeners', c) ?? []).forEach((l, i) => {
    const where = `spec.listeners[${i}]`;
    if (!isMapping(l)) {
      c.problems.push(`${where} is not a mapping`);
      return;
    }
    const port =
      typeof l.port === 'number' ? `port ${l.port}` : 'the port it names';
    if (typeof l.protocol !== 'string') {
      c.problems.push(`${where}.protocol is not a string`);
    } else if (!HOSTNAME_PROTOCOLS.includes(l.protocol)) {
      const protocol = /^[\w./-]{1,60}$/.test(l.protocol)
        ? l.protocol
        : quote(l.protocol);
      c.catchAlls.push(
        `${where} has protocol ${protocol}, which takes no hostname: it takes every connection on ${port} of the Gateway, other tenants' included`,
      );
      return;
    }
    if (unset(l.hostname)) {
      c.catchAlls.push(
        `${where} has no hostname: it takes every host on ${port} of the Gateway, other tenants' included`,
      );
    } else if (typeof l.hostname !== 'string') {
      c.problems.push(`${where}.hostname is not a string`);
    } else c.hosts.push({ text: l.hostname, where: `${where}.hostname` });
  });
}

/** Why one claimed host is refused, or undefined. `subdomain` is the tenant's, when a domain is set. */
function hostViolation(
  { text, where }: Claims['hosts'][number],
  ctx: PolicyContext,
  subdomain: string | undefined,
  namespace: string | undefined,
): string | undefined {
  const shown = `host ${quote(text)} (${where})`;
  const host = classifyHost(text);
  if (host.kind === 'invalid')
    return `${shown} is not a DNS name the rule can check: ${host.why}`;
  if (ctx.ingressHostDomain !== undefined) {
    // Without a subdomain (namespace unknown) the object is refused once, for all its hosts.
    if (subdomain === undefined || isUnder(host.name, subdomain))
      return undefined;
    return `${shown} is not under this tenant's subdomain ${subdomain}`;
  }
  if (host.kind === 'wildcard' && !ctx.allowCatchAllIngress)
    return `${shown} is a wildcard: it matches hosts of other tenants`;
  return heldViolation(shown, host, ctx, namespace);
}

/**
 * Without a domain, in a run: why a host another namespace holds (as read from the cluster) is refused,
 * or why it cannot be compared. The other namespace is not named: that would tell which tenant holds it.
 */
function heldViolation(
  shown: string,
  host: ReadHost,
  ctx: PolicyContext,
  namespace: string | undefined,
): string | undefined {
  const inUse = ctx.hostsInUse;
  if (inUse === undefined) return undefined;
  if ('unreadable' in inUse)
    return `${shown} cannot be checked against the hosts other namespaces hold: ${inUse.unreadable}`;
  if (namespace === undefined)
    return `${shown} cannot be checked against the hosts other namespaces hold: the namespace it lands in is not known`;
  if (!inUse.heldElsewhere(host, namespace)) return undefined;
  return `${shown} is already claimed by an Ingress, route or ListenerSet of another namespace: the shared ingress controller would send part of its traffic here`;
}

/**
 * What an Ingress, Gateway API route or ListenerSet claims; undefined for any other object. A spec that is
 * not a mapping is a problem.
 */
function claimsOf(obj: KubeObject): Claims | undefined {
  if (!isMapping(obj)) return undefined;
  if (
    !isIngress(obj) &&
    !isRoute(obj) &&
    !isL4Route(obj) &&
    !isListenerSet(obj)
  )
    return undefined;
  const claims: Claims = { hosts: [], catchAlls: [], problems: [] };
  const spec = obj.spec ?? {};
  if (!isMapping(spec)) {
    claims.problems.push('spec is not a mapping');
    return claims;
  }
  if (isIngress(obj)) ingressClaims(obj, spec, claims);
  else if (isRoute(obj)) routeClaims(spec, claims);
  else if (isListenerSet(obj)) listenerSetClaims(spec, claims);
  else {
    claims.catchAlls.push(
      `a ${obj.kind} has no hostnames: it takes every connection on the port of the Gateway listener it attaches to, other tenants' included`,
    );
  }
  return claims;
}

/**
 * The hosts an Ingress (rule hosts, TLS hosts, the ingress-nginx `server-alias` annotation), Gateway API
 * route (`hostnames`) or ListenerSet (listener `hostname`) claims, as written; undefined for any other
 * object. What the `ingress-host` rule compares with the hosts other namespaces hold.
 * @public
 */
export function ingressHostsOf(obj: KubeObject): string[] | undefined {
  return claimsOf(obj)?.hosts.map(h => h.text);
}

/**
 * The kinds whose objects claim hosts, by API group: Ingresses, the Gateway API routes with
 * `hostnames` and ListenerSets (TCPRoutes and UDPRoutes claim none). What a caller reads from a
 * cluster for `PolicyCheckOptions.ingressHostsInUse`.
 * @public
 */
export const INGRESS_HOST_KINDS: ReadonlyArray<{
  group: string;
  kind: string;
}> = [
  ...INGRESS_GROUPS.map(group => ({ group, kind: 'Ingress' })),
  ...ROUTE_KINDS.map(kind => ({ group: GATEWAY_GROUP, kind })),
  ...[GATEWAY_X_GROUP, GATEWAY_GROUP].flatMap(group =>
    LISTENER_SET_KINDS.map(kind => ({ group, kind })),
  ),
];

/** ingress-nginx's annotation prefix, and the one older controllers read. */
const NGINX_ANNOTATION_PREFIXES = [
  'nginx.ingress.kubernetes.io/',
  'ingress.kubernetes.io/',
];
/** An annotation name after the prefix, as ingress-nginx names them. */
const ANNOTATION_NAME = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/**
 * The ingress-nginx annotations (names after the prefix) an Ingress may carry without
 * `kubechart.policy.allowedIngressAnnotations`: those whose value is a number, a size, a boolean or one
 * of a few words, that name no URL, Secret, Service, ConfigMap or header, and write no nginx
 * configuration of their own; `server-alias`, whose hosts `ingress-host` judges.
 * @public
 */
export const DEFAULT_ALLOWED_INGRESS_ANNOTATIONS: readonly string[] = [
  'backend-protocol',
  'client-body-buffer-size',
  'enable-cors',
  'force-ssl-redirect',
  'limit-burst-multiplier',
  'limit-connections',
  'limit-rate',
  'limit-rate-after',
  'limit-rpm',
  'limit-rps',
  'load-balance',
  'proxy-body-size',
  'proxy-buffer-size',
  'proxy-buffering',
  'proxy-buffers-number',
  'proxy-connect-timeout',
  'proxy-http-version',
  'proxy-max-temp-file-size',
  'proxy-next-upstream-timeout',
  'proxy-next-upstream-tries',
  'proxy-read-timeout',
  'proxy-request-buffering',
  'proxy-send-timeout',
  'server-alias',
  'ssl-redirect',
  'use-regex',
];

/** Annotations that name a URL the controller calls (auth, mirror) or sends clients to (sign-in, redirects). */
const URL_ANNOTATIONS = [
  'auth-url',
  'auth-signin',
  'mirror-target',
  'permanent-redirect',
  'temporal-redirect',
];
/** Annotations that name a Secret (`<namespace>/<name>`) the controller reads. */
const SECRET_ANNOTATIONS = [
  'auth-secret',
  'auth-tls-secret',
  'proxy-ssl-secret',
];
/** Annotations that name a ConfigMap (`<namespace>/<name>`) the controller reads. */
const CONFIGMAP_ANNOTATIONS = [
  'auth-proxy-set-headers',
  'custom-headers',
  'fastcgi-params-configmap',
];

/** What an ingress-nginx annotation (by name) lets an Ingress do that the allow-list does not. */
function annotationHarm(name: string): string {
  if (name.endsWith('-snippet'))
    return 'writes nginx configuration into the shared ingress controller, for every tenant it serves';
  if (URL_ANNOTATIONS.includes(name))
    return "names a URL the shared ingress controller calls or sends clients to, another tenant's Service included";
  if (SECRET_ANNOTATIONS.includes(name))
    return 'names a Secret the shared ingress controller reads, of any namespace';
  if (CONFIGMAP_ANNOTATIONS.includes(name))
    return 'names a ConfigMap the shared ingress controller reads, of any namespace';
  if (name === 'default-backend')
    return 'names a Service the shared ingress controller sends requests to';
  return 'is not one of the ingress-nginx annotations tenants may set (kubechart.policy.allowedIngressAnnotations)';
}

/**
 * A `kubechart.policy.allowedIngressAnnotations` entry as the name after the prefix: an annotation name
 * (`rewrite-target`) or key (`nginx.ingress.kubernetes.io/rewrite-target`); an `InputError` otherwise.
 */
export function normalizeAllowedIngressAnnotation(entry: unknown): string {
  const text = typeof entry === 'string' ? entry : '';
  const prefix = NGINX_ANNOTATION_PREFIXES.find(p => text.startsWith(p));
  const name = prefix ? text.slice(prefix.length) : text;
  if (ANNOTATION_NAME.test(name)) return name;
  throw new InputError(
    `Invalid kubechart.policy.allowedIngressAnnotations entry ${JSON.stringify(
      String(entry).slice(0, 100),
    )}: give an ingress-nginx annotation name (rewrite-target) or key (nginx.ingress.kubernetes.io/rewrite-target), in lower case`,
  );
}

/** Ingress, Gateway API route and listener hosts: no tenant takes another's traffic through the shared controller. */
export const ingressRules: PolicyRule[] = [
  {
    id: 'ingress-host',
    defaultSeverity: 'error',
    // Another tenant's traffic is a trust boundary, not advice: blocking in warn and off too.
    alwaysBlocks: true,
    description:
      "Ingresses, Gateway API routes and ListenerSet listeners claim only their tenant's hosts: every rule, route and listener names a host, no default backend, no TCPRoute or UDPRoute, no wildcard beyond the tenant's subdomain, with kubechart.policy.ingressHostDomain only <namespace>.<domain> and names under it, and without it no host an object of another namespace already claims",
    fix: 'Give every Ingress rule, TLS entry, route and ListenerSet listener a host of your own (with kubechart.policy.ingressHostDomain: <namespace>.<domain> or a name under it, e.g. web.team-a.apps.example.com; without it, a host no other namespace uses); remove spec.defaultBackend, TCPRoutes, UDPRoutes, TCP and UDP listeners and wildcards outside your subdomain. A platform that routes catch-alls on purpose sets kubechart.policy.allowCatchAllIngress or a policy exception for the namespace.',
    check: (obj, ctx) => {
      const claims = claimsOf(obj);
      if (!claims) return undefined;
      if (!isMapping(obj.spec ?? {})) return claims.problems;
      const out = [...claims.problems];
      if (!ctx.allowCatchAllIngress) out.push(...claims.catchAlls);
      const ns = ctx.namespaceOf(obj);
      let subdomain: string | undefined;
      if (ctx.ingressHostDomain !== undefined) {
        if (ns !== undefined && isValidNamespaceName(ns))
          subdomain = `${ns}.${ctx.ingressHostDomain}`;
        else {
          out.push(
            `the namespace it lands in is not known${
              ns === undefined ? '' : ` (${quote(ns)} is not a namespace name)`
            }, so its hosts cannot be checked against <namespace>.${
              ctx.ingressHostDomain
            }`,
          );
        }
      }
      for (const host of claims.hosts) {
        const why = hostViolation(host, ctx, subdomain, ns);
        if (why) out.push(why);
      }
      return capMessages(out);
    },
  },
  {
    id: 'ingress-annotations',
    defaultSeverity: 'error',
    alwaysBlocks: true,
    description:
      'Ingresses carry only the ingress-nginx annotations (nginx.ingress.kubernetes.io/*, ingress.kubernetes.io/*) of the allow-list: no snippet, nothing that names a URL, Secret, Service or ConfigMap for the shared ingress controller',
    fix: "Remove the annotation (use the controller's own settings, or a Service and Secret of your namespace in the Ingress spec). The platform team adds an annotation it has found safe for every tenant to kubechart.policy.allowedIngressAnnotations, or exempts one object with a policy exception.",
    check: (obj, ctx) => {
      if (!isIngress(obj)) return undefined;
      const annotations = obj.metadata?.annotations;
      if (annotations === undefined || annotations === null) return [];
      if (!isMapping(annotations))
        return ['metadata.annotations is not a mapping'];
      const out: string[] = [];
      for (const key of Object.keys(annotations)) {
        const lower = key.toLowerCase();
        const prefix = NGINX_ANNOTATION_PREFIXES.find(p => lower.startsWith(p));
        if (prefix === undefined) continue;
        const name = key.slice(prefix.length);
        if (ctx.allowedIngressAnnotations.has(name)) continue;
        const shown = /^[\w./-]{1,120}$/.test(key) ? key : quote(key);
        out.push(`annotation ${shown} ${annotationHarm(name)}`);
      }
      return out;
    },
  },
];
