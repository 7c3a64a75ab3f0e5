import { GENERIC_KINDS, MESSAGES } from './protobufMessages';
import { errors, StatusError } from './status';
import { KubeObject } from './types';

/**
 * Decodes the Kubernetes protobuf request bodies real clients send: the 4 bytes `k8s\0`, then a
 * `runtime.Unknown` whose `raw` field holds the object message. Secrets and ConfigMaps (helm stores its
 * releases that way), DeleteOptions and the authorization.k8s.io access reviews (`kubectl auth can-i`)
 * have decoders of their own; the kinds `kubectl create` sends (Deployments, Namespaces, Services…) are
 * read through the field tables of protobufMessages.ts.
 */

type Field = { no: number; wire: number; value: Buffer | number | bigint };

function readVarint(buf: Buffer, pos: { i: number }): bigint {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos.i >= buf.length) throw new Error('truncated varint');
    const b = buf[pos.i++];
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return result;
    shift += 7n;
    if (shift > 70n) throw new Error('varint too long');
  }
}

function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  const pos = { i: 0 };
  while (pos.i < buf.length) {
    const tag = Number(readVarint(buf, pos));
    const no = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) {
      out.push({ no, wire, value: readVarint(buf, pos) });
    } else if (wire === 2) {
      const len = Number(readVarint(buf, pos));
      if (pos.i + len > buf.length) throw new Error('truncated field');
      out.push({ no, wire, value: buf.subarray(pos.i, pos.i + len) });
      pos.i += len;
    } else if (wire === 1) {
      pos.i += 8;
    } else if (wire === 5) {
      pos.i += 4;
    } else {
      throw new Error(`unsupported wire type ${wire}`);
    }
  }
  return out;
}

const str = (f: Field) => (f.value as Buffer).toString('utf8');
const bytes = (f: Field) => f.value as Buffer;

function mapEntry(buf: Buffer): [string, Buffer] {
  let key = '';
  let value: Buffer = Buffer.alloc(0);
  for (const f of fields(buf)) {
    if (f.no === 1) key = str(f);
    if (f.no === 2) value = bytes(f);
  }
  return [key, value];
}

function decodeTime(buf: Buffer): string | undefined {
  let seconds = 0n;
  for (const f of fields(buf)) if (f.no === 1) seconds = f.value as bigint;
  return seconds
    ? `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}Z`
    : undefined;
}

function decodeOwnerReference(buf: Buffer) {
  const ref: Record<string, any> = {};
  for (const f of fields(buf)) {
    if (f.no === 1) ref.kind = str(f);
    if (f.no === 3) ref.name = str(f);
    if (f.no === 4) ref.uid = str(f);
    if (f.no === 5) ref.apiVersion = str(f);
    if (f.no === 6) ref.controller = f.value === 1n;
    if (f.no === 7) ref.blockOwnerDeletion = f.value === 1n;
  }
  return ref;
}

function decodeObjectMeta(buf: Buffer) {
  const meta: Record<string, any> = {};
  const setIf = (k: string, v: string) => {
    if (v !== '') meta[k] = v;
  };
  for (const f of fields(buf)) {
    switch (f.no) {
      case 1:
        setIf('name', str(f));
        break;
      case 2:
        setIf('generateName', str(f));
        break;
      case 3:
        setIf('namespace', str(f));
        break;
      case 5:
        setIf('uid', str(f));
        break;
      case 6:
        setIf('resourceVersion', str(f));
        break;
      case 7:
        if (Number(f.value)) meta.generation = Number(f.value);
        break;
      case 8: {
        const t = decodeTime(bytes(f));
        if (t) meta.creationTimestamp = t;
        break;
      }
      case 11:
      case 12: {
        const [k, v] = mapEntry(bytes(f));
        const target = f.no === 11 ? 'labels' : 'annotations';
        meta[target] = { ...(meta[target] ?? {}), [k]: v.toString('utf8') };
        break;
      }
      case 13:
        meta.ownerReferences = [
          ...(meta.ownerReferences ?? []),
          decodeOwnerReference(bytes(f)),
        ];
        break;
      case 14:
        meta.finalizers = [...(meta.finalizers ?? []), str(f)];
        break;
      default:
        break;
    }
  }
  return meta;
}

function decodeSecret(buf: Buffer): KubeObject {
  const obj: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: {} };
  for (const f of fields(buf)) {
    if (f.no === 1) obj.metadata = decodeObjectMeta(bytes(f));
    if (f.no === 2 || f.no === 4) {
      const [k, v] = mapEntry(bytes(f));
      obj.data = { ...(obj.data ?? {}), [k]: v.toString('base64') };
    }
    if (f.no === 3) obj.type = str(f);
    if (f.no === 5) obj.immutable = f.value === 1n;
  }
  return obj;
}

const RESOURCE_ATTRIBUTES = [
  'namespace',
  'verb',
  'group',
  'version',
  'resource',
  'subresource',
  'name',
];

/** A message of string fields numbered in `names` order (field 1 = names[0]…). */
function decodeStrings(buf: Buffer, names: string[]) {
  const out: Record<string, string> = {};
  for (const f of fields(buf)) {
    const name = names[f.no - 1];
    if (name && f.wire === 2) out[name] = str(f);
  }
  return out;
}

/** authorization.k8s.io/v1 access reviews, which kubectl (`auth can-i`) sends as protobuf. */
function decodeAccessReview(kind: string, buf: Buffer): KubeObject {
  const obj: KubeObject = {
    apiVersion: 'authorization.k8s.io/v1',
    kind,
    metadata: {},
    spec: {},
  };
  for (const f of fields(buf)) {
    if (f.no === 1) obj.metadata = decodeObjectMeta(bytes(f));
    if (f.no !== 2) continue;
    for (const g of fields(bytes(f))) {
      if (kind === 'SelfSubjectRulesReview') {
        if (g.no === 1) obj.spec.namespace = str(g);
        continue;
      }
      if (g.no === 1)
        obj.spec.resourceAttributes = decodeStrings(
          bytes(g),
          RESOURCE_ATTRIBUTES,
        );
      if (g.no === 2)
        obj.spec.nonResourceAttributes = decodeStrings(bytes(g), [
          'path',
          'verb',
        ]);
      if (
        kind === 'SubjectAccessReview' ||
        kind === 'LocalSubjectAccessReview'
      ) {
        if (g.no === 3) obj.spec.user = str(g);
        if (g.no === 4) obj.spec.groups = [...(obj.spec.groups ?? []), str(g)];
        if (g.no === 6) obj.spec.uid = str(g);
      }
    }
  }
  return obj;
}

const ACCESS_REVIEWS = new Set([
  'SelfSubjectAccessReview',
  'SelfSubjectRulesReview',
  'SubjectAccessReview',
  'LocalSubjectAccessReview',
]);

function decodeConfigMap(buf: Buffer): KubeObject {
  const obj: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} };
  for (const f of fields(buf)) {
    if (f.no === 1) obj.metadata = decodeObjectMeta(bytes(f));
    if (f.no === 2) {
      const [k, v] = mapEntry(bytes(f));
      obj.data = { ...(obj.data ?? {}), [k]: v.toString('utf8') };
    }
    if (f.no === 3) {
      const [k, v] = mapEntry(bytes(f));
      obj.binaryData = { ...(obj.binaryData ?? {}), [k]: v.toString('base64') };
    }
    if (f.no === 4) obj.immutable = f.value === 1n;
  }
  return obj;
}

function decodeDeleteOptions(buf: Buffer): KubeObject {
  const obj: Record<string, any> = {
    apiVersion: 'v1',
    kind: 'DeleteOptions',
    metadata: {},
  };
  for (const f of fields(buf)) {
    if (f.no === 1) obj.gracePeriodSeconds = Number(f.value);
    if (f.no === 3) obj.orphanDependents = f.value === 1n;
    if (f.no === 4) obj.propagationPolicy = str(f);
    if (f.no === 2) {
      const pre: Record<string, string> = {};
      for (const p of fields(bytes(f))) {
        if (p.no === 1) pre.uid = str(p);
        if (p.no === 2) pre.resourceVersion = str(p);
      }
      obj.preconditions = pre;
    }
  }
  return obj as KubeObject;
}

/** A field a table does not list, or of another wire type than listed: the body is refused, never half-read. */
class UnknownField extends Error {}

const isEmpty = (f: Field) =>
  f.wire === 0
    ? f.value === 0n
    : f.wire === 2 && (f.value as Buffer).length === 0;

function decodeScalar(type: string, f: Field, at: string): unknown {
  if (type === 'int' && f.wire === 0)
    return Number(BigInt.asIntN(64, f.value as bigint));
  if (type === 'bool' && f.wire === 0) return f.value !== 0n;
  if (type === 'string' && f.wire === 2) return str(f);
  if (type === 'bytes' && f.wire === 2) return bytes(f).toString('base64');
  throw new UnknownField(`${at}: wire type ${f.wire} is not ${type}`);
}

function decodeSpecial(type: string, buf: Buffer): unknown {
  const fs = fields(buf);
  if (type === 'Quantity') {
    const q = fs.find(f => f.no === 1);
    return q ? str(q) : '';
  }
  if (type === 'IntOrString') {
    let kind = 0n;
    let intVal = 0;
    let strVal = '';
    for (const f of fs) {
      if (f.no === 1) kind = f.value as bigint;
      if (f.no === 2) intVal = Number(BigInt.asIntN(32, f.value as bigint));
      if (f.no === 3) strVal = str(f);
    }
    return kind === 1n ? strVal : intVal;
  }
  // Time: seconds and nanos; the zero time is JSON null (dropped).
  let seconds = 0n;
  for (const f of fs)
    if (f.no === 1) seconds = BigInt.asIntN(64, f.value as bigint);
  return seconds
    ? `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}Z`
    : undefined;
}

const SPECIAL = new Set(['Time', 'Quantity', 'IntOrString']);

function decodeValue(type: string, f: Field, at: string): unknown {
  if (SPECIAL.has(type)) {
    if (f.wire !== 2) throw new UnknownField(`${at}: not a message`);
    return decodeSpecial(type, bytes(f));
  }
  if (MESSAGES[type]) {
    if (f.wire !== 2) throw new UnknownField(`${at}: not a message`);
    return decodeMessage(type, bytes(f), at);
  }
  return decodeScalar(type, f, at);
}

/**
 * One message as the JSON a Go client would have sent: messages that are on the wire become objects (a
 * non-pointer struct is `{}` in JSON even when empty, as `resources: {}`), zero scalars are dropped unless
 * the field is a pointer, the zero Time and an IntOrString of 0 in a non-pointer field too.
 */
function decodeMessage(type: string, buf: Buffer, at: string) {
  const table = MESSAGES[type];
  const out: Record<string, any> = {};
  for (const f of fields(buf)) {
    const def = table[f.no];
    if (!def) {
      if (isEmpty(f)) continue;
      throw new UnknownField(`${at}: field ${f.no} of ${type}`);
    }
    const [json, fieldType, flags = ''] = def;
    const path = `${at}.${json}`;
    if (flags.includes('m')) {
      let key = '';
      let value: unknown =
        SPECIAL.has(fieldType) || MESSAGES[fieldType] ? {} : '';
      for (const e of fields(bytes(f))) {
        if (e.no === 1) key = str(e);
        if (e.no === 2) value = decodeValue(fieldType, e, `${path}.${key}`);
      }
      out[json] = { ...(out[json] ?? {}), [key]: value };
      continue;
    }
    if (flags.includes('r')) {
      out[json] = [...(out[json] ?? []), decodeValue(fieldType, f, path)];
      continue;
    }
    const value = decodeValue(fieldType, f, path);
    if (value === undefined) continue;
    if (flags.includes('i')) {
      Object.assign(out, value);
      continue;
    }
    if (!flags.includes('p') && !MESSAGES[fieldType]) {
      if (value === '' || value === 0 || value === false) continue;
    }
    out[json] = value;
  }
  return out;
}

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

export function decodeProtobufBody(body: Buffer): KubeObject {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) {
    throw errors.badRequest(
      'provided protobuf data does not start with the Kubernetes prefix k8s\\x00',
    );
  }
  try {
    let apiVersion = '';
    let kind = '';
    let raw: Buffer = Buffer.alloc(0);
    for (const f of fields(body.subarray(4))) {
      if (f.no === 1) {
        for (const t of fields(bytes(f))) {
          if (t.no === 1) apiVersion = str(t);
          if (t.no === 2) kind = str(t);
        }
      }
      if (f.no === 2) raw = bytes(f);
    }
    if (kind === 'Secret' && apiVersion === 'v1') return decodeSecret(raw);
    if (kind === 'ConfigMap' && apiVersion === 'v1')
      return decodeConfigMap(raw);
    if (kind === 'DeleteOptions') return decodeDeleteOptions(raw);
    if (apiVersion === 'authorization.k8s.io/v1' && ACCESS_REVIEWS.has(kind))
      return decodeAccessReview(kind, raw);
    const message = GENERIC_KINDS[`${apiVersion}/${kind}`];
    if (message) {
      return {
        apiVersion,
        kind,
        ...decodeMessage(message, raw, ''),
      } as KubeObject;
    }
    // Kinds kube-sim has no field table for (see protobufMessages.ts).
    throw errors.unsupportedMediaType();
  } catch (e) {
    if ((e as any)?.code) throw e;
    if (e instanceof UnknownField) {
      // Not a real server's answer: kube-sim refuses a body it cannot read whole rather than drop a field.
      throw new StatusError(
        415,
        'UnsupportedMediaType',
        `kube-sim cannot decode this protobuf body (${e.message}); send it as application/json`,
      );
    }
    throw errors.badRequest(
      `unable to decode protobuf body: ${(e as Error).message}`,
    );
  }
}
