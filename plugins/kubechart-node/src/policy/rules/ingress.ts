import { isMapping } from '../podSpec';
import { KubeObject, PolicyContext, PolicyRule } from '../types';
import { isValidNamespaceName } from '@kubechart/plugin-kubechart-common';
import { classifyHost, isUnder } from './hostNames';
import { groupOf } from './util';

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
const MAX_MESSAGES = 10;

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
/** Unset as the API server stores it: absent, null or the empty string (`omitempty`). */
const unset = (v: unknown) => v === undefined || v === null || v === '';
const quote = (text: string) =>
  JSON.stringify(text.slice(0, 80)) + (text.length > 80 ? '…' : '');

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
  return undefined;
}

/** Ingress, Gateway API route and listener hosts: no tenant takes another's traffic through the shared controller. */
export const ingressRules: PolicyRule[] = [
  {
    id: 'ingress-host',
    defaultSeverity: 'error',
    description:
      "Ingresses, Gateway API routes and ListenerSet listeners claim only their tenant's hosts: every rule, route and listener names a host, no default backend, no TCPRoute or UDPRoute, no wildcard beyond the tenant's subdomain, and with kubechart.policy.ingressHostDomain only <namespace>.<domain> and names under it",
    fix: 'Give every Ingress rule, TLS entry, route and ListenerSet listener a host of your own (with kubechart.policy.ingressHostDomain: <namespace>.<domain> or a name under it, e.g. web.team-a.apps.example.com); remove spec.defaultBackend, TCPRoutes, UDPRoutes, TCP and UDP listeners and wildcards outside your subdomain. A platform that routes catch-alls on purpose sets kubechart.policy.allowCatchAllIngress or a policy exception for the namespace.',
    check: (obj, ctx) => {
      if (
        !isIngress(obj) &&
        !isRoute(obj) &&
        !isL4Route(obj) &&
        !isListenerSet(obj)
      )
        return undefined;
      const spec = obj.spec ?? {};
      if (!isMapping(spec)) return ['spec is not a mapping'];
      const claims: Claims = { hosts: [], catchAlls: [], problems: [] };
      if (isIngress(obj)) ingressClaims(obj, spec, claims);
      else if (isRoute(obj)) routeClaims(spec, claims);
      else if (isListenerSet(obj)) listenerSetClaims(spec, claims);
      else {
        claims.catchAlls.push(
          `a ${obj.kind} has no hostnames: it takes every connection on the port of the Gateway listener it attaches to, other tenants' included`,
        );
      }
      const out = [...claims.problems];
      if (!ctx.allowCatchAllIngress) out.push(...claims.catchAlls);
      let subdomain: string | undefined;
      if (ctx.ingressHostDomain !== undefined) {
        const ns = ctx.namespaceOf(obj);
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
        const why = hostViolation(host, ctx, subdomain);
        if (why) out.push(why);
      }
      return out.length > MAX_MESSAGES
        ? [
            ...out.slice(0, MAX_MESSAGES),
            `and ${out.length - MAX_MESSAGES} more`,
          ]
        : out;
    },
  },
];
