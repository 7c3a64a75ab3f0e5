import { KubeApi } from '../server/api';
import { ResourceType } from '../server/resources';
import { StoreEvent } from '../server/store';
import { deepClone, nowIso } from '../server/types';
import { SchemaValidator } from '../schema/validation';
import { CRD_TYPE_ID, typesOf } from './customResources';

/**
 * The apiextensions controllers: a new or changed CustomResourceDefinition gets its names accepted
 * and becomes Established (its versions are then served: discovery, REST, OpenAPI); a deleted one
 * has its custom resources removed, then its cleanup finalizer, and stops being served.
 */
export class CrdController {
  private readonly served = new Map<string, ResourceType[]>();
  private readonly pending = new Set<string>();
  private unsubscribe?: () => void;

  constructor(
    private readonly api: KubeApi,
    private readonly schemas: SchemaValidator | undefined,
  ) {}

  start() {
    this.unsubscribe = this.api.store.subscribe(e => this.onEvent(e));
  }

  stop() {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  private crdType() {
    return this.api.registry.find(
      'apiextensions.k8s.io',
      'v1',
      'customresourcedefinitions',
    )!;
  }

  private onEvent(e: StoreEvent) {
    if (e.typeId !== CRD_TYPE_ID) return;
    const name = e.object.metadata.name!;
    if (this.pending.has(name)) return;
    this.pending.add(name);
    // After the write's answer has gone out, as the real controllers run after the create.
    setImmediate(() => {
      this.pending.delete(name);
      if (!this.unsubscribe) return;
      try {
        this.reconcile(name);
      } catch {
        // A conflicting write: its own event brings the CRD round again.
      }
    });
  }

  private reconcile(name: string) {
    const crdType = this.crdType();
    const crd = this.api.tryGet(crdType, undefined, name);
    if (!crd) {
      this.unserve(name);
      return;
    }
    if (crd.metadata.deletionTimestamp) {
      for (const t of this.served.get(name) ?? []) {
        for (const obj of this.api.store.list(t)) this.api.removeNow(t, obj);
      }
      this.unserve(name);
      const next = deepClone(crd);
      next.metadata.finalizers = (next.metadata.finalizers ?? []).filter(
        f => f !== crdType.deleteFinalizer,
      );
      if (next.metadata.finalizers.length === 0)
        delete next.metadata.finalizers;
      this.api.commitUpdate(
        crdType,
        crd,
        next,
        { manager: 'kube-apiserver' },
        undefined,
        'Update',
      );
      return;
    }
    this.serve(name, typesOf(crd));
    const established = (crd.status?.conditions ?? []).some(
      (c: any) => c.type === 'Established' && c.status === 'True',
    );
    if (established) return;
    const now = nowIso();
    const names = crd.spec.names;
    const next = deepClone(crd);
    next.status = {
      conditions: [
        {
          type: 'NamesAccepted',
          status: 'True',
          lastTransitionTime: now,
          reason: 'NoConflicts',
          message: 'no conflicts found',
        },
        {
          type: 'Established',
          status: 'True',
          lastTransitionTime: now,
          reason: 'InitialNamesAccepted',
          message: 'the initial names have been accepted',
        },
      ],
      acceptedNames: {
        plural: names.plural,
        singular: names.singular,
        ...(names.shortNames ? { shortNames: names.shortNames } : {}),
        kind: names.kind,
        listKind: names.listKind,
        ...(names.categories ? { categories: names.categories } : {}),
      },
      storedVersions: crd.status?.storedVersions ?? [],
    };
    this.api.commitUpdate(
      crdType,
      crd,
      next,
      { manager: 'kube-apiserver' },
      'status',
      'Update',
    );
  }

  private serve(name: string, types: ResourceType[]) {
    for (const old of this.served.get(name) ?? []) {
      if (!types.some(t => t.version === old.version))
        this.api.registry.remove(old);
      this.schemas?.invalidate(old);
    }
    for (const t of types) this.api.registry.add(t);
    this.served.set(name, types);
  }

  private unserve(name: string) {
    for (const t of this.served.get(name) ?? []) {
      this.api.registry.remove(t);
      this.schemas?.invalidate(t);
    }
    this.served.delete(name);
  }
}
