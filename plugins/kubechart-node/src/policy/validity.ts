import {
  CONTAINER_LISTS,
  isBuiltinPodBearingKind,
  isMapping,
  podSpecPath,
} from './podSpec';

/** The id of the structural check; it cannot be turned off or exempted (fail closed). */
export const VALID_OBJECT_RULE_ID = 'valid-object';

const MAX_PROBLEMS = 10;

function containerProblems(c: unknown, where: string): string[] {
  if (!isMapping(c)) return [`${where} is not a mapping`];
  const out: string[] = [];
  if (typeof c.name !== 'string' || !c.name) out.push(`${where} has no name`);
  if (typeof c.image !== 'string' || !c.image)
    out.push(`${where} has no image`);
  const sc = c.securityContext;
  if (sc !== undefined && sc !== null) {
    if (!isMapping(sc)) out.push(`${where}.securityContext is not a mapping`);
    else if (sc.capabilities !== undefined && sc.capabilities !== null) {
      if (!isMapping(sc.capabilities))
        out.push(`${where}.securityContext.capabilities is not a mapping`);
      else {
        for (const k of ['add', 'drop']) {
          const v = sc.capabilities[k];
          if (
            v !== undefined &&
            v !== null &&
            (!Array.isArray(v) || v.some(x => typeof x !== 'string'))
          ) {
            out.push(
              `${where}.securityContext.capabilities.${k} is not a list of strings`,
            );
          }
        }
      }
    }
  }
  for (const list of ['env', 'ports', 'volumeMounts']) {
    const v = c[list];
    if (
      v !== undefined &&
      v !== null &&
      (!Array.isArray(v) || v.some(x => !isMapping(x)))
    ) {
      out.push(`${where}.${list} is not a list of mappings`);
    }
  }
  return out;
}

/**
 * What makes a rendered document something the policy cannot judge: not a mapping, no kind or
 * apiVersion, no name, or a pod-bearing object whose pod spec or containers are malformed. Empty
 * when the object is well-formed enough for every rule.
 */
export function objectProblems(doc: unknown): string[] {
  if (!isMapping(doc)) {
    return [
      `the document is ${
        Array.isArray(doc) ? 'a list' : `a ${typeof doc}`
      }, not a Kubernetes object`,
    ];
  }
  const out: string[] = [];
  if (typeof doc.apiVersion !== 'string' || !doc.apiVersion)
    out.push('apiVersion is missing');
  if (typeof doc.kind !== 'string' || !doc.kind) out.push('kind is missing');
  const md = doc.metadata;
  if (!isMapping(md)) {
    out.push('metadata is missing or not a mapping');
  } else {
    if (
      (typeof md.name !== 'string' || !md.name) &&
      (typeof md.generateName !== 'string' || !md.generateName)
    ) {
      out.push('metadata.name is missing');
    }
    if (
      md.namespace !== undefined &&
      md.namespace !== null &&
      typeof md.namespace !== 'string'
    ) {
      out.push('metadata.namespace is not a string');
    }
    for (const k of ['labels', 'annotations']) {
      if (md[k] !== undefined && md[k] !== null && !isMapping(md[k]))
        out.push(`metadata.${k} is not a mapping`);
    }
  }
  const path = podSpecPath(doc);
  if (path) {
    let cur: unknown = doc;
    for (const p of path) cur = isMapping(cur) ? cur[p] : undefined;
    const where = path.join('.');
    if (!isMapping(cur)) {
      out.push(`${where} is missing or not a mapping`);
    } else {
      const spec = cur;
      if (!Array.isArray(spec.containers) || spec.containers.length === 0) {
        out.push(
          `${where}.containers is ${
            Array.isArray(spec.containers) ? 'empty' : 'missing or not a list'
          }`,
        );
      }
      for (const list of CONTAINER_LISTS) {
        const v = spec[list];
        if (v === undefined || v === null) continue;
        if (!Array.isArray(v)) {
          if (list !== 'containers') out.push(`${where}.${list} is not a list`);
          continue;
        }
        v.forEach((c, i) =>
          out.push(...containerProblems(c, `${where}.${list}[${i}]`)),
        );
      }
      for (const k of ['volumes']) {
        const v = spec[k];
        if (
          v !== undefined &&
          v !== null &&
          (!Array.isArray(v) || v.some(x => !isMapping(x)))
        ) {
          out.push(`${where}.${k} is not a list of mappings`);
        }
      }
      if (
        spec.securityContext !== undefined &&
        spec.securityContext !== null &&
        !isMapping(spec.securityContext)
      ) {
        out.push(`${where}.securityContext is not a mapping`);
      }
    }
  } else if (isBuiltinPodBearingKind(doc.kind)) {
    out.push('the pod template is missing');
  }
  return out.length > MAX_PROBLEMS
    ? [...out.slice(0, MAX_PROBLEMS), `and ${out.length - MAX_PROBLEMS} more`]
    : out;
}
