import { errors } from './status';
import { isPlainObject, KubeObject } from './types';

/**
 * events.k8s.io/v1 is another view of the core/v1 Events: a real server stores one Event and
 * converts it for each API (../shared/reference/kube-api/metadata/06-*, 07-*). kube-sim stores the
 * core form and converts here, so an Event written through either API is read through both.
 */

/** events.k8s.io field labels and the core ones they mean (the real field label conversion). */
const FIELD_LABELS: Record<string, string> = {
  'regarding.kind': 'involvedObject.kind',
  'regarding.namespace': 'involvedObject.namespace',
  'regarding.name': 'involvedObject.name',
  'regarding.uid': 'involvedObject.uid',
  'regarding.apiVersion': 'involvedObject.apiVersion',
  'regarding.resourceVersion': 'involvedObject.resourceVersion',
  'regarding.fieldPath': 'involvedObject.fieldPath',
  reportingController: 'reportingComponent',
  type: 'type',
  reason: 'reason',
  'deprecatedSource.component': 'source',
  'metadata.name': 'metadata.name',
  'metadata.namespace': 'metadata.namespace',
};

/** Rewrites an events.k8s.io field selector into the core one (unknown labels are left to fail there). */
export function coreEventFieldSelector(
  selector: string | null,
): string | undefined {
  if (!selector) return undefined;
  return selector
    .split(',')
    .map(term => {
      const m = term.match(/^\s*([^=!\s]+)(.*)$/);
      if (!m) return term;
      return `${FIELD_LABELS[m[1]] ?? m[1]}${m[2]}`;
    })
    .join(',');
}

/** The events.k8s.io/v1 form of a stored core Event, with the real field order and null timestamps. */
export function toEventsV1(core: KubeObject): KubeObject {
  const out: KubeObject = {
    kind: 'Event',
    apiVersion: 'events.k8s.io/v1',
    metadata: core.metadata,
    eventTime: core.eventTime ?? null,
  };
  if (core.series) {
    out.series = {
      count: core.series.count,
      lastObservedTime: core.series.lastObservedTime,
    };
  }
  if (core.reportingComponent)
    out.reportingController = core.reportingComponent;
  if (core.reportingInstance) out.reportingInstance = core.reportingInstance;
  if (core.action) out.action = core.action;
  if (core.reason) out.reason = core.reason;
  if (core.involvedObject) out.regarding = core.involvedObject;
  if (core.related) out.related = core.related;
  if (core.message) out.note = core.message;
  if (core.type) out.type = core.type;
  out.deprecatedSource = core.source ?? {};
  out.deprecatedFirstTimestamp = core.firstTimestamp ?? null;
  out.deprecatedLastTimestamp = core.lastTimestamp ?? null;
  if (core.count) out.deprecatedCount = core.count;
  return out;
}

/** The core/v1 form of an events.k8s.io/v1 body (what is stored). */
export function fromEventsV1(v1: KubeObject): KubeObject {
  const out: KubeObject = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: isPlainObject(v1.metadata) ? v1.metadata : {},
  };
  const copy = (from: string, to: string) => {
    if (v1[from] !== undefined) out[to] = v1[from];
  };
  copy('regarding', 'involvedObject');
  copy('reason', 'reason');
  copy('note', 'message');
  copy('deprecatedSource', 'source');
  copy('deprecatedFirstTimestamp', 'firstTimestamp');
  copy('deprecatedLastTimestamp', 'lastTimestamp');
  copy('deprecatedCount', 'count');
  copy('type', 'type');
  copy('eventTime', 'eventTime');
  copy('series', 'series');
  copy('action', 'action');
  copy('related', 'related');
  copy('reportingController', 'reportingComponent');
  copy('reportingInstance', 'reportingInstance');
  return out;
}

/** Fields a core Event always carries (they have no `omitempty` in Go), as a real server returns them. */
export function defaultCoreEvent(obj: KubeObject) {
  if (obj.source === undefined || obj.source === null) obj.source = {};
  if (obj.firstTimestamp === undefined) obj.firstTimestamp = null;
  if (obj.lastTimestamp === undefined) obj.lastTimestamp = null;
  if (obj.eventTime === undefined) obj.eventTime = null;
  if (obj.reportingComponent === undefined) obj.reportingComponent = '';
  if (obj.reportingInstance === undefined) obj.reportingInstance = '';
}

/** events.k8s.io/v1 create validation: the recorded 422 for a missing eventTime. */
export function validateEventsV1Create(body: KubeObject) {
  if (!body.eventTime) {
    throw errors.invalid('Event', '', body.metadata?.name ?? '', [
      {
        field: 'eventTime',
        message: 'Required value',
        reason: 'FieldValueRequired',
      },
    ]);
  }
}
