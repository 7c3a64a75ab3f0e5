import { MAX_MESSAGES_PER_RESULT, moreMessages } from '../messages';
import { isMapping } from '../podSpec';
import { KubeObject, PolicyRule } from '../types';
import { groupOf, quote, unset } from './util';

/** The first addresses of a list, quoted, then how many more. */
const addressList = (addresses: unknown[]) =>
  [
    ...addresses.slice(0, MAX_MESSAGES_PER_RESULT).map(a => quote(String(a))),
    ...(addresses.length > MAX_MESSAGES_PER_RESULT
      ? [moreMessages(addresses.length - MAX_MESSAGES_PER_RESULT)]
      : []),
  ].join(', ');

/** Why a Service's spec names addresses it takes traffic for; empty when it names none. */
function claimedAddresses(spec: any): string[] {
  const out: string[] = [];
  const externalIPs = spec.externalIPs;
  if (!Array.isArray(externalIPs) && !unset(externalIPs)) {
    out.push('spec.externalIPs is not a list');
  } else if (Array.isArray(externalIPs) && externalIPs.length) {
    out.push(
      `spec.externalIPs names ${addressList(
        externalIPs,
      )}: every node sends connections to these addresses (on the Service's ports) to this Service, from every pod of the cluster too, whoever the addresses belong to (CVE-2020-8554)`,
    );
  }
  if (!unset(spec.loadBalancerIP)) {
    out.push(
      `spec.loadBalancerIP names ${quote(
        String(spec.loadBalancerIP),
      )}: it asks the load balancer for that address, whoever it was meant for`,
    );
  }
  return out;
}

/** Endpoints (core) and EndpointSlices (`discovery.k8s.io`): what a Service's traffic goes to. */
const isEndpoints = (obj: KubeObject) =>
  obj.kind === 'Endpoints' && groupOf(obj.apiVersion) === '';
const isEndpointSlice = (obj: KubeObject) =>
  obj.kind === 'EndpointSlice' &&
  groupOf(obj.apiVersion) === 'discovery.k8s.io';

/**
 * Network exposure rules. They guard other tenants' traffic, a trust boundary: they block in every
 * policy mode.
 */
export const serviceRules: PolicyRule[] = [
  {
    id: 'service-type',
    defaultSeverity: 'error',
    alwaysBlocks: true,
    description:
      'Services are not exposed as LoadBalancer or NodePort, nor ExternalName, unless allowed',
    fix: 'Use type ClusterIP behind an Ingress/HTTPRoute, or ask the platform team to allow the type (kubechart.policy.allowedServiceTypes).',
    check: (obj, ctx) => {
      if (obj.kind !== 'Service') return undefined;
      const type = obj.spec?.type ?? 'ClusterIP';
      return ctx.allowedServiceTypes.includes(type)
        ? []
        : [`type ${type} is not allowed`];
    },
  },
  {
    id: 'service-external-ips',
    defaultSeverity: 'error',
    alwaysBlocks: true,
    description:
      'Services name no address they take traffic for (spec.externalIPs, spec.loadBalancerIP) unless allowed',
    fix: "Remove spec.externalIPs and spec.loadBalancerIP: reach the Service through its cluster IP, an Ingress or HTTPRoute, or a LoadBalancer the platform allows, whose address the load balancer assigns. The platform team hands one tenant's Service its address with kubechart.policy.exceptions (rule service-external-ips, the namespace and the Service); kubechart.policy.allowServiceExternalIPs: true allows every Service any address (a cluster of one tenant only).",
    check: (obj, ctx) => {
      if (obj.kind !== 'Service') return undefined;
      if (ctx.allowServiceExternalIPs) return [];
      const spec = obj.spec ?? {};
      if (!isMapping(spec)) return ['spec is not a mapping'];
      return claimedAddresses(spec);
    },
  },
  {
    id: 'service-endpoints',
    defaultSeverity: 'error',
    alwaysBlocks: true,
    description:
      "a Service's traffic goes to the pods its selector picks: the manifests write no Endpoints or EndpointSlices (discovery.k8s.io), which Kubernetes writes from the selector",
    fix: 'Give the Service a selector that matches your pods and remove the Endpoints or EndpointSlice. A Service for an address outside the cluster is for the platform team to set up, or to exempt with kubechart.policy.exceptions (rule service-endpoints, the namespace and the object).',
    check: obj => {
      if (obj.kind === 'Service') return [];
      if (isEndpoints(obj)) {
        return [
          "Endpoints are Kubernetes' to write from a Service's selector: written by hand, they send the Service's traffic to any address they name, another tenant's pods included",
        ];
      }
      if (isEndpointSlice(obj)) {
        return [
          "an EndpointSlice is Kubernetes' to write from a Service's selector: written by hand, it sends the Service's traffic to any address it names, another tenant's pods included",
        ];
      }
      return undefined;
    },
  },
];
