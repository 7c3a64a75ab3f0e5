import { quantityDecodeError } from './quantity';
import { ResourceType, typeId } from './resources';
import { errors } from './status';
import { isPlainObject, KubeObject } from './types';

/**
 * What the real API server rejects while decoding (before validation): fields of the wrong JSON type.
 * Throws a 400 BadRequest worded like Go's json decoder errors.
 */
export function checkShape(type: ResourceType, obj: KubeObject) {
  const fail = (field: string, want: string, got: unknown) => {
    let kind: string = typeof got;
    if (Array.isArray(got)) kind = 'array';
    else if (got === null) kind = 'null';
    throw errors.badRequest(
      `${type.kind} in version "${type.version}" cannot be handled as a ${type.kind}: json: cannot unmarshal ${kind} into Go struct field ${field} of type ${want}`,
    );
  };
  const map = (
    field: string,
    v: unknown,
    values: 'string' | 'quantity' | 'any' = 'string',
  ) => {
    if (v === undefined || v === null) return;
    if (!isPlainObject(v))
      fail(
        field,
        values === 'any'
          ? 'object'
          : `map[string]${
              values === 'quantity' ? 'resource.Quantity' : 'string'
            }`,
        v,
      );
    for (const [k, x] of Object.entries(v as object)) {
      if (values === 'string' && typeof x !== 'string')
        fail(`${field}[${k}]`, 'string', x);
      const refused = values === 'quantity' && quantityDecodeError(x);
      if (refused) {
        // Quantity.UnmarshalJSON's error, which the decoder passes on as it is (no field named).
        throw errors.badRequest(
          `${type.kind} in version "${type.version}" cannot be handled as a ${type.kind}: ${refused}`,
        );
      }
    }
  };
  const list = (field: string, v: unknown, item: 'object' | 'string') => {
    if (v === undefined || v === null) return;
    if (!Array.isArray(v)) fail(field, `[]${item}`, v);
    (v as unknown[]).forEach((x, i) => {
      if (item === 'object' ? !isPlainObject(x) : typeof x !== 'string')
        fail(`${field}[${i}]`, item, x);
    });
  };
  const object = (field: string, v: unknown) => {
    if (v !== undefined && v !== null && !isPlainObject(v))
      fail(field, 'object', v);
  };

  const meta = obj.metadata;
  map('ObjectMeta.metadata.labels', meta.labels);
  map('ObjectMeta.metadata.annotations', meta.annotations);
  list('ObjectMeta.metadata.ownerReferences', meta.ownerReferences, 'object');
  for (const [i, ref] of (meta.ownerReferences ?? []).entries()) {
    for (const k of ['apiVersion', 'kind', 'name', 'uid']) {
      if (typeof (ref as any)[k] !== 'string')
        fail(
          `ObjectMeta.metadata.ownerReferences[${i}].${k}`,
          'string',
          (ref as any)[k],
        );
    }
  }
  list('ObjectMeta.metadata.finalizers', meta.finalizers, 'string');
  for (const k of ['name', 'generateName', 'namespace']) {
    if (meta[k] !== undefined && typeof meta[k] !== 'string')
      fail(`ObjectMeta.metadata.${k}`, 'string', meta[k]);
  }
  object(`${type.kind}.spec`, obj.spec);
  object(`${type.kind}.status`, obj.status);

  const podSpec = (path: string, spec: any) => {
    if (!isPlainObject(spec)) return;
    list(`${path}.containers`, spec.containers, 'object');
    list(`${path}.initContainers`, spec.initContainers, 'object');
    map(`${path}.nodeSelector`, spec.nodeSelector);
    for (const c of [
      ...(spec.containers ?? []),
      ...(spec.initContainers ?? []),
    ]) {
      list(`${path}.containers.ports`, c.ports, 'object');
      list(`${path}.containers.env`, c.env, 'object');
      object(`${path}.containers.resources`, c.resources);
      map(
        `${path}.containers.resources.requests`,
        c.resources?.requests,
        'quantity',
      );
      map(
        `${path}.containers.resources.limits`,
        c.resources?.limits,
        'quantity',
      );
    }
  };
  switch (typeId(type)) {
    case 'configmaps':
      map('ConfigMap.data', obj.data);
      map('ConfigMap.binaryData', obj.binaryData);
      break;
    case 'secrets':
      map('Secret.data', obj.data);
      map('Secret.stringData', obj.stringData);
      break;
    case 'pods':
      podSpec('PodSpec.spec', obj.spec);
      break;
    case 'services':
      map('ServiceSpec.spec.selector', obj.spec?.selector);
      list('ServiceSpec.spec.ports', obj.spec?.ports, 'object');
      break;
    case 'resourcequotas':
      map('ResourceQuotaSpec.spec.hard', obj.spec?.hard, 'quantity');
      break;
    case 'limitranges':
      list('LimitRangeSpec.spec.limits', obj.spec?.limits, 'object');
      for (const item of obj.spec?.limits ?? []) {
        for (const k of [
          'max',
          'min',
          'default',
          'defaultRequest',
          'maxLimitRequestRatio',
        ])
          map(`LimitRangeItem.spec.limits.${k}`, item[k], 'quantity');
      }
      break;
    case 'nodes':
      map('NodeStatus.status.capacity', obj.status?.capacity, 'quantity');
      map('NodeStatus.status.allocatable', obj.status?.allocatable, 'quantity');
      list('NodeStatus.status.conditions', obj.status?.conditions, 'object');
      break;
    case 'deployments.apps':
    case 'replicasets.apps':
    case 'statefulsets.apps':
    case 'daemonsets.apps':
    case 'jobs.batch':
      object(`${type.kind}Spec.spec.selector`, obj.spec?.selector);
      map(
        `${type.kind}Spec.spec.selector.matchLabels`,
        obj.spec?.selector?.matchLabels,
      );
      list(
        `${type.kind}Spec.spec.selector.matchExpressions`,
        obj.spec?.selector?.matchExpressions,
        'object',
      );
      object(`${type.kind}Spec.spec.template`, obj.spec?.template);
      map(
        `${type.kind}Spec.spec.template.metadata.labels`,
        obj.spec?.template?.metadata?.labels,
      );
      podSpec(`${type.kind}Spec.spec.template.spec`, obj.spec?.template?.spec);
      list(
        `${type.kind}Spec.spec.volumeClaimTemplates`,
        obj.spec?.volumeClaimTemplates,
        'object',
      );
      for (const k of ['replicas', 'completions', 'parallelism']) {
        const v = obj.spec?.[k];
        if (v !== undefined && v !== null && typeof v !== 'number')
          fail(`${type.kind}Spec.spec.${k}`, 'int32', v);
      }
      break;
    case 'horizontalpodautoscalers.autoscaling':
      object(
        'HorizontalPodAutoscalerSpec.spec.scaleTargetRef',
        obj.spec?.scaleTargetRef,
      );
      list(
        'HorizontalPodAutoscalerSpec.spec.metrics',
        obj.spec?.metrics,
        'object',
      );
      break;
    case 'events':
      object('Event.involvedObject', obj.involvedObject);
      break;
    default:
      break;
  }
}
