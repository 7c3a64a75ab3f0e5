import { IncomingMessage, ServerResponse } from 'node:http';
import { ResourceRegistry } from '../server/resources';
import { openApiHash, openApiKey, RecordedOpenApi } from './openapi';
import { openApiV2Protobuf } from './openapiV2Protobuf';

/** A document of one group-version kube-sim makes up when no real one was recorded. */
export type FallbackDocument = (group: string, version: string) => unknown;

interface Served {
  text: string | Buffer;
  hash: string;
}

const V2_PROTOBUF =
  'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

/**
 * `/openapi/v3`, `/openapi/v3/<group-version>` and `/openapi/v2`, answered as a v1.26 server
 * answers them (reference openapi/README): the recorded documents for the group-versions kube-sim
 * serves, `text/plain` Content-Type, ETags, `?hash=` caching and its 301, 304 on If-None-Match.
 */
export class OpenApiServer {
  private readonly extra = new Map<string, () => unknown>();
  private v2: Served | undefined;
  private v2Protobuf: { from: Served; served: Served } | undefined;
  private v2Generation = -1;
  private generation = 0;

  constructor(
    private readonly registry: ResourceRegistry,
    private readonly recorded: RecordedOpenApi,
    private readonly fallback: FallbackDocument,
  ) {}

  /** Serves a made-up document for a group-version (custom resources), replacing any other. */
  setDocument(
    group: string,
    version: string,
    doc: (() => unknown) | undefined,
  ) {
    const key = openApiKey(group, version);
    if (doc) this.extra.set(key, doc);
    else this.extra.delete(key);
    this.generation += 1;
  }

  /** Answers the request if it is an OpenAPI path; returns false otherwise. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    const path = url.pathname.replace(/\/+$/, '');
    if (path === '/openapi/v2') {
      if (String(req.headers.accept ?? '').includes(V2_PROTOBUF)) {
        // As the v3 documents in protobuf (openapi/README): the answer's type is application/octet-stream.
        this.write(
          req,
          res,
          url,
          this.swaggerProtobuf(),
          'application/octet-stream',
        );
        return true;
      }
      this.write(req, res, url, this.swagger(), 'application/json');
      return true;
    }
    if (path === '/openapi/v3') {
      const paths: Record<string, { serverRelativeURL: string }> = {};
      for (const key of this.keys()) {
        const doc = this.document(key)!;
        paths[key] = {
          serverRelativeURL: `/openapi/v3/${key}?hash=${doc.hash}`,
        };
      }
      const text = JSON.stringify({ paths });
      this.write(req, res, url, { text, hash: openApiHash(text) });
      return true;
    }
    if (!path.startsWith('/openapi/v3/')) return false;
    const doc = this.document(path.slice('/openapi/v3/'.length));
    if (!doc) {
      res.writeHead(404, { 'Content-Length': 0 });
      res.end();
      return true;
    }
    const hash = url.searchParams.get('hash');
    if (hash !== null && hash !== doc.hash) {
      const location = `${url.pathname}?hash=${doc.hash}`;
      const html = `<a href="${location}">Moved Permanently</a>.\n\n`;
      res.writeHead(301, {
        Location: location,
        'Content-Type': 'text/html; charset=utf-8',
        'Content-Length': Buffer.byteLength(html),
      });
      res.end(html);
      return true;
    }
    this.write(req, res, url, doc);
    return true;
  }

  private keys(): string[] {
    const keys = this.registry
      .groupVersions()
      .filter(gv =>
        this.registry
          .inGroupVersion(gv.group, gv.version)
          .some(t => !t.virtual),
      )
      .map(gv => openApiKey(gv.group, gv.version));
    for (const k of this.extra.keys()) if (!keys.includes(k)) keys.push(k);
    return keys.sort();
  }

  private document(key: string): Served | undefined {
    const custom = this.extra.get(key);
    if (custom) {
      const text = JSON.stringify(custom());
      return { text, hash: openApiHash(text) };
    }
    if (!this.keys().includes(key)) return undefined;
    const m = key.match(/^(?:api\/([^/]+)|apis\/([^/]+)\/([^/]+))$/);
    if (!m) return undefined;
    const group = m[1] ? '' : m[2];
    const version = m[1] ?? m[3];
    const recorded = this.recorded.document(group, version);
    if (recorded) return recorded;
    const text = JSON.stringify(this.fallback(group, version));
    return { text, hash: openApiHash(text) };
  }

  private write(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    doc: Served,
    contentType = 'text/plain; charset=utf-8',
  ) {
    const etag = `"${doc.hash}"`;
    const cache =
      url.searchParams.get('hash') === doc.hash
        ? 'public, immutable'
        : 'no-cache, private';
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, {
        Etag: etag,
        'Cache-Control': cache,
        Vary: 'Accept',
      });
      res.end();
      return;
    }
    res.writeHead(200, {
      'Content-Type': contentType,
      'Content-Length': Buffer.byteLength(doc.text),
      Etag: etag,
      'Cache-Control': cache,
      Vary: 'Accept',
    });
    res.end(req.method === 'HEAD' ? undefined : doc.text);
  }

  /** The same document in protobuf (see openapiV2Protobuf.ts). */
  private swaggerProtobuf(): Served {
    const json = this.swagger();
    if (this.v2Protobuf?.from !== json) {
      const bytes = openApiV2Protobuf(JSON.parse(String(json.text)));
      this.v2Protobuf = {
        from: json,
        served: { text: bytes, hash: openApiHash(bytes.toString('base64')) },
      };
    }
    return this.v2Protobuf.served;
  }

  /** Swagger 2.0 built from the v3 documents: their schemas as definitions, their operations as paths. */
  private swagger(): Served {
    if (this.v2 && this.v2Generation === this.generation) return this.v2;
    const definitions: Record<string, unknown> = {};
    const paths: Record<string, unknown> = {};
    for (const key of this.keys()) {
      const doc = JSON.parse(String(this.document(key)!.text)) as {
        paths?: Record<string, Record<string, any>>;
        components?: { schemas?: Record<string, unknown> };
      };
      for (const [name, def] of Object.entries(doc.components?.schemas ?? {}))
        definitions[name] = toV2Schema(def);
      for (const [p, item] of Object.entries(doc.paths ?? {})) {
        paths[p] = toV2PathItem(item);
      }
    }
    const text = JSON.stringify({
      swagger: '2.0',
      info: { title: 'Kubernetes', version: 'v1.26.1' },
      paths,
      definitions,
    }).replace(/#\/components\/schemas\//g, '#/definitions/');
    this.v2 = { text, hash: openApiHash(text) };
    this.v2Generation = this.generation;
    return this.v2;
  }
}

/**
 * v3 wraps a reference as `{allOf: [{$ref}], default: {}}`; Swagger 2.0 (and a real server's /openapi/v2) has a
 * plain `$ref` beside the description, which clients walking the schema (`kubectl explain`) need.
 */
function toV2Schema(schema: any): any {
  if (Array.isArray(schema)) return schema.map(toV2Schema);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Record<string, any> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'properties' && v && typeof v === 'object') {
      out[k] = Object.fromEntries(
        Object.entries(v as object).map(([n, s]) => [n, toV2Schema(s)]),
      );
    } else if (k === 'items' || k === 'additionalProperties' || k === 'allOf') {
      out[k] = toV2Schema(v);
    } else {
      out[k] = v;
    }
  }
  if (
    Array.isArray(out.allOf) &&
    out.allOf.length === 1 &&
    typeof out.allOf[0]?.$ref === 'string'
  ) {
    out.$ref = out.allOf[0].$ref;
    delete out.allOf;
    if (
      out.default &&
      typeof out.default === 'object' &&
      Object.keys(out.default).length === 0
    )
      delete out.default;
  }
  return out;
}

function toV2Parameter(p: any) {
  if (!p || typeof p !== 'object') return p;
  const { schema, ...rest } = p;
  if (p.in === 'body' || !schema) return p;
  return {
    ...rest,
    ...(schema.type ? { type: schema.type } : {}),
    ...(schema.uniqueItems ? { uniqueItems: true } : {}),
  };
}

function toV2PathItem(item: Record<string, any>) {
  const out: Record<string, unknown> = {};
  for (const [method, op] of Object.entries(item)) {
    if (method === 'parameters') {
      out.parameters = (op as any[]).map(toV2Parameter);
      continue;
    }
    if (!op || typeof op !== 'object') {
      out[method] = op;
      continue;
    }
    const { requestBody, responses, parameters, ...rest } = op as any;
    const params = (parameters ?? []).map(toV2Parameter);
    const bodySchema = requestBody?.content
      ? (Object.values(requestBody.content)[0] as any)?.schema
      : undefined;
    if (bodySchema)
      params.push({
        name: 'body',
        in: 'body',
        required: true,
        schema: bodySchema,
      });
    const v2Responses: Record<string, unknown> = {};
    for (const [code, r] of Object.entries(
      (responses ?? {}) as Record<string, any>,
    )) {
      const schema = r?.content
        ? (Object.values(r.content)[0] as any)?.schema
        : undefined;
      v2Responses[code] = {
        description: r?.description ?? '',
        ...(schema ? { schema } : {}),
      };
    }
    out[method] = {
      ...rest,
      ...(requestBody?.content
        ? { consumes: Object.keys(requestBody.content) }
        : {}),
      parameters: params,
      responses: v2Responses,
    };
  }
  return out;
}
