import { IncomingMessage, ServerResponse } from 'node:http';
import yaml from 'js-yaml';
import { decodeProtobufBody } from './protobuf';
import { ResourceType } from './resources';
import { errors, StatusError } from './status';
import { isPlainObject, KubeObject } from './types';

/**
 * The HTTP side of kube-sim's handler: reading and decoding request bodies (with the real server's
 * 400/415 answers), writing JSON answers and lists, and the request checks that come before the API.
 */
const MAX_BODY = 3 * 1024 * 1024;

/** List items as JSON (without kind/apiVersion, as lists show them), cached per stored object. */
const itemJson = new WeakMap<KubeObject, string>();

export function serializeItem(obj: KubeObject): string {
  let json = itemJson.get(obj);
  if (json === undefined) {
    const { kind, apiVersion, ...rest } = obj;
    json = JSON.stringify(rest);
    itemJson.set(obj, json);
  }
  return json;
}

/** Writes a list, reusing each stored object's cached JSON: large lists cost a string join. */
export function sendList(
  res: ServerResponse,
  list: {
    kind: string;
    apiVersion: string;
    metadata: unknown;
    items: KubeObject[];
  },
  /** Custom resources are unstructured: their list items keep kind and apiVersion (crd/12-cr-list.json). */
  keepTypeMeta = false,
) {
  const item = keepTypeMeta
    ? (o: KubeObject) => JSON.stringify(o)
    : serializeItem;
  const text = `{"kind":${JSON.stringify(
    list.kind,
  )},"apiVersion":${JSON.stringify(
    list.apiVersion,
  )},"metadata":${JSON.stringify(list.metadata)},"items":[${list.items
    .map(item)
    .join(',')}]}`;
  writeText(res, 200, text);
}

/** Answers the client asked to have as YAML (`Accept: application/yaml` first), see {@link checkAccept}. */
const yamlAnswers = new WeakSet<ServerResponse>();

/** JSON as the API server's YAML serializer writes it: keys sorted, lists not indented, `"` quotes. */
function toYaml(value: unknown): string {
  return yaml.dump(value, {
    sortKeys: true,
    noArrayIndent: true,
    quotingType: '"',
    lineWidth: -1,
  });
}

function writeText(
  res: ServerResponse,
  code: number,
  json: string,
  parsed?: unknown,
) {
  const asYaml = yamlAnswers.has(res);
  const text = asYaml ? toYaml(parsed ?? JSON.parse(json)) : json;
  res.writeHead(code, {
    'Content-Type': asYaml ? 'application/yaml' : 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-cache, private',
  });
  res.end(text);
}

export function send(res: ServerResponse, code: number, body: unknown) {
  writeText(res, code, JSON.stringify(body));
}

export function sendStatus(res: ServerResponse, err: StatusError) {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  send(res, err.code, err.toStatus());
}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(
          new StatusError(
            413,
            'RequestEntityTooLarge',
            'Request entity too large: limit is 3145728',
          ),
        );
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function mediaType(req: IncomingMessage): string {
  return String(req.headers['content-type'] ?? 'application/json')
    .split(';')[0]
    .trim()
    .toLowerCase();
}

const BODY_TYPES = new Set([
  'application/json',
  'application/yaml',
  'application/vnd.kubernetes.protobuf',
]);

/**
 * Decodes a request body. `kind` is the kind a create or update expects: a body that does not parse
 * then gets the decoder's wording with the first 30 bytes (transformDecodeError/summarizeData, as
 * ../shared/reference/kube-api/fields/15-malformed-json.json).
 */
export function parseBody(body: Buffer, type: string, kind?: string): unknown {
  if (type === 'application/vnd.kubernetes.protobuf')
    return decodeProtobufBody(body);
  const text = body.toString('utf8');
  if (text.trim() === '') return undefined;
  if (!BODY_TYPES.has(type)) throw errors.unsupportedMediaType();
  try {
    // A key set twice keeps its last value, as the server's YAML decoder; duplicateYamlKeys reports it.
    if (type.includes('yaml')) return yaml.load(text, { json: true });
    return JSON.parse(text);
  } catch (e) {
    const first = (e as Error).message.split('\n')[0];
    // Go's wording for the common case; other syntax errors keep the JavaScript parser's text.
    const at = first.match(/at position (\d+)/);
    const atEnd =
      /^Unexpected end of JSON input/.test(first) ||
      (at !== null && Number(at[1]) >= text.trimEnd().length);
    const why = atEnd ? 'unexpected end of JSON input' : first;
    const message = `couldn't get version/kind; json parse error: ${why}`;
    if (!kind) throw errors.badRequest(message);
    throw errors.badRequest(
      `the object provided is unrecognized (must be of type ${kind}): ${message} (${summarizeData(
        body,
      )})`,
    );
  }
}

function summarizeData(data: Buffer, max = 30): string {
  if (data.length === 0) return '<empty>';
  if (data[0] === 0x7b /* { */)
    return data.length > max
      ? `${data.subarray(0, max).toString('utf8')} ...`
      : data.toString('utf8');
  return data.length > max
    ? `${data.subarray(0, max).toString('hex')} ...`
    : data.toString('hex');
}

const REPRESENTATIONS = [
  'application/json',
  'application/yaml',
  'application/vnd.kubernetes.protobuf',
];

/**
 * A request whose Accept names no representation the server has gets the real 406
 * (fields/15-accept-xml.json). No Accept, `*\/*` and `application/*` accept JSON; when
 * `application/yaml` comes first, the answer (errors too) is YAML (fields/15-accept-yaml.json).
 */
export function checkAccept(req: IncomingMessage, res?: ServerResponse) {
  const accept = req.headers.accept;
  if (!accept) return;
  const types = accept
    .split(',')
    .map(t => t.split(';')[0].trim().toLowerCase())
    .filter(Boolean);
  const served = types.find(
    t => REPRESENTATIONS.includes(t) || t === '*/*' || t === 'application/*',
  );
  if (types.length === 0 || served) {
    if (served === 'application/yaml' && res) yamlAnswers.add(res);
    return;
  }
  throw new StatusError(
    406,
    'NotAcceptable',
    `406: Not Acceptable\n\nAvailable representations: ${REPRESENTATIONS.join(
      ', ',
    )}`,
    {},
  );
}

/**
 * A boolean query parameter (the first value of it) as the API server decodes one
 * (`Convert_Slice_string_To_bool`): absent, `0` and `false` (in any case) are false; any other value,
 * the empty string included (`?watch=`, `?watch=yes`), is true. The request-info resolver decides
 * `watch` the same way, so authorization and serving agree.
 */
export function bool(v: string | null) {
  if (v === null) return false;
  return v !== '0' && v.toLowerCase() !== 'false';
}

/** v1.26 refuses `resourceVersionMatch` on a watch (422); `sendInitialEvents` alone it ignores. */
export function rejectWatchListOptions(q: URLSearchParams) {
  if (!q.get('resourceVersionMatch')) return;
  const causes = [
    {
      reason: 'FieldValueForbidden',
      message: 'Forbidden: resourceVersionMatch is forbidden for watch',
      field: 'resourceVersionMatch',
    },
  ];
  if (!q.get('resourceVersion')) {
    causes.push({
      reason: 'FieldValueForbidden',
      message:
        'Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided',
      field: 'resourceVersionMatch',
    });
  }
  const summary = causes.map(c => `${c.field}: ${c.message}`).join(', ');
  throw new StatusError(
    422,
    'Invalid',
    `ListOptions.meta.k8s.io "" is invalid: ${
      causes.length > 1 ? `[${summary}]` : summary
    }`,
    { group: 'meta.k8s.io', kind: 'ListOptions', causes },
  );
}

const BASE64 = /^[A-Za-z0-9+/]$/;

/** Where Go's standard base64 decoder stops on `value` (`illegal base64 data at input byte N`), if it does. */
export function base64ErrorOffset(value: string): number | undefined {
  const s = value.replace(/[\r\n]/g, '');
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '=') {
      const rest = s.slice(i);
      const quantumPos = i % 4;
      if (
        (quantumPos === 2 && rest === '==') ||
        (quantumPos === 3 && rest === '=')
      )
        return undefined;
      return i;
    }
    if (!BASE64.test(c)) return i;
  }
  return s.length % 4 === 0 ? undefined : s.length - (s.length % 4);
}

/**
 * A Secret whose `data` is not base64 cannot be decoded, as the real server answers: 400 on create and update
 * (fields/14-secret-bad-base64.json), and on server-side apply (`applyName` set) the 500 of converting the applied
 * object, with no reason (fields/14-secret-bad-base64-apply.json).
 */
export function checkSecretData(
  type: ResourceType,
  body: unknown,
  applyName?: string,
) {
  if (type.group || type.plural !== 'secrets' || !isPlainObject(body)) return;
  if (!isPlainObject(body.data)) return;
  for (const v of Object.values(body.data)) {
    if (typeof v !== 'string') continue;
    const offset = base64ErrorOffset(v);
    if (offset === undefined) continue;
    if (applyName !== undefined) {
      const meta = isPlainObject(body.metadata) ? body.metadata : {};
      const ns = typeof meta.namespace === 'string' ? meta.namespace : '';
      throw new StatusError(
        500,
        '',
        `failed to convert new object (${ns}/${applyName}; /v1, Kind=Secret) to proper version: unable to convert unstructured object to /v1, Kind=Secret: error decoding from json: illegal base64 data at input byte ${offset}`,
      );
    }
    throw errors.badRequest(
      `Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte ${offset}`,
    );
  }
}

export function managerFromUserAgent(req: IncomingMessage): string {
  const ua = String(req.headers['user-agent'] ?? '');
  const first = ua.split('/')[0].trim();
  return first || 'unknown';
}
