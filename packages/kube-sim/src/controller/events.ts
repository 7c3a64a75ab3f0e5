import { randomBytes } from 'node:crypto';
import { KubeApi } from '../server/api';
import { groupVersion } from '../server/resources';
import { deepClone, KubeObject, nowIso } from '../server/types';

/** Records core/v1 Events the way kubelet and controllers do, aggregating repeats into `count`. */
export class EventRecorder {
  private readonly byKey = new Map<string, string>();

  constructor(private readonly api: KubeApi) {}

  record(
    involved: KubeObject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    source: { component: string; host?: string },
    fieldPath?: string,
  ) {
    const events = this.api.registry.find('', 'v1', 'events')!;
    const namespace = involved.metadata.namespace ?? 'default';
    const key = `${involved.metadata.uid}|${reason}|${message}|${source.component}`;
    const now = nowIso();
    const existingName = this.byKey.get(key);
    const existing = existingName
      ? this.api.tryGet(events, namespace, existingName)
      : undefined;
    try {
      if (existing) {
        const next = deepClone(existing);
        next.count = (existing.count ?? 1) + 1;
        next.lastTimestamp = now;
        this.api.commitUpdate(
          events,
          existing,
          next,
          { manager: source.component },
          undefined,
          'Update',
        );
        return;
      }
      const name = `${involved.metadata.name}.${randomBytes(8).toString(
        'hex',
      )}`;
      this.api.create(
        events,
        namespace,
        {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { name, namespace },
          involvedObject: {
            kind: involved.kind,
            namespace: involved.metadata.namespace,
            name: involved.metadata.name,
            uid: involved.metadata.uid,
            apiVersion:
              involved.apiVersion ?? groupVersion({ group: '', version: 'v1' }),
            resourceVersion: involved.metadata.resourceVersion,
            ...(fieldPath ? { fieldPath } : {}),
          },
          reason,
          message,
          source,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
          type,
          // What the v1.26 controllers' core/v1 recorders write (metadata/06-core-v1-events-list-same-namespace.json).
          eventTime: null,
          reportingComponent: '',
          reportingInstance: '',
        },
        { manager: source.component },
      );
      this.byKey.set(key, name);
    } catch {
      // Events are best effort, as in a real cluster (the namespace may be terminating).
    }
  }

  forget(uid: string) {
    for (const k of [...this.byKey.keys()])
      if (k.startsWith(`${uid}|`)) this.byKey.delete(k);
  }
}
