import { randomUUID } from 'node:crypto';
import {
  describeField,
  leafFields,
  patchedCopy,
  readField,
  removeField,
  strategicMergePatch,
} from './patch';
import {
  groupVersion,
  ResourceRegistry,
  ResourceType,
  typeId,
} from './resources';
import {
  FieldRequirement,
  LabelRequirement,
  matchesFields,
  matchesLabels,
} from './selectors';
import { omitEmptyMaps } from './emptyMaps';
import { decodeContinue, encodeContinue } from './continueToken';
import {
  describeManager,
  ManagerState,
  ownableView,
  ownershipPart,
  readManagers,
  sameOwnership,
  updateManagers,
  writeManagers,
} from './managedFields';
import { randomSuffix, validateName } from './objectNames';
import { FieldValidation, SchemaValidator } from '../schema/validation';
import { FieldSetSchema } from './fieldSetShape';
import { checkShape } from './shape';
import { errors, StatusError } from './status';
import { objectKey, Store } from './store';
import {
  deepClone,
  deepEqual,
  isPlainObject,
  KubeObject,
  nowIso,
} from './types';

/** Who is making a change: the user (for authorization) and the field manager it writes as. */
export interface WriteContext {
  manager: string;
  dryRun?: boolean;
  /**
   * The client's `fieldValidation` directive. Set for client requests only: then bodies are checked
   * against the kind's OpenAPI schema (undeclared fields dropped, warned about or refused).
   */
  fieldValidation?: FieldValidation;
  /** Collects `Warning` header texts for the response. */
  warnings?: string[];
  /** A client create (POST): a set `metadata.resourceVersion` is refused, as etcd storage does. */
  rejectResourceVersion?: boolean;
  /** Checks a write on behalf of the requesting user (RBAC escalation prevention); throws to refuse. */
  guard?: (
    type: ResourceType,
    obj: KubeObject,
    old: KubeObject | undefined,
  ) => void;
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export interface ListOptions {
  labels?: LabelRequirement[];
  fields?: FieldRequirement[];
  limit?: number;
  continueToken?: string;
}

/** Service fields the REST storage allocates after the creator's fields are taken. */
const SERVICE_ALLOCATED = [
  'clusterIP',
  'clusterIPs',
  'ipFamilies',
  'ipFamilyPolicy',
];

export interface DeleteOptions {
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
  /** `gracePeriodSeconds` (query or body); only pods use it. */
  gracePeriodSeconds?: number;
}

/** Per-kind behaviour (defaulting, validation, admission) that the API layer calls. */
export interface Admission {
  /** Fills server-side defaults in place (called on create and every update). */
  defaults(
    type: ResourceType,
    obj: KubeObject,
    old: KubeObject | undefined,
  ): void;
  /** Returns validation failures as `{ field, message }` causes. */
  validate(
    type: ResourceType,
    obj: KubeObject,
    old: KubeObject | undefined,
  ): Array<{
    field: string;
    message: string;
    reason?: string;
  }>;
  /** Admission control (quota, namespace lifecycle); throws a StatusError to reject. */
  admit(type: ResourceType, obj: KubeObject, old: KubeObject | undefined): void;
  /**
   * Validating admission that sees every create and update after validation, dry runs and no-op updates
   * included (PodSecurity): throws a StatusError to reject, may add `Warning` texts to `attrs.warnings`.
   */
  validateAdmission?(
    type: ResourceType,
    obj: KubeObject,
    old: KubeObject | undefined,
    attrs: { subresource?: string; warnings?: string[] },
  ): void;
}

export { randomSuffix } from './objectNames';

/** The finalizers Orphan and Foreground deletes put on the object (the garbage collector's). */
const PROPAGATION_FINALIZERS: Record<string, string | undefined> = {
  Orphan: 'orphan',
  Foreground: 'foregroundDeletion',
};

function hasStatus(type: ResourceType) {
  return type.subresources?.includes('status') ?? false;
}

/**
 * The API server's semantics over the store: what create, update, patch, delete and list mean,
 * independent of HTTP. The controller writes through this class as well, so admission applies to it.
 */
export class KubeApi {
  constructor(
    readonly store: Store,
    readonly registry: ResourceRegistry,
    readonly admission: Admission,
    readonly schemas?: SchemaValidator,
  ) {}

  type(apiVersion: string, kind: string): ResourceType {
    const t = this.registry.byApiVersionKind(apiVersion, kind);
    if (!t)
      throw errors.badRequest(
        `no kind "${kind}" is registered for version "${apiVersion}"`,
      );
    return t;
  }

  get(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
  ): KubeObject {
    const obj = this.store.get(
      type,
      type.namespaced ? namespace : undefined,
      name,
    );
    if (!obj) throw errors.notFound(type.plural, type.group, name);
    return obj;
  }

  tryGet(type: ResourceType, namespace: string | undefined, name: string) {
    return this.store.get(type, type.namespaced ? namespace : undefined, name);
  }

  /** Filtered objects, without paging. */
  select(
    type: ResourceType,
    namespace: string | undefined,
    opts: ListOptions = {},
  ) {
    const id = typeId(type);
    return this.store
      .list(type, type.namespaced ? namespace : undefined)
      .filter(
        o =>
          matchesLabels(o.metadata.labels, opts.labels ?? []) &&
          matchesFields(o, opts.fields ?? [], id),
      );
  }

  /** A page of a list: the stored objects (with kind and apiVersion) and the list metadata. */
  list(type: ResourceType, namespace: string | undefined, opts: ListOptions) {
    const rv = this.store.currentRv();
    let items = this.select(type, namespace, opts);
    let start = 0;
    if (opts.continueToken) {
      const token = decodeContinue(opts.continueToken);
      if (token.rv < this.store.oldestResumableRv()) {
        // What the real server says once etcd has compacted the revision the list started at.
        throw new StatusError(
          410,
          'Expired',
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
        );
      }
      const startKey = token.start;
      start = items.findIndex(
        o => objectKey(o.metadata.namespace, o.metadata.name!) >= startKey,
      );
      if (start < 0) start = items.length;
    }
    const meta: Record<string, unknown> = { resourceVersion: String(rv) };
    if (opts.limit && opts.limit > 0 && items.length - start > opts.limit) {
      const page = items.slice(start, start + opts.limit);
      const last = page[page.length - 1];
      meta.continue = encodeContinue(
        rv,
        `${objectKey(last.metadata.namespace, last.metadata.name!)}\u0000`,
      );
      // A real server only counts what is left when nothing filters the list (no selectors).
      if (!opts.labels?.length && !opts.fields?.length)
        meta.remainingItemCount = items.length - start - opts.limit;
      items = page;
    } else if (start > 0) {
      items = items.slice(start);
    }
    return {
      kind: `${type.kind}List`,
      apiVersion: groupVersion(type),
      metadata: meta,
      items,
    };
  }

  create(
    type: ResourceType,
    namespace: string | undefined,
    body: KubeObject,
    ctx: WriteContext,
    managers?: ManagerState[],
  ): KubeObject {
    if (!isPlainObject(body) || !isPlainObject(body.metadata ?? {})) {
      throw errors.badRequest(
        'the object provided is not a valid Kubernetes object',
      );
    }
    checkTypeMeta(type, body);
    const obj: KubeObject = deepClone(body);
    this.decodeFields(type, obj, ctx);
    obj.apiVersion = groupVersion(type);
    obj.kind = type.kind;
    obj.metadata = obj.metadata ?? {};
    omitEmptyMaps(obj);
    const meta = obj.metadata;
    const requestedRv = meta.resourceVersion;
    if (type.namespaced) {
      if (meta.namespace && namespace && meta.namespace !== namespace) {
        throw errors.badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      meta.namespace = namespace ?? meta.namespace;
      if (!meta.namespace)
        throw errors.badRequest('the namespace of the object is required');
    } else {
      delete meta.namespace;
    }
    if (!meta.name && meta.generateName) {
      for (let i = 0; i < 10; i++) {
        const candidate = `${meta.generateName}${randomSuffix()}`;
        if (!this.store.get(type, meta.namespace, candidate)) {
          meta.name = candidate;
          break;
        }
      }
    }
    if (!meta.name) {
      throw errors.invalid(type.kind, type.group, '', [
        {
          field: 'metadata.name',
          message: 'Required value: name or generateName is required',
          reason: 'FieldValueRequired',
        },
      ]);
    }
    const nameProblem = validateName(type, meta.name);
    if (nameProblem) {
      throw errors.invalid(type.kind, type.group, meta.name, [
        { field: 'metadata.name', message: nameProblem },
      ]);
    }
    if (type.namespaced) {
      const ns = this.store.get(
        this.registry.find('', 'v1', 'namespaces')!,
        undefined,
        meta.namespace!,
      );
      if (!ns) throw errors.notFound('namespaces', '', meta.namespace!);
      if (ns.metadata.deletionTimestamp) {
        const err = errors.forbidden(
          type.plural,
          type.group,
          meta.name,
          `unable to create new content in namespace ${meta.namespace} because it is being terminated`,
        );
        err.details!.causes = [
          {
            reason: 'NamespaceTerminating',
            message: `namespace ${meta.namespace} is being terminated`,
            field: 'metadata.namespace',
          },
        ];
        throw err;
      }
    }
    if (this.store.get(type, meta.namespace, meta.name)) {
      throw errors.alreadyExists(type.plural, type.group, meta.name);
    }
    const requestView = ownableView(isSecret(type) ? decodedSecret(obj) : obj);
    // What the Service REST storage allocates (cluster IPs, IP families) is nobody's unless the client set it
    // (delete/06-service-delete.json); the defaults decoding sets (type, sessionAffinity) are the creator's.
    const allocated = new Set(
      isService(type)
        ? SERVICE_ALLOCATED.filter(k => obj.spec?.[k] === undefined).flatMap(
            k => leafFields({ spec: { [k]: 'x' } }),
          )
        : [],
    );
    meta.uid = randomUUID();
    meta.creationTimestamp = nowIso();
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.selfLink;
    delete meta.managedFields;
    // Kinds without a generation keep one a client sets (fields/13-create-with-uid-and-creationTimestamp.json).
    if (type.generation) meta.generation = 1;
    else if (!meta.generation) delete meta.generation;
    if (hasStatus(type) && type.plural !== 'nodes') {
      // The status a client sends is dropped. Built-in kinds encode an empty Go struct as
      // `status: {}` (rollout/01-deployment-create.json); custom resources have no status until set.
      if (type.custom) delete obj.status;
      else obj.status = {};
    }
    checkShape(type, obj);
    ctx.guard?.(type, obj, undefined);
    this.admission.defaults(type, obj, undefined);
    omitEmptyMaps(obj);
    this.validate(type, obj, undefined);
    this.admission.validateAdmission?.(type, obj, undefined, {
      warnings: ctx.warnings,
    });
    this.admission.admit(type, obj, undefined);
    const time = meta.creationTimestamp!;
    const ms = managers ?? [
      {
        manager: ctx.manager,
        operation: 'Update' as const,
        apiVersion: obj.apiVersion!,
        time,
        // A JSON null decodes to Go's zero value, which is no field (a pod template's `creationTimestamp:
        // null` is nobody's: rollout/01-deployment-create.json).
        paths: new Set([
          ...leafFields(requestView).filter(
            p => readField(obj, p) !== null && !allocated.has(p),
          ),
          // The namespace strategy sets its name label before the creator's fields are taken: the
          // creator owns it (fields/00-namespace-create.json).
          ...(isNamespace(type)
            ? leafFields({
                metadata: {
                  labels: { 'kubernetes.io/metadata.name': meta.name },
                },
              })
            : []),
        ]),
      },
    ];
    meta.managedFields = writeManagers(ms, this.entrySchemas(type));
    if (!meta.managedFields) delete meta.managedFields;
    if (ctx.dryRun) return obj;
    if (requestedRv && ctx.rejectResourceVersion) {
      // What etcd storage answers (a 500 without a reason); server-side apply accepts it.
      throw new StatusError(
        500,
        '',
        'resourceVersion should not be set on objects to be created',
      );
    }
    meta.resourceVersion = String(this.store.nextRv());
    this.store.put(type, obj);
    return obj;
  }

  /** PUT: replaces the object (or its status / scale), with optimistic concurrency. */
  update(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    body: KubeObject,
    ctx: WriteContext,
    subresource?: 'status',
  ): KubeObject {
    if (!isPlainObject(body) || !isPlainObject(body.metadata ?? {})) {
      throw errors.badRequest(
        'the object provided is not a valid Kubernetes object',
      );
    }
    checkTypeMeta(type, body);
    if (body.metadata?.name && body.metadata.name !== name) {
      throw errors.badRequest(
        `the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    // Decoding (schema checks) comes before the object is read, as on the real server.
    const next = deepClone(body);
    this.decodeFields(type, next, ctx);
    const old = this.get(type, namespace, name);
    const rv = body.metadata?.resourceVersion;
    if (rv && rv !== old.metadata.resourceVersion) {
      throw errors.conflict(type.plural, type.group, name);
    }
    return this.commitUpdate(type, old, next, ctx, subresource, 'Update');
  }

  /** Writes a new version of `old`; `next` is the full desired object. */
  commitUpdate(
    type: ResourceType,
    old: KubeObject,
    next: KubeObject,
    ctx: WriteContext,
    subresource: 'status' | 'scale' | undefined,
    operation: 'Update' | 'Apply',
    managersOverride?: ManagerState[],
  ): KubeObject {
    const obj: KubeObject = next;
    obj.apiVersion = groupVersion(type);
    obj.kind = type.kind;
    obj.metadata = isPlainObject(obj.metadata) ? obj.metadata : {};
    if (subresource === 'status') {
      const status = obj.status;
      const annotations = obj.metadata.annotations;
      Object.keys(obj).forEach(k => delete obj[k]);
      Object.assign(obj, deepClone(old), { status });
      // The Deployment status strategy keeps metadata changes: the controller sets its revision
      // annotation with a status update, so the annotation does not bump the generation.
      if (isDeployment(type) && annotations !== undefined)
        obj.metadata.annotations = annotations;
    } else if (hasStatus(type)) {
      obj.status = deepClone(old.status);
      if (obj.status === undefined) delete obj.status;
    }
    const meta = obj.metadata;
    // Immutable metadata the client cannot change.
    meta.name = old.metadata.name;
    meta.uid = old.metadata.uid;
    meta.creationTimestamp = old.metadata.creationTimestamp;
    if (old.metadata.namespace) meta.namespace = old.metadata.namespace;
    else delete meta.namespace;
    if (old.metadata.generateName)
      meta.generateName = old.metadata.generateName;
    if (old.metadata.deletionTimestamp)
      meta.deletionTimestamp = old.metadata.deletionTimestamp;
    else delete meta.deletionTimestamp;
    if (old.metadata.deletionGracePeriodSeconds !== undefined)
      meta.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds;
    else delete meta.deletionGracePeriodSeconds;
    meta.managedFields = old.metadata.managedFields;
    if (!meta.managedFields) delete meta.managedFields;
    meta.resourceVersion = old.metadata.resourceVersion;
    omitEmptyMaps(obj);
    if (type.generation) {
      meta.generation = old.metadata.generation ?? 1;
      // Deployments also count annotation changes (they are copied to ReplicaSets), as the real server does.
      const annotationsChanged =
        isDeployment(type) &&
        !deepEqual(old.metadata.annotations ?? {}, meta.annotations ?? {});
      if (
        subresource !== 'status' &&
        (annotationsChanged || !deepEqual(specOf(old), specOf(obj)))
      ) {
        meta.generation += 1;
      }
    } else if (!meta.generation) {
      delete meta.generation;
    }
    checkShape(type, obj);
    ctx.guard?.(type, obj, old);
    this.admission.defaults(type, obj, old);
    omitEmptyMaps(obj);
    this.validate(type, obj, old);
    this.admission.validateAdmission?.(type, obj, old, {
      subresource,
      warnings: ctx.warnings,
    });
    const managers =
      managersOverride ??
      updateManagers(old, obj, ctx.manager, subresource, operation);
    const nextManaged = writeManagers(managers, this.entrySchemas(type));
    if (
      deepEqual(stripVolatile(obj), stripVolatile(old)) &&
      sameOwnership(nextManaged, old.metadata.managedFields)
    ) {
      // A no-op write keeps the resourceVersion and sends no watch event, as the real server does.
      // (A second manager applying the same values is not a no-op: it becomes a co-owner.)
      return old;
    }
    this.admission.admit(type, obj, old);
    meta.managedFields = nextManaged;
    if (!meta.managedFields) delete meta.managedFields;
    if (ctx.dryRun) return obj;
    if (
      meta.deletionTimestamp &&
      (meta.finalizers ?? []).length === 0 &&
      (meta.deletionGracePeriodSeconds ?? 0) === 0 &&
      !isNamespace(type)
    ) {
      return this.removeNow(type, obj);
    }
    meta.resourceVersion = String(this.store.nextRv());
    this.store.put(type, obj);
    return obj;
  }

  patch(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    patchType: PatchType,
    patchBody: unknown,
    ctx: WriteContext & { force?: boolean },
    subresource?: 'status' | 'scale',
  ): { object: KubeObject; created: boolean } {
    if (patchType === 'apply') {
      return this.apply(type, namespace, name, patchBody, ctx, subresource);
    }
    const old = this.get(type, namespace, name);
    const next = patchedCopy(old, patchType, patchBody);
    if (ctx.fieldValidation && this.schemas) {
      this.schemas.decodePatched(
        type,
        next,
        patchBody,
        patchType,
        ctx.fieldValidation,
        ctx.warnings ?? [],
      );
    }
    const rv = (next as KubeObject).metadata?.resourceVersion;
    if (rv && rv !== old.metadata.resourceVersion) {
      throw errors.conflict(type.plural, type.group, name);
    }
    return {
      object: this.commitUpdate(
        type,
        old,
        next as KubeObject,
        ctx,
        subresource,
        'Update',
      ),
      created: false,
    };
  }

  /** Server-side apply: create-or-update with field ownership and conflicts. */
  private apply(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    body: unknown,
    ctx: WriteContext & { force?: boolean },
    subresource?: 'status' | 'scale',
  ): { object: KubeObject; created: boolean } {
    if (!ctx.manager || ctx.manager === 'unknown') {
      throw errors.invalid('PatchOptions', 'meta.k8s.io', '', [
        {
          field: 'fieldManager',
          message: 'Required value: is required for apply patch',
          reason: 'FieldValueRequired',
        },
      ]);
    }
    if (!isPlainObject(body))
      throw errors.badRequest('the applied configuration is not an object');
    const applied = deepClone(body) as KubeObject;
    if (!applied.apiVersion || !applied.kind) {
      throw errors.badRequest('invalid object type: /, Kind=');
    }
    checkTypeMeta(type, applied);
    if (ctx.fieldValidation) this.schemas?.checkApply(type, name, applied);
    applied.metadata = isPlainObject(applied.metadata) ? applied.metadata : {};
    if (applied.metadata.name && applied.metadata.name !== name) {
      throw errors.badRequest(
        `the name of the object (${applied.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    const appliedPaths = new Set(leafFields(ownableView(applied, subresource)));
    const old = this.tryGet(type, namespace, name);
    if (!old) {
      if (subresource) throw errors.notFound(type.plural, type.group, name);
      applied.metadata.name = name;
      const object = this.create(type, namespace, applied, ctx, [
        {
          manager: ctx.manager,
          operation: 'Apply',
          apiVersion: groupVersion(type),
          time: nowIso(),
          paths: appliedPaths,
        },
      ]);
      return { object, created: true };
    }
    const managers = readManagers(old);
    const mine = managers.find(
      m =>
        m.manager === ctx.manager &&
        m.operation === 'Apply' &&
        m.subresource === subresource,
    );
    const others = managers.filter(m => m !== mine);
    const conflicts: Array<{ manager: ManagerState; path: string }> = [];
    const part = ownershipPart(subresource);
    for (const p of appliedPaths) {
      for (const m of others) {
        // Managers of the same part conflict across subresources: `spec.replicas` set through
        // `scale` conflicts with an apply of another value to the main resource.
        if (ownershipPart(m.subresource) !== part || !m.paths.has(p)) continue;
        if (deepEqual(readField(old, p), readField(applied, p))) continue;
        if (ctx.force) m.paths.delete(p);
        else conflicts.push({ manager: m, path: p });
      }
    }
    if (conflicts.length) {
      const causes = conflicts.map(c => ({
        reason: 'FieldManagerConflict',
        message: `conflict with ${describeManager(c.manager)}`,
        field: describeField(c.path),
      }));
      throw new StatusError(
        409,
        'Conflict',
        `Apply failed with ${conflicts.length} conflict${
          conflicts.length > 1 ? 's' : ''
        }: ${causes.map(c => `${c.message}: ${c.field}`).join('\n')}`,
        {
          name,
          ...(type.group ? { group: type.group } : {}),
          kind: type.plural,
          causes,
        },
      );
    }
    const next = deepClone(old);
    for (const p of mine?.paths ?? []) {
      if (appliedPaths.has(p)) continue;
      if (others.some(m => m.paths.has(p))) continue;
      removeField(next, p);
    }
    const merged = strategicMergePatch(
      next,
      {
        ...applied,
        metadata: { ...applied.metadata, resourceVersion: undefined },
      },
      '',
      false,
    ) as KubeObject;
    if (
      applied.metadata.resourceVersion &&
      applied.metadata.resourceVersion !== old.metadata.resourceVersion
    ) {
      throw errors.conflict(type.plural, type.group, name);
    }
    const time = nowIso();
    const nextManagers = [
      ...others,
      {
        manager: ctx.manager,
        operation: 'Apply' as const,
        apiVersion: groupVersion(type),
        time,
        subresource,
        paths: appliedPaths,
      },
    ];
    return {
      object: this.commitUpdate(
        type,
        old,
        merged,
        ctx,
        subresource,
        'Apply',
        nextManagers,
      ),
      created: false,
    };
  }

  delete(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    opts: DeleteOptions,
  ): { object: KubeObject; gone: boolean } {
    const old = this.get(type, namespace, name);
    if (
      opts.preconditions?.uid &&
      opts.preconditions.uid !== old.metadata.uid
    ) {
      // The real server names the kind here (`ConfigMap`, `Deployment.apps`), not the resource.
      throw errors.conflict(
        type.kind,
        type.group,
        name,
        `the UID in the precondition (${opts.preconditions.uid}) does not match the UID in record (${old.metadata.uid}). The object might have been deleted and then recreated`,
      );
    }
    if (
      opts.preconditions?.resourceVersion &&
      opts.preconditions.resourceVersion !== old.metadata.resourceVersion
    ) {
      throw errors.conflict(
        type.kind,
        type.group,
        name,
        `the ResourceVersion in the precondition (${opts.preconditions.resourceVersion}) does not match the ResourceVersion in record (${old.metadata.resourceVersion}). The object might have been modified`,
      );
    }
    if (isPod(type)) {
      const grace = podGracePeriod(old, opts.gracePeriodSeconds);
      const held = (old.metadata.finalizers ?? []).length > 0;
      if (opts.dryRun) return { object: old, gone: grace === 0 && !held };
      if (grace > 0 || held)
        return {
          object: this.deleteGracefully(type, old, grace),
          gone: false,
        };
      return { object: this.removeNow(type, old), gone: true };
    }
    if (opts.dryRun) return { object: old, gone: true };
    const finalizers = old.metadata.finalizers ?? [];
    // Orphan and Foreground deletes hold the object with a finalizer that the garbage collector
    // (the controller) removes once dependents are orphaned or deleted; the answer is the object.
    const policyFinalizer = isNamespace(type)
      ? undefined
      : PROPAGATION_FINALIZERS[opts.propagationPolicy ?? ''] ??
        type.deleteFinalizer;
    if (isNamespace(type) || finalizers.length > 0 || policyFinalizer) {
      if (old.metadata.deletionTimestamp) return { object: old, gone: false };
      const next = deepClone(old);
      next.metadata.deletionTimestamp = nowIso();
      // A CRD's own delete (which adds its cleanup finalizer) sets no grace period (crd/20-crd-delete.json).
      if (!isNamespace(type) && !type.deleteFinalizer) {
        next.metadata.deletionGracePeriodSeconds = 0;
        // Marking an object deleted bumps a generation it has (the generic registry's markAsDeleting:
        // delete/01-*, 02-* answer a Deployment of generation 1 with 2); a CRD's own delete does not.
        if ((next.metadata.generation ?? 0) > 0) next.metadata.generation! += 1;
      }
      type.markDeleting?.(next, next.metadata.deletionTimestamp!);
      if (policyFinalizer && !finalizers.includes(policyFinalizer))
        next.metadata.finalizers = [...finalizers, policyFinalizer];
      if (isNamespace(type))
        next.status = { ...(next.status ?? {}), phase: 'Terminating' };
      next.metadata.resourceVersion = String(this.store.nextRv());
      this.store.put(type, next);
      return { object: next, gone: false };
    }
    return { object: this.removeNow(type, old), gone: true };
  }

  /**
   * Graceful deletion of a pod bound to a node, as the real pod strategy: the pod stays with
   * `deletionTimestamp` = now + grace and `deletionGracePeriodSeconds` until its kubelet has stopped the
   * containers and deletes it with grace 0 (../shared/reference/kube-api/delete/10-*). A second delete may
   * only shorten the grace period; grace 0 removes it at once.
   */
  private deleteGracefully(type: ResourceType, old: KubeObject, grace: number) {
    const current = old.metadata.deletionGracePeriodSeconds;
    if (
      old.metadata.deletionTimestamp &&
      current !== undefined &&
      current <= grace
    )
      return old;
    const next = deepClone(old);
    next.metadata.deletionTimestamp = new Date(
      Math.floor(Date.now() / 1000) * 1000 + grace * 1000,
    )
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
    next.metadata.deletionGracePeriodSeconds = grace;
    next.metadata.resourceVersion = String(this.store.nextRv());
    this.store.put(type, next);
    return next;
  }

  /** Removes an object immediately; dependents are collected by the controller. */
  removeNow(type: ResourceType, obj: KubeObject): KubeObject {
    const final = deepClone(obj);
    final.metadata.resourceVersion = String(this.store.nextRv());
    // A pod removed at once (grace 0, or its kubelet's final delete) answers with deletionTimestamp now and
    // grace 0, also when an earlier graceful delete had set a later one (delete/10-pod-bound-delete-grace-0).
    if (isPod(type) && final.metadata.deletionGracePeriodSeconds !== 0) {
      final.metadata.deletionTimestamp = nowIso();
      final.metadata.deletionGracePeriodSeconds = 0;
    }
    this.store.remove(type, final);
    return final;
  }

  /** Removes `owner` from its dependents' ownerReferences (the garbage collector's orphan step). */
  orphanDependents(owner: KubeObject) {
    for (const dep of this.store.dependentsOf(owner.metadata.uid!)) {
      const t = this.registry.types.find(x => typeId(x) === dep.typeId);
      const obj = this.store.getById(dep.typeId, dep.key);
      if (!t || !obj) continue;
      const next = deepClone(obj);
      next.metadata.ownerReferences = (
        next.metadata.ownerReferences ?? []
      ).filter(o => o.uid !== owner.metadata.uid);
      if (next.metadata.ownerReferences!.length === 0)
        delete next.metadata.ownerReferences;
      this.commitUpdate(
        t,
        obj,
        next,
        { manager: 'kube-controller-manager' },
        undefined,
        'Update',
      );
    }
  }

  /** The decoder's schema check of a client body (see WriteContext.fieldValidation). */
  private decodeFields(type: ResourceType, obj: KubeObject, ctx: WriteContext) {
    if (!ctx.fieldValidation || !this.schemas) return;
    this.schemas.decode(type, obj, ctx.fieldValidation, ctx.warnings ?? []);
  }

  /** The kind's schema for shaping `managedFields` (none when schema validation is off or no document exists). */
  /**
   * The schema that shapes a `managedFields` entry of an object of `type`, by the entry's apiVersion: the
   * type's own, or that of another API's view of it (events.k8s.io/v1 for core Events).
   */
  private entrySchemas(
    type: ResourceType,
  ): (apiVersion: string) => FieldSetSchema | undefined {
    return apiVersion => {
      const view =
        apiVersion === groupVersion(type)
          ? undefined
          : this.registry.byApiVersionKind(apiVersion, type.kind);
      return this.fieldSetSchema(
        view && view.viewOf === type.plural ? view : type,
      );
    };
  }

  private fieldSetSchema(type: ResourceType): FieldSetSchema | undefined {
    const schema = this.schemas?.schemaFor(type);
    if (!schema) return undefined;
    return {
      root: schema.root,
      resolve: schema.resolve,
      custom: !!(schema.customResource || type.custom),
    };
  }

  private validate(
    type: ResourceType,
    obj: KubeObject,
    old: KubeObject | undefined,
  ) {
    const causes = this.admission.validate(type, obj, old);
    if (causes.length) {
      throw errors.invalid(
        type.kind,
        type.group,
        obj.metadata.name ?? '',
        causes,
      );
    }
  }
}

/** Refuses a body whose kind or apiVersion (when given) is not the resource's, with the real server's 400. */
export function checkTypeMeta(type: ResourceType, body: KubeObject) {
  if (body.kind && body.kind !== type.kind) {
    throw errors.badRequest(
      `the server could not find the requested resource: kind ${body.kind} does not match ${type.kind}`,
    );
  }
  if (body.apiVersion && body.apiVersion !== groupVersion(type)) {
    throw errors.badRequest(
      `the API version in the data (${
        body.apiVersion
      }) does not match the expected API version (${groupVersion(type)})`,
    );
  }
}

function isNamespace(type: ResourceType) {
  return type.plural === 'namespaces' && !type.group;
}

function isService(type: ResourceType) {
  return type.plural === 'services' && !type.group;
}

function isSecret(type: ResourceType) {
  return type.plural === 'secrets' && !type.group;
}

/**
 * A Secret as the server's decoding leaves it, which is what its creator owns: `stringData` merged into `data`
 * and `type` defaulted (fields/10-secret-empty-data.json, fields/14-secret-stringData.json).
 */
function decodedSecret(obj: KubeObject): KubeObject {
  const { stringData, ...rest } = obj as KubeObject & { stringData?: unknown };
  const data = {
    ...(isPlainObject(rest.data) ? rest.data : {}),
    ...(isPlainObject(stringData) ? stringData : {}),
  };
  return {
    ...rest,
    ...(Object.keys(data).length ? { data } : {}),
    type: rest.type ?? 'Opaque',
  } as KubeObject;
}

function isPod(type: ResourceType) {
  return type.plural === 'pods' && !type.group;
}

/**
 * The grace period a pod delete gets (the pod strategy's CheckGracefulDelete): the option, else the pod's
 * `terminationGracePeriodSeconds`; a negative one is 1; 0 for a pod no node has taken (nothing to stop)
 * and for one that has already finished.
 */
function podGracePeriod(pod: KubeObject, requested: number | undefined) {
  let grace = requested ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
  if (grace < 0) grace = 1;
  if (!pod.spec?.nodeName) return 0;
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return 0;
  return grace;
}

function isDeployment(type: ResourceType) {
  return type.group === 'apps' && type.plural === 'deployments';
}

function specOf(obj: KubeObject) {
  const { metadata, status, apiVersion, kind, ...rest } = obj;
  return rest;
}

function stripVolatile(obj: KubeObject) {
  const { managedFields, resourceVersion, ...meta } = obj.metadata;
  return { ...obj, metadata: meta };
}
