import { InputError } from '@backstage/errors';

/**
 * A host an Ingress or route claims, as the rule reads it: a DNS name or a wildcard (`*` as the whole
 * first label), lower-cased; anything else is `invalid`, with why (fail closed).
 */
export type ClaimedHost =
  | { kind: 'name'; name: string }
  | { kind: 'wildcard'; name: string }
  | { kind: 'invalid'; why: string };

const MAX_HOST = 253;
const MAX_LABEL = 63;
/** Every character a host may hold, in either case; checked before lower-casing (the Kelvin sign lower-cases to `k`). */
const HOST_CHARS = /^[A-Za-z0-9.*-]+$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
/**
 * A last label that makes a host an IPv4 address for URL parsers (WHATWG "ends in a number": decimal,
 * or `0x` and hex digits): `10.0.0.1`, `127.1`, `2130706433`, `0x7f000001`.
 */
const NUMERIC_LABEL = /^(?:[0-9]+|0x[0-9a-f]*)$/;

const invalid = (why: string): ClaimedHost => ({ kind: 'invalid', why });

/** Classifies one host exactly; a host it cannot read as a DNS name or wildcard is `invalid`. */
export function classifyHost(text: string): ClaimedHost {
  if (text.length === 0) return invalid('it is empty');
  if (text.length > MAX_HOST)
    return invalid(`it is longer than ${MAX_HOST} characters`);
  if (!HOST_CHARS.test(text)) {
    return invalid(
      'it holds a character other than ASCII letters, digits, "-", "." and a leading "*" (an IP address, a port, a space or a look-alike letter)',
    );
  }
  const name = text.toLowerCase();
  if (name.endsWith('.'))
    return invalid('it ends with a dot (write the name without it)');
  const labels = name.split('.');
  const wildcard = labels[0] === '*';
  const rest = wildcard ? labels.slice(1) : labels;
  for (const label of rest) {
    if (label.includes('*'))
      return invalid('"*" may only stand alone as its first label');
    if (!label) return invalid('it has an empty label');
    if (label.length > MAX_LABEL)
      return invalid(`a label is longer than ${MAX_LABEL} characters`);
    if (!LABEL.test(label)) return invalid('a label starts or ends with "-"');
  }
  if (rest.length && NUMERIC_LABEL.test(rest[rest.length - 1]))
    return invalid('it ends in a number, as an IP address does');
  return wildcard ? { kind: 'wildcard', name } : { kind: 'name', name };
}

/** Whether a claimed host is `subdomain` itself or a name (or wildcard) under it. */
export const isUnder = (host: string, subdomain: string) =>
  host === subdomain || host.endsWith(`.${subdomain}`);

/**
 * `kubechart.policy.ingressHostDomain` lower-cased, or an `InputError` when it is not a plain DNS name
 * (a wildcard, a trailing dot, an IP address, a URL).
 */
export function normalizeIngressHostDomain(domain: unknown): string {
  const host =
    typeof domain === 'string' ? classifyHost(domain) : invalid('not a string');
  if (host.kind === 'name') return host.name;
  const why = host.kind === 'wildcard' ? 'it is a wildcard' : host.why;
  throw new InputError(
    `Invalid kubechart.policy.ingressHostDomain ${JSON.stringify(
      String(domain).slice(0, 100),
    )}: ${why}; give the DNS name tenants' hosts go under, e.g. apps.example.com`,
  );
}

/** A host that can be compared: a DNS name or a wildcard. */
export type ReadHost = Exclude<ClaimedHost, { kind: 'invalid' }>;

/**
 * The hosts objects of a cluster hold, indexed by name once per check.
 * @public
 */
export type HostsHeld = {
  /**
   * Whether an object of a namespace other than `namespace` holds `host`: the same name, or a wildcard
   * that matches it (read as Gateway API reads one, a suffix: `*.example.com` matches `a.example.com` and
   * `a.b.example.com`, where an Ingress's matches one label only), or, for a wildcard, a wildcard at or
   * above it. A wildcard is not held by the names under it (the exact name wins over a wildcard), and `*`
   * alone, as a rule without a host, holds nothing: it takes only hosts no one claims.
   */
  heldElsewhere(host: ReadHost, namespace: string): boolean;
};

/** Indexes the hosts objects hold; a host that is not a DNS name or wildcard is left out (no claim reads equal to it). */
export function indexHostsHeld(
  hosts: ReadonlyArray<{ host: string; namespace: string }>,
): HostsHeld {
  const names = new Map<string, Set<string>>();
  /** Wildcards by the name they stand under (`*.example.com`: `example.com`). */
  const wildcards = new Map<string, Set<string>>();
  for (const { host, namespace } of hosts) {
    const read = typeof host === 'string' ? classifyHost(host) : undefined;
    if (!read || read.kind === 'invalid' || read.name === '*') continue;
    const [index, key] =
      read.kind === 'name'
        ? [names, read.name]
        : [wildcards, read.name.slice(2)];
    let holders = index.get(key);
    if (!holders) index.set(key, (holders = new Set()));
    holders.add(namespace);
  }
  const elsewhere = (holders: Set<string> | undefined, namespace: string) =>
    holders !== undefined && (holders.size > 1 || !holders.has(namespace));
  /** Whether another namespace's wildcard stands under a name strictly above `name`. */
  const wildcardAbove = (name: string, namespace: string) => {
    for (
      let dot = name.indexOf('.');
      dot >= 0;
      dot = name.indexOf('.', dot + 1)
    )
      if (elsewhere(wildcards.get(name.slice(dot + 1)), namespace)) return true;
    return false;
  };
  return {
    heldElsewhere(host, namespace) {
      if (host.kind === 'name')
        return (
          elsewhere(names.get(host.name), namespace) ||
          wildcardAbove(host.name, namespace)
        );
      const under = host.name.slice(2);
      return (
        elsewhere(wildcards.get(under), namespace) ||
        wildcardAbove(under, namespace)
      );
    },
  };
}
