import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';

/** A schema node of an OpenAPI v3 document (only what kube-sim reads). */
export interface SchemaNode {
  type?: string;
  format?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode;
  allOf?: Array<{ $ref?: string }>;
  $ref?: string;
  oneOf?: SchemaNode[];
  anyOf?: SchemaNode[];
  required?: string[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  /** A value the server fills in when the field is left out (custom resources' structural defaulting). */
  default?: unknown;
  nullable?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-patch-strategy'?: string;
  'x-kubernetes-group-version-kind'?: Array<{
    group: string;
    version: string;
    kind: string;
  }>;
  [key: string]: unknown;
}

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, unknown>;
  components: { schemas: Record<string, SchemaNode> };
  [key: string]: unknown;
}

/** A served document: its text (what the real server sent, minified) and its ETag hash. */
export interface ServedDocument {
  text: string;
  hash: string;
  doc: OpenApiDocument;
}

/** Where the recorded documents live: `openapi/` at the package root (see scripts/import-openapi.js). */
function dataDir(): string {
  const dir = resolve(
    dirname(require.resolve('@internal/kube-sim/package.json')),
    'openapi',
  );
  if (!existsSync(dir)) {
    throw new Error(`kube-sim: the OpenAPI documents are missing from ${dir}`);
  }
  return dir;
}

export function openApiHash(text: string): string {
  return createHash('sha512').update(text).digest('hex').toUpperCase();
}

/** The key of a group-version in `/openapi/v3`: `api/v1` or `apis/<group>/<version>`. */
export function openApiKey(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

/**
 * The real OpenAPI v3 documents of a v1.26 API server, loaded lazily (each is parsed on first use
 * and kept). Only group-versions that were recorded are available.
 */
export class RecordedOpenApi {
  private readonly cache = new Map<string, ServedDocument | null>();
  private dir: string | undefined;

  /** The recorded document of a group-version, if there is one. */
  document(group: string, version: string): ServedDocument | undefined {
    const key = openApiKey(group, version);
    if (!this.cache.has(key)) this.cache.set(key, this.load(key) ?? null);
    return this.cache.get(key) ?? undefined;
  }

  private load(key: string): ServedDocument | undefined {
    this.dir = this.dir ?? dataDir();
    const file = resolve(this.dir, `${key.replace(/\//g, '_')}.json.gz`);
    if (!existsSync(file)) return undefined;
    const text = gunzipSync(readFileSync(file)).toString('utf8');
    return {
      text,
      hash: openApiHash(text),
      doc: JSON.parse(text) as OpenApiDocument,
    };
  }
}

/** The recorded documents, shared by every kube-sim in the process (they never change). */
export const recordedOpenApi = new RecordedOpenApi();
