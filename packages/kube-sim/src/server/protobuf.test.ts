import { decodeProtobufBody } from './protobuf';
import { StatusError } from './status';

// Protobuf wire encoding, enough to build the bodies kubectl sends (`k8s\0` + runtime.Unknown).
const varint = (n: number) => {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
};
const field = (no: number, value: Buffer | string | number) => {
  if (typeof value === 'number')
    return Buffer.concat([varint(no * 8), varint(value)]);
  const bytes = Buffer.from(value);
  return Buffer.concat([varint(no * 8 + 2), varint(bytes.length), bytes]);
};
const msg = (...parts: Buffer[]) => Buffer.concat(parts);
const unknown = (apiVersion: string, kind: string, raw: Buffer) =>
  Buffer.concat([
    Buffer.from([0x6b, 0x38, 0x73, 0x00]),
    field(1, msg(field(1, apiVersion), field(2, kind))),
    field(2, raw),
  ]);

const meta = (name: string, namespace = 'shop') =>
  msg(
    field(1, name),
    field(2, ''),
    field(3, namespace),
    field(7, 0),
    field(8, ''),
  );
const container = msg(
  field(1, 'app'),
  field(2, 'nginx:1.26'),
  field(6, msg(field(1, ''), field(2, 0), field(3, 8080), field(4, ''))),
  field(8, ''),
  field(16, 0),
);

describe('protobuf request bodies', () => {
  it('reads a Deployment as the JSON a Go client would send, zero scalars left out unless optional', () => {
    const spec = msg(
      field(1, 0), // replicas: a pointer, so an explicit 0 counts
      field(2, msg(field(1, msg(field(1, 'app'), field(2, 'web'))))),
      field(
        3,
        msg(
          field(1, meta('', '')),
          field(2, msg(field(2, container), field(3, ''))),
        ),
      ),
      field(4, msg(field(1, ''))),
      field(5, 0), // minReadySeconds: not a pointer, 0 is left out
      field(7, 0),
    );
    const body = unknown(
      'apps/v1',
      'Deployment',
      msg(field(1, meta('web')), field(2, spec), field(3, msg(field(1, 0)))),
    );
    expect(decodeProtobufBody(body)).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: {},
          spec: {
            containers: [
              {
                name: 'app',
                image: 'nginx:1.26',
                ports: [{ containerPort: 8080 }],
                resources: {},
              },
            ],
          },
        },
        strategy: {},
      },
      status: {},
    });
  });

  it('refuses a body with a field it has no table entry for instead of dropping it', () => {
    // PodSpec field 18 (affinity) with content.
    const spec = msg(
      field(
        3,
        msg(field(2, msg(field(2, container), field(18, msg(field(1, 'x')))))),
      ),
    );
    const body = unknown(
      'apps/v1',
      'Deployment',
      msg(field(1, meta('web')), field(2, spec)),
    );
    let error: unknown;
    try {
      decodeProtobufBody(body);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StatusError);
    expect((error as StatusError).code).toBe(415);
    expect((error as StatusError).message).toContain(
      '.spec.template.spec: field 18 of PodSpec',
    );
  });

  it('answers 415 for a kind it has no field table for', () => {
    const body = unknown('apps/v1', 'StatefulSet', msg(field(1, meta('db'))));
    expect(() => decodeProtobufBody(body)).toThrow(
      'the body of the request was in an unknown format',
    );
  });
});
