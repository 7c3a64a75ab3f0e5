import { IncomingMessage, ServerResponse } from 'node:http';
import { FaultState } from '../faults';
import {
  DeleteOptions,
  KubeApi,
  ListOptions,
  PatchType,
  WriteContext,
} from './api';
import { Authenticator, UserInfo } from './auth';
import { Discovery, VERSION_INFO } from './discovery';
import { groupVersion, ResourceType, typeId } from './resources';
import {
  parseFieldSelector,
  parseLabelSelector,
  selectorToString,
} from './selectors';
import { jsonMergePatch, jsonPatch } from './patch';
import { RbacAuthorizer } from './rbac/authorizer';
import { escalationGuard } from './rbac/escalation';
import { requestAttributes } from './rbac/requestInfo';
import { AccessReviews } from './rbac/reviews';
import { errors, PlainTextError, StatusError } from './status';
import { ServiceAccountTokens } from './tokens';
import { toTable, wantsTable } from './table';
import {
  metadataRequest,
  partialForGet,
  partialForList,
} from './partialMetadata';
import { serveWatch } from './watch';
import { serveEventsV1 } from './eventsV1Handler';
import { duplicateFields } from './duplicateFields';
import { duplicateYamlKeys } from './duplicateYamlKeys';
import { recordedOpenApi } from '../schema/openapi';
import { OpenApiServer } from '../schema/serve';
import { parseFieldValidation, warningHeader } from '../schema/validation';
import {
  bool,
  checkAccept,
  checkSecretData,
  managerFromUserAgent,
  mediaType,
  parseBody,
  readBody,
  rejectWatchListOptions,
  send,
  sendList,
  sendStatus,
} from './wire';
import { deepClone, isPlainObject, KubeObject } from './types';

/** What the simulated kubelet and metrics server add to the API. */
export interface ApiExtensions {
  podLog(
    pod: KubeObject,
    container: string,
    opts: { previous: boolean; tailLines?: number },
  ): string[];
  podMetrics(pods: KubeObject[]): KubeObject[];
  nodeMetrics(nodes: KubeObject[]): KubeObject[];
}

export interface HandlerOptions {
  api: KubeApi;
  auth: Authenticator;
  rbac: RbacAuthorizer;
  tokens: ServiceAccountTokens;
  faults: FaultState;
  extensions: ApiExtensions;
  bookmarkIntervalMs: number;
  serverAddress: () => string;
}

interface ResourceRequest {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
  watchPath: boolean;
}

/** Builds the request handler: auth, faults, discovery, OpenAPI and the resource REST API. */
export function createHandler(opts: HandlerOptions) {
  const { api, auth, faults, extensions } = opts;
  const discovery = new Discovery(api.registry);
  const openapi = new OpenApiServer(api.registry, recordedOpenApi, (g, v) =>
    discovery.openApiDoc(g, v),
  );
  const reviews = new AccessReviews(opts.rbac, (user, attrs) =>
    auth.decide(user, attrs),
  );

  function parseResourcePath(parts: string[]): ResourceRequest | undefined {
    let group = '';
    let version: string;
    let rest: string[];
    if (parts[0] === 'api') {
      version = parts[1];
      rest = parts.slice(2);
    } else {
      group = parts[1];
      version = parts[2];
      rest = parts.slice(3);
    }
    let watchPath = false;
    if (rest[0] === 'watch') {
      watchPath = true;
      rest = rest.slice(1);
    }
    if (rest.length === 0) return undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      const inner = api.registry.find(group, version, rest[2]);
      if (inner?.namespaced) {
        if (rest.length > 5) return undefined;
        return {
          type: inner,
          namespace: rest[1],
          name: rest[3],
          subresource: rest[4],
          watchPath,
        };
      }
    }
    const type = api.registry.find(group, version, rest[0]);
    if (!type || rest.length > 3) return undefined;
    return { type, name: rest[1], subresource: rest[2], watchPath };
  }

  async function handleResource(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    user: UserInfo,
    r: ResourceRequest,
  ) {
    const { type, namespace, name, subresource } = r;
    const q = url.searchParams;
    const method = req.method ?? 'GET';
    // The deprecated /watch/ paths serve GET only: any other method was authorized as `watch`
    // (requestInfo.ts) and is answered 405 by the router, which writes nothing.
    if (r.watchPath && method !== 'GET') throw errors.methodNotAllowed();
    let verb: string;
    if (method === 'GET' && r.watchPath) verb = 'watch';
    // `?watch` turns a collection GET into a watch, as it does for authorization; a named GET ignores it.
    else if (method === 'GET' && !name)
      verb = bool(q.get('watch')) ? 'watch' : 'list';
    else if (method === 'GET') verb = 'get';
    else if (method === 'POST') verb = 'create';
    else if (method === 'PUT') verb = 'update';
    else if (method === 'PATCH') verb = 'patch';
    else if (method === 'DELETE') verb = name ? 'delete' : 'deletecollection';
    else throw errors.methodNotAllowed();
    if (name && verb === 'create' && subresource !== 'token')
      throw errors.methodNotAllowed();
    if (!name && (verb === 'update' || verb === 'patch'))
      throw errors.methodNotAllowed();
    const resourceName = subresource
      ? `${type.plural}/${subresource}`
      : type.plural;

    const failure = faults.match(verb, resourceName, namespace);
    if (failure) {
      const code = failure.status ?? 500;
      const reasons: Record<number, string> = {
        400: 'BadRequest',
        401: 'Unauthorized',
        403: 'Forbidden',
        404: 'NotFound',
        409: 'Conflict',
        429: 'TooManyRequests',
        503: 'ServiceUnavailable',
        504: 'Timeout',
      };
      throw new StatusError(
        code,
        reasons[code] ?? (code >= 500 ? 'InternalError' : 'BadRequest'),
        `kube-sim: injected failure for ${verb} ${resourceName}`,
      );
    }
    if (subresource) {
      const allowed = type.subresources ?? [];
      if (!allowed.includes(subresource as any))
        throw errors.resourceNotFound();
      if ((subresource === 'token') !== (verb === 'create'))
        throw errors.methodNotAllowed();
    }
    if (!type.verbs.includes(verb as any) && !subresource)
      throw errors.methodNotAllowed();
    if (type.namespaced && !namespace && !['list', 'watch'].includes(verb)) {
      if (verb === 'create' || verb === 'deletecollection')
        throw errors.methodNotAllowed();
      throw errors.resourceNotFound();
    }

    checkAccept(req, res);
    if (type.virtual) {
      handleMetrics(res, r, q);
      return;
    }

    const manager = q.get('fieldManager') || managerFromUserAgent(req);
    // Create/Update/PatchOptions come from the query; DeleteOptions are checked in deleteOptions().
    const optionsKind = (
      {
        create: 'CreateOptions',
        update: 'UpdateOptions',
        patch: 'PatchOptions',
      } as Record<string, string>
    )[verb];
    if (optionsKind) checkDryRun(optionsKind, q.getAll('dryRun'));
    const dryRun = q.getAll('dryRun').includes('All');
    if (type.review) {
      const body = parseBody(await readBody(req), mediaType(req));
      send(
        res,
        201,
        reviews.create(type.plural, namespace, body, user, manager),
      );
      return;
    }
    const warnings: string[] = [];
    const ctx = {
      manager,
      dryRun,
      fieldValidation: parseFieldValidation(q.get('fieldValidation')),
      warnings,
      guard:
        type.group === 'rbac.authorization.k8s.io'
          ? escalationGuard(
              opts.rbac,
              (u, a) => auth.decide(u, a).allowed,
              user,
              name ?? '',
            )
          : undefined,
    };

    // Unknown fields dropped from a write are reported as `Warning` headers on its answer.
    const sendWritten = (code: number, body: unknown) => {
      if (warnings.length)
        res.setHeader('Warning', warnings.map(warningHeader));
      send(res, code, body);
    };

    try {
      if (type.viewOf) await serveView();
      else await serveVerb();
    } catch (e) {
      // The real server reports dropped fields even when the write then fails validation.
      if (warnings.length && !res.headersSent)
        res.setHeader('Warning', warnings.map(warningHeader));
      throw e;
    }

    /**
     * A JSON body with a key twice in one object: the last value counts (JSON.parse), reported as the
     * strict decoder does: a `duplicate field` Warning, or with `Strict` the 400 (fields/05-*.json).
     */
    function reportDuplicateFields(raw: Buffer, yamlBody = false) {
      if (ctx.fieldValidation === 'Ignore') return;
      if (yamlBody || mediaType(req) === 'application/yaml') {
        // fields/07-apply-duplicate-key-*.json: a Warning per key, or with Strict the YAML decoder's 400.
        const keys = duplicateYamlKeys(raw.toString('utf8'));
        if (keys.length === 0) return;
        if (ctx.fieldValidation === 'Strict') {
          throw errors.badRequest(
            `error strict decoding YAML: error converting YAML to JSON: yaml: unmarshal errors:\n  ${keys.join(
              '\n  ',
            )}`,
          );
        }
        warnings.push(...keys);
        return;
      }
      if (mediaType(req) !== 'application/json') return;
      const found = duplicateFields(raw.toString('utf8')).map(
        path => `duplicate field "${path}"`,
      );
      if (found.length === 0) return;
      if (ctx.fieldValidation === 'Strict') {
        throw errors.badRequest(
          `${type.kind} in version "${type.version}" cannot be handled as a ${
            type.kind
          }: strict decoding error: ${found.join(', ')}`,
        );
      }
      warnings.push(...found);
    }

    /** events.k8s.io/v1: the core Events, converted (see eventsV1.ts). */
    async function serveView() {
      const patchType = verb === 'patch' ? patchTypeOf(req) : undefined;
      // A patch body is parsed as the core handler parses it: its media type names the patch, not the body.
      let bodyType = mediaType(req);
      if (patchType === 'apply') bodyType = 'application/yaml';
      else if (patchType) bodyType = 'application/json';
      await serveEventsV1({
        api,
        req,
        res,
        q,
        verb,
        view: type,
        namespace,
        name,
        ctx,
        force: bool(q.get('force')),
        patchType,
        body: async () => parseBody(await readBody(req), bodyType),
        sendWritten,
        listOptions,
        deleteOptions: body => deleteOptions(body, q),
        watch: (stored, viewQuery, convert) =>
          watch(stored, viewQuery, { type, convert }),
      });
    }

    function watch(
      watched: ResourceType,
      query: URLSearchParams,
      view?: { type: ResourceType; convert: (o: KubeObject) => KubeObject },
    ) {
      rejectWatchListOptions(query);
      const fields = parseFieldSelector(
        query.get('fieldSelector') ?? undefined,
        typeId(watched),
      );
      if (name)
        fields.push({ field: 'metadata.name', value: name, negate: false });
      serveWatch(api, opts.bookmarkIntervalMs, req, res, watched, namespace, {
        labels: parseLabelSelector(query.get('labelSelector') ?? undefined),
        fields,
        resourceVersion: query.get('resourceVersion') ?? '',
        bookmarks: bool(query.get('allowWatchBookmarks')),
        timeoutSeconds: Number(query.get('timeoutSeconds') ?? 0),
        table: wantsTable(req.headers.accept),
        metadataVersion: wantsTable(req.headers.accept)
          ? undefined
          : metadataRequest(req.headers.accept)?.version,
        view,
        hang: {
          now: () => faults.isHung(resourceName, namespace),
          beforeHeaders: () =>
            faults.isHungBeforeHeaders(resourceName, namespace),
          onHang: listener => faults.onHang(listener),
          held: () => {
            faults.held++;
            return () => faults.held--;
          },
        },
      });
    }

    async function serveVerb() {
      switch (verb) {
        case 'get': {
          const obj = api.get(type, namespace, name!);
          if (subresource === 'log') {
            handleLog(res, obj, q);
            return;
          }
          if (subresource === 'scale') {
            send(res, 200, toScale(obj));
            return;
          }
          const partial =
            !subresource && !wantsTable(req.headers.accept)
              ? metadataRequest(req.headers.accept)
              : undefined;
          if (partial) {
            send(res, 200, partialForGet(type, obj, partial));
            return;
          }
          if (!subresource && wantsTable(req.headers.accept)) {
            send(
              res,
              200,
              toTable(
                type,
                [obj],
                { resourceVersion: obj.metadata.resourceVersion },
                q.get('includeObject') ?? undefined,
              ),
            );
            return;
          }
          send(res, 200, obj);
          return;
        }
        case 'list': {
          const list = api.list(type, namespace, listOptions(type, q));
          if (wantsTable(req.headers.accept)) {
            send(
              res,
              200,
              toTable(
                type,
                list.items,
                list.metadata,
                q.get('includeObject') ?? undefined,
              ),
            );
            return;
          }
          const partial = metadataRequest(req.headers.accept);
          if (partial) {
            send(res, 200, partialForList(type, list, partial));
            return;
          }
          sendList(res, list, !!type.custom);
          return;
        }
        case 'watch':
          watch(type, q);
          return;
        case 'create': {
          if (subresource === 'token') {
            const sa = api.get(type, namespace, name!);
            const body = parseBody(await readBody(req), mediaType(req));
            send(res, 201, opts.tokens.request(sa, body));
            return;
          }
          const raw = await readBody(req);
          const body = parseBody(raw, mediaType(req), type.kind);
          reportDuplicateFields(raw);
          checkSecretData(type, body);
          const created = api.create(type, namespace, body as KubeObject, {
            ...ctx,
            rejectResourceVersion: true,
          });
          sendWritten(201, created);
          return;
        }
        case 'update': {
          const raw = await readBody(req);
          const body = parseBody(raw, mediaType(req), type.kind) as KubeObject;
          reportDuplicateFields(raw);
          if (!subresource) checkSecretData(type, body);
          if (subresource === 'scale') {
            send(res, 200, updateScale(type, namespace, name!, body, ctx));
            return;
          }
          sendWritten(
            200,
            api.update(
              type,
              namespace,
              name!,
              body,
              ctx,
              subresource as 'status' | undefined,
            ),
          );
          return;
        }
        case 'patch': {
          const patchType = patchTypeOf(req);
          if (patchType === 'strategic' && type.custom) {
            // Custom resources have no strategic merge (no Go struct tags to read keys from).
            throw new StatusError(
              415,
              'UnsupportedMediaType',
              'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
            );
          }
          const raw = await readBody(req);
          const body = parseBody(
            raw,
            patchType === 'apply' ? 'application/yaml' : 'application/json',
          );
          if (patchType === 'apply') {
            reportDuplicateFields(raw, true);
            if (!subresource) checkSecretData(type, body, name!);
          }
          if (subresource === 'scale' && patchType === 'apply') {
            send(res, 200, applyScale(type, namespace, name!, body, ctx, q));
            return;
          }
          if (subresource === 'scale') {
            const current = toScale(api.get(type, namespace, name!));
            const patched =
              patchType === 'json'
                ? jsonPatch(current, body)
                : jsonMergePatch(current, body);
            send(
              res,
              200,
              updateScale(type, namespace, name!, patched as KubeObject, ctx),
            );
            return;
          }
          const { object, created } = api.patch(
            type,
            namespace,
            name!,
            patchType,
            body,
            {
              ...ctx,
              force: bool(q.get('force')),
              manager:
                q.get('fieldManager') ?? (patchType === 'apply' ? '' : manager),
            },
            subresource as 'status' | undefined,
          );
          sendWritten(created ? 201 : 200, object);
          return;
        }
        case 'delete': {
          const options = deleteOptions(
            parseBody(await readBody(req), mediaType(req)),
            q,
          );
          const { object, gone } = api.delete(type, namespace, name!, options);
          // Pods and Services answer the object even when it is gone at once, as the real server does.
          if (
            !gone ||
            (!type.group &&
              (type.plural === 'pods' || type.plural === 'services'))
          ) {
            send(res, 200, object);
          } else {
            send(res, 200, {
              kind: 'Status',
              apiVersion: 'v1',
              metadata: {},
              status: 'Success',
              details: {
                name: object.metadata.name,
                ...(type.group ? { group: type.group } : {}),
                kind: type.plural,
                uid: object.metadata.uid,
              },
            });
          }
          return;
        }
        case 'deletecollection': {
          const options = deleteOptions(
            parseBody(await readBody(req), mediaType(req)),
            q,
          );
          const victims = api.select(type, namespace, listOptions(type, q));
          const deleted = victims.map(
            v =>
              api.delete(type, v.metadata.namespace, v.metadata.name!, options)
                .object,
          );
          send(res, 200, {
            kind: `${type.kind}List`,
            apiVersion: groupVersion(type),
            metadata: { resourceVersion: String(api.store.currentRv()) },
            items: deleted.map(({ kind, apiVersion, ...rest }) => rest),
          });
          return;
        }
        default:
          throw errors.methodNotAllowed();
      }
    }
  }

  function patchTypeOf(req: IncomingMessage): PatchType {
    const patchType: PatchType | undefined = (
      {
        'application/json-patch+json': 'json',
        'application/merge-patch+json': 'merge',
        'application/strategic-merge-patch+json': 'strategic',
        'application/apply-patch+yaml': 'apply',
        'application/apply-patch+json': 'apply',
      } as Record<string, PatchType>
    )[mediaType(req)];
    if (!patchType) throw errors.unsupportedPatchType();
    return patchType;
  }

  function listOptions(type: ResourceType, q: URLSearchParams): ListOptions {
    const limit = Number(q.get('limit') ?? 0);
    return {
      labels: parseLabelSelector(q.get('labelSelector') ?? undefined),
      fields: parseFieldSelector(
        q.get('fieldSelector') ?? undefined,
        typeId(type),
      ),
      limit:
        Number.isFinite(limit) && limit > 0 ? Math.floor(limit) : undefined,
      continueToken: q.get('continue') || undefined,
    };
  }

  function deleteOptions(body: unknown, q: URLSearchParams): DeleteOptions {
    const b = isPlainObject(body) ? body : {};
    let policy = (b.propagationPolicy ??
      q.get('propagationPolicy') ??
      undefined) as DeleteOptions['propagationPolicy'] | undefined;
    if (b.orphanDependents === true || q.get('orphanDependents') === 'true')
      policy = 'Orphan';
    // Checked before the object is looked up (delete/05-delete-invalid-propagation.json), in the
    // order of the API server's ValidateDeleteOptions: propagationPolicy, then dryRun.
    const causes: Array<{ field: string; message: string; reason: string }> =
      [];
    if (
      policy !== undefined &&
      !['Foreground', 'Background', 'Orphan'].includes(policy)
    ) {
      causes.push({
        field: 'propagationPolicy',
        message: `Unsupported value: ${JSON.stringify(
          policy,
        )}: supported values: "Foreground", "Background", "Orphan", "nil"`,
        reason: 'FieldValueNotSupported',
      });
    }
    // A DeleteOptions body carries its own dryRun; without one the query parameter counts.
    const dryRunValues =
      b.dryRun !== undefined && b.dryRun !== null
        ? (Array.isArray(b.dryRun) ? b.dryRun : [b.dryRun]).map(String)
        : q.getAll('dryRun');
    const dryRunCause = unsupportedDryRun(dryRunValues);
    if (dryRunCause) causes.push(dryRunCause);
    if (causes.length)
      throw errors.invalid('DeleteOptions', 'meta.k8s.io', '', causes);
    const grace = b.gracePeriodSeconds ?? q.get('gracePeriodSeconds');
    return {
      propagationPolicy: policy,
      ...(grace !== undefined &&
      grace !== null &&
      grace !== '' &&
      Number.isFinite(Number(grace))
        ? { gracePeriodSeconds: Math.trunc(Number(grace)) }
        : {}),
      preconditions: isPlainObject(b.preconditions)
        ? b.preconditions
        : undefined,
      dryRun: dryRunValues.length > 0,
    };
  }

  /**
   * The API server's ValidateDryRun: every `dryRun` value must be `All`. Anything else (`true`,
   * `server`, `all`) is refused, so a client that meant a dry run never writes for real.
   */
  function unsupportedDryRun(values: string[]) {
    if (values.every(v => v === 'All')) return undefined;
    // Go prints the []string with %#v.
    return {
      field: 'dryRun',
      message: `Unsupported value: []string{${values
        .map(v => JSON.stringify(v))
        .join(', ')}}: supported values: "All"`,
      reason: 'FieldValueNotSupported',
    };
  }

  /** Create/Update/PatchOptions validation: 422 `<Kind>Options.meta.k8s.io "" is invalid`. */
  function checkDryRun(optionsKind: string, values: string[]) {
    const cause = unsupportedDryRun(values);
    if (cause) throw errors.invalid(optionsKind, 'meta.k8s.io', '', [cause]);
  }

  function toScale(obj: KubeObject) {
    const selector = obj.spec?.selector;
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: obj.metadata.name,
        namespace: obj.metadata.namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
        creationTimestamp: obj.metadata.creationTimestamp,
      },
      spec: { replicas: obj.spec?.replicas ?? 0 },
      status: {
        replicas: obj.status?.replicas ?? 0,
        selector: selector ? selectorToString(selector) : '',
      },
    };
  }

  function checkReplicas(name: string, replicas: unknown): number {
    if (!Number.isInteger(replicas) || (replicas as number) < 0) {
      throw errors.invalid('Scale', 'autoscaling', name, [
        {
          field: 'spec.replicas',
          message: `Invalid value: ${replicas}: must be greater than or equal to 0`,
        },
      ]);
    }
    return replicas as number;
  }

  /**
   * Server-side apply of a Scale: the applied replicas become the parent's, owned by the
   * manager's Apply entry with `subresource: scale` (conflicting with other owners unless forced).
   */
  function applyScale(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    body: unknown,
    ctx: WriteContext,
    q: URLSearchParams,
  ) {
    const scale = body as KubeObject;
    if (
      !isPlainObject(scale) ||
      scale.apiVersion !== 'autoscaling/v1' ||
      scale.kind !== 'Scale'
    ) {
      throw errors.badRequest(
        'the applied configuration of a scale subresource must be an autoscaling/v1 Scale',
      );
    }
    const metadata = isPlainObject(scale.metadata) ? scale.metadata : {};
    const spec = isPlainObject(scale.spec) ? scale.spec : {};
    const applied: KubeObject = {
      apiVersion: groupVersion(type),
      kind: type.kind,
      metadata: {
        name: metadata.name ?? name,
        ...(metadata.resourceVersion
          ? { resourceVersion: metadata.resourceVersion }
          : {}),
      },
      ...(spec.replicas !== undefined
        ? { spec: { replicas: checkReplicas(name, spec.replicas) } }
        : {}),
    };
    const { object } = api.patch(
      type,
      namespace,
      name,
      'apply',
      applied,
      {
        ...ctx,
        force: bool(q.get('force')),
        manager: q.get('fieldManager') ?? '',
      },
      'scale',
    );
    return toScale(object);
  }

  function updateScale(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    scale: KubeObject,
    ctx: { manager: string; dryRun: boolean },
  ) {
    const current = api.get(type, namespace, name);
    const replicas = checkReplicas(name, scale?.spec?.replicas);
    if (
      scale.metadata?.resourceVersion &&
      scale.metadata.resourceVersion !== current.metadata.resourceVersion
    ) {
      throw errors.conflict(type.plural, type.group, name);
    }
    const next = deepClone(current);
    next.spec = { ...next.spec, replicas };
    return toScale(
      // Recorded on the parent as the writer's entry with `subresource: scale`.
      api.commitUpdate(type, current, next, ctx, 'scale', 'Update'),
    );
  }

  function handleLog(res: ServerResponse, pod: KubeObject, q: URLSearchParams) {
    const containers: string[] = (pod.spec?.containers ?? []).map(
      (c: any) => c.name,
    );
    let container = q.get('container') ?? undefined;
    if (!container) {
      if (containers.length !== 1) {
        throw errors.badRequest(
          `a container name must be specified for pod ${
            pod.metadata.name
          }, choose one of: [${containers.join(' ')}]`,
        );
      }
      container = containers[0];
    }
    if (!containers.includes(container)) {
      throw errors.badRequest(
        `container ${container} is not valid for pod ${pod.metadata.name}`,
      );
    }
    const tail = q.get('tailLines');
    const lines = extensions.podLog(pod, container, {
      previous: bool(q.get('previous')),
      tailLines: tail ? Number(tail) : undefined,
    });
    let text = lines.map(l => `${l}\n`).join('');
    // limitBytes: the first bytes of the selected lines (a real API server may cut mid-line, and so
    // does this one; it says it may return slightly more or less, this returns exactly that many).
    const limitBytes = q.get('limitBytes');
    if (limitBytes !== null) {
      const n = Number(limitBytes);
      if (!Number.isInteger(n) || n < 1) {
        // As the API server's pod log options validation answers.
        throw errors.invalid('PodLogOptions', '', pod.metadata.name ?? '', [
          {
            field: 'limitBytes',
            message: `Invalid value: ${limitBytes}: must be greater than 0`,
          },
        ]);
      }
      const bytes = Buffer.from(text);
      if (bytes.length > n) text = bytes.subarray(0, n).toString('utf8');
    }
    const status = (pod.status?.containerStatuses ?? []).find(
      (c: any) => c.name === container,
    );
    const follow =
      bool(q.get('follow')) &&
      !bool(q.get('previous')) &&
      status?.ready === true;
    if (!follow) {
      res.writeHead(200, {
        'Content-Type': 'text/plain',
        'Content-Length': Buffer.byteLength(text),
      });
      res.end(text);
      return;
    }
    // follow=true on a healthy container: keep the stream open and log a health check every second
    // until the client hangs up or the pod goes away.
    res.writeHead(200, {
      'Content-Type': 'text/plain',
      'Transfer-Encoding': 'chunked',
    });
    res.write(text);
    const podType = api.registry.find('', 'v1', 'pods')!;
    let n = 0;
    const timer = setInterval(() => {
      const current = api.tryGet(
        podType,
        pod.metadata.namespace,
        pod.metadata.name!,
      );
      if (!current || current.metadata.uid !== pod.metadata.uid) {
        clearInterval(timer);
        res.end();
        return;
      }
      n += 1;
      res.write(
        `${new Date().toISOString()} INFO  GET /healthz 200 ${1 + (n % 3)}ms\n`,
      );
    }, 1000);
    res.on('close', () => clearInterval(timer));
  }

  function handleMetrics(
    res: ServerResponse,
    r: ResourceRequest,
    q: URLSearchParams,
  ) {
    const coreType = api.registry.find('', 'v1', r.type.plural)!;
    const labels = parseLabelSelector(q.get('labelSelector') ?? undefined);
    const source = r.name
      ? [api.get(coreType, r.namespace, r.name)]
      : api.select(coreType, r.namespace, { labels });
    const items =
      r.type.plural === 'pods'
        ? extensions.podMetrics(source)
        : extensions.nodeMetrics(source);
    if (r.name) {
      if (items.length === 0)
        throw errors.notFound(r.type.plural, r.type.group, r.name);
      send(res, 200, items[0]);
      return;
    }
    send(res, 200, {
      kind: `${r.type.kind}List`,
      apiVersion: groupVersion(r.type),
      metadata: {},
      items: items.map(({ kind, apiVersion, ...rest }) => rest),
    });
  }

  return async function handle(req: IncomingMessage, res: ServerResponse) {
    // A client that hangs up mid-request must not take the server down with it.
    req.on('error', () => {});
    res.on('error', () => {});
    try {
      if (faults.latencyMs > 0) {
        await new Promise(resolve => setTimeout(resolve, faults.latencyMs));
      }
      const url = new URL(req.url ?? '/', 'http://kube-sim');
      const path = url.pathname.replace(/\/+$/, '') || '/';
      const requestor = auth.authenticate(req.headers.authorization);
      const user = auth.impersonate(req, requestor);
      if (faults.errorRate > 0 && Math.random() < faults.errorRate) {
        throw new StatusError(
          503,
          'ServiceUnavailable',
          'kube-sim: injected error (the server is currently unable to handle the request)',
        );
      }
      let parts: string[];
      try {
        parts = path.split('/').filter(Boolean).map(decodeURIComponent);
      } catch {
        throw errors.badRequest(`invalid URL path: ${path}`);
      }
      auth.authorize(
        user,
        requestAttributes(
          req.method ?? 'GET',
          parts,
          url.pathname,
          url.searchParams,
        ),
      );
      const isResource =
        (parts[0] === 'api' && parts.length > 2) ||
        (parts[0] === 'apis' && parts.length > 3);
      if (!isResource) {
        if (req.method !== 'GET' && req.method !== 'HEAD')
          throw errors.methodNotAllowed();
        if (openapi.handle(req, res, url)) return;
        const doc = nonResource(path, parts);
        if (doc === undefined) {
          res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
          res.end('404 page not found\n');
          return;
        }
        if (typeof doc === 'string') {
          res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
          res.end(doc);
          return;
        }
        send(res, 200, doc);
        return;
      }
      const r = parseResourcePath(parts);
      if (!r) {
        const known =
          parts[0] === 'api'
            ? discovery.resourceList('', parts[1])
            : discovery.resourceList(parts[1], parts[2]);
        if (!known) {
          res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
          res.end('404 page not found\n');
          return;
        }
        throw errors.resourceNotFound();
      }
      await handleResource(req, res, url, user, r);
    } catch (e) {
      if (e instanceof PlainTextError) {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        res.writeHead(e.code, {
          'Content-Type': 'text/plain; charset=utf-8',
          'X-Content-Type-Options': 'nosniff',
        });
        res.end(`${e.message}\n`);
      } else if (e instanceof StatusError) {
        sendStatus(res, e);
      } else {
        sendStatus(res, errors.internal((e as Error)?.message ?? String(e)));
      }
    }
  };

  function nonResource(path: string, parts: string[]): unknown {
    if (path === '/version') return VERSION_INFO;
    if (path === '/healthz' || path === '/livez' || path === '/readyz')
      return 'ok';
    if (path === '/api') return discovery.coreVersions(opts.serverAddress());
    if (path === '/apis') return discovery.groupList();
    if (parts[0] === 'api' && parts.length === 2)
      return discovery.resourceList('', parts[1]);
    if (parts[0] === 'apis' && parts.length === 2)
      return discovery.group(parts[1]);
    if (parts[0] === 'apis' && parts.length === 3)
      return discovery.resourceList(parts[1], parts[2]);
    return undefined;
  }
}
