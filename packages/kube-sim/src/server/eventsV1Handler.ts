import { IncomingMessage, ServerResponse } from 'node:http';
import {
  checkTypeMeta,
  DeleteOptions,
  KubeApi,
  ListOptions,
  PatchType,
  WriteContext,
} from './api';
import {
  coreEventFieldSelector,
  fromEventsV1,
  toEventsV1,
  validateEventsV1Create,
} from './eventsV1';
import { ownableView } from './managedFields';
import { leafFields, patchedCopy } from './patch';
import { groupVersion, ResourceType } from './resources';
import { errors } from './status';
import { deepClone, isPlainObject, KubeObject, nowIso } from './types';
import { send, sendList } from './wire';

/** What the handler has worked out about a request to a converted view (events.k8s.io/v1 Events). */
export interface ViewRequest {
  api: KubeApi;
  res: ServerResponse;
  req: IncomingMessage;
  q: URLSearchParams;
  verb: string;
  view: ResourceType;
  namespace?: string;
  name?: string;
  ctx: WriteContext;
  body: () => Promise<unknown>;
  patchType?: PatchType;
  force: boolean;
  sendWritten: (code: number, body: unknown) => void;
  /** The handler's list options, parsed against the stored (core) resource. */
  listOptions: (stored: ResourceType, q: URLSearchParams) => ListOptions;
  deleteOptions: (body: unknown) => DeleteOptions;
  watch: (
    stored: ResourceType,
    q: URLSearchParams,
    convert: (o: KubeObject) => KubeObject,
  ) => void;
}

/**
 * Serves events.k8s.io/v1 from the core/v1 Events: reads are converted to the new shape, writes are
 * converted to the core shape (after the view's own schema check), as the real server's conversion does.
 */
export async function serveEventsV1(r: ViewRequest): Promise<void> {
  const { api, view, namespace, name, ctx } = r;
  const stored = api.registry.find('', 'v1', view.viewOf!)!;
  // Field selectors speak the view's names (regarding.name); the store knows the core ones.
  const q = new URLSearchParams(r.q);
  const selector = coreEventFieldSelector(r.q.get('fieldSelector'));
  if (selector !== undefined) q.set('fieldSelector', selector);
  // The view is checked against its own schema; the core write then has nothing left to check.
  const coreCtx: WriteContext = { ...ctx, fieldValidation: undefined };
  const decode = (body: KubeObject) => {
    if (ctx.fieldValidation && api.schemas)
      api.schemas.decode(view, body, ctx.fieldValidation, ctx.warnings ?? []);
  };
  const readBodyObject = async () => {
    const body = await r.body();
    if (!isPlainObject(body) || !isPlainObject(body.metadata ?? {}))
      throw errors.badRequest(
        'the object provided is not a valid Kubernetes object',
      );
    checkTypeMeta(view, body as KubeObject);
    return deepClone(body) as KubeObject;
  };
  const ownership = (body: KubeObject, operation: 'Update' | 'Apply') => [
    {
      manager: ctx.manager,
      operation,
      apiVersion: groupVersion(view),
      time: nowIso(),
      paths: new Set(leafFields(ownableView(body))),
    },
  ];

  switch (r.verb) {
    case 'get':
      send(r.res, 200, toEventsV1(api.get(stored, namespace, name!)));
      return;
    case 'list': {
      const list = api.list(stored, namespace, r.listOptions(stored, q));
      sendList(r.res, {
        kind: 'EventList',
        apiVersion: groupVersion(view),
        metadata: list.metadata,
        items: list.items.map(toEventsV1),
      });
      return;
    }
    case 'watch':
      r.watch(stored, q, toEventsV1);
      return;
    case 'create': {
      const body = await readBodyObject();
      decode(body);
      validateEventsV1Create(body);
      const created = api.create(
        stored,
        namespace,
        fromEventsV1(body),
        { ...coreCtx, rejectResourceVersion: true },
        ownership(body, 'Update'),
      );
      r.sendWritten(201, toEventsV1(created));
      return;
    }
    case 'update': {
      const body = await readBodyObject();
      decode(body);
      r.sendWritten(
        200,
        toEventsV1(
          api.update(stored, namespace, name!, fromEventsV1(body), coreCtx),
        ),
      );
      return;
    }
    case 'patch': {
      const patch = await r.body();
      if (r.patchType === 'apply') {
        if (!isPlainObject(patch))
          throw errors.badRequest('the applied configuration is not an object');
        checkTypeMeta(view, patch as KubeObject);
        if (ctx.fieldValidation) api.schemas?.checkApply(view, name!, patch);
        const { object, created } = api.patch(
          stored,
          namespace,
          name!,
          'apply',
          fromEventsV1(patch as KubeObject),
          { ...coreCtx, force: r.force },
        );
        r.sendWritten(created ? 201 : 200, toEventsV1(object));
        return;
      }
      const current = toEventsV1(api.get(stored, namespace, name!));
      const patchType = r.patchType as 'json' | 'merge' | 'strategic';
      const next = patchedCopy(current, patchType, patch);
      if (ctx.fieldValidation && api.schemas) {
        api.schemas.decodePatched(
          view,
          next,
          patch,
          patchType,
          ctx.fieldValidation,
          ctx.warnings ?? [],
        );
      }
      r.sendWritten(
        200,
        toEventsV1(
          api.update(
            stored,
            namespace,
            name!,
            fromEventsV1(next as KubeObject),
            coreCtx,
          ),
        ),
      );
      return;
    }
    case 'delete': {
      const { object, gone } = api.delete(
        stored,
        namespace,
        name!,
        r.deleteOptions(await r.body()),
      );
      send(
        r.res,
        200,
        gone
          ? {
              kind: 'Status',
              apiVersion: 'v1',
              metadata: {},
              status: 'Success',
              details: {
                name: object.metadata.name,
                group: view.group,
                kind: view.plural,
                uid: object.metadata.uid,
              },
            }
          : toEventsV1(object),
      );
      return;
    }
    case 'deletecollection': {
      const options = r.deleteOptions(await r.body());
      const victims = api.select(stored, namespace, r.listOptions(stored, q));
      const deleted = victims.map(
        v =>
          api.delete(stored, v.metadata.namespace, v.metadata.name!, options)
            .object,
      );
      send(r.res, 200, {
        kind: 'EventList',
        apiVersion: groupVersion(view),
        metadata: { resourceVersion: String(api.store.currentRv()) },
        items: deleted.map(o => {
          const { kind, apiVersion, ...rest } = toEventsV1(o);
          return rest;
        }),
      });
      return;
    }
    default:
      throw errors.methodNotAllowed();
  }
}
