/**
 * `/openapi/v2` in protobuf (`Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`), which client-go's
 * `OpenAPISchema()` asks for: helm 3 and kubectl fall back to it to validate a kind whose group-version
 * `/openapi/v3` does not list, and fail with `proto: cannot parse invalid wire-format data` when the answer is JSON.
 * The message is gnostic's `openapi.v2.Document` (field numbers of OpenAPIv2.proto); kube-sim writes its
 * `swagger`, `info` and `definitions` (every Schema field the Kubernetes documents use). Paths are left out:
 * clients read schemas from the definitions (by their `x-kubernetes-group-version-kind`).
 */

class Writer {
  private readonly parts: Buffer[] = [];

  private varint(n: number) {
    const out: number[] = [];
    let v = n;
    while (v > 0x7f) {
      out.push(v % 128 | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(v);
    this.parts.push(Buffer.from(out));
  }

  string(no: number, value: string | undefined) {
    if (value === undefined || value === '') return;
    this.bytes(no, Buffer.from(value, 'utf8'));
  }

  bytes(no: number, value: Buffer) {
    this.varint(no * 8 + 2);
    this.varint(value.length);
    this.parts.push(value);
  }

  bool(no: number, value: unknown) {
    if (value !== true) return;
    this.varint(no * 8);
    this.varint(1);
  }

  int(no: number, value: unknown) {
    if (typeof value !== 'number' || value <= 0) return;
    this.varint(no * 8);
    this.varint(Math.trunc(value));
  }

  double(no: number, value: unknown) {
    if (typeof value !== 'number') return;
    this.varint(no * 8 + 1);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(value);
    this.parts.push(b);
  }

  message(no: number, write: (w: Writer) => void) {
    const w = new Writer();
    write(w);
    this.bytes(no, w.done());
  }

  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** gnostic's `Any`: the value as YAML text (JSON is YAML). */
const any = (value: unknown) => (w: Writer) =>
  w.string(2, `${JSON.stringify(value)}\n`);

function vendorExtensions(w: Writer, no: number, obj: Record<string, any>) {
  for (const [k, v] of Object.entries(obj)) {
    if (!k.startsWith('x-')) continue;
    w.message(no, e => {
      e.string(1, k);
      e.message(2, any(v));
    });
  }
}

function schema(s: any) {
  return (w: Writer) => {
    if (!s || typeof s !== 'object') return;
    w.string(1, s.$ref);
    w.string(2, s.format);
    w.string(3, s.title);
    w.string(4, s.description);
    if (s.default !== undefined) w.message(5, any(s.default));
    w.double(6, s.multipleOf);
    w.double(7, s.maximum);
    w.bool(8, s.exclusiveMaximum);
    w.double(9, s.minimum);
    w.bool(10, s.exclusiveMinimum);
    w.int(11, s.maxLength);
    w.int(12, s.minLength);
    w.string(13, s.pattern);
    w.int(14, s.maxItems);
    w.int(15, s.minItems);
    w.bool(16, s.uniqueItems);
    w.int(17, s.maxProperties);
    w.int(18, s.minProperties);
    for (const r of s.required ?? []) w.string(19, r);
    for (const e of s.enum ?? []) w.message(20, any(e));
    if (s.additionalProperties !== undefined) {
      w.message(21, a => {
        if (typeof s.additionalProperties === 'boolean')
          a.bool(2, s.additionalProperties);
        else a.message(1, schema(s.additionalProperties));
      });
    }
    if (s.type !== undefined) {
      w.message(22, t => {
        for (const v of Array.isArray(s.type) ? s.type : [s.type])
          t.string(1, v);
      });
    }
    if (s.items !== undefined) {
      w.message(23, i => {
        for (const item of Array.isArray(s.items) ? s.items : [s.items])
          i.message(1, schema(item));
      });
    }
    for (const a of s.allOf ?? []) w.message(24, schema(a));
    if (s.properties) {
      w.message(25, p => {
        for (const [name, value] of Object.entries(s.properties)) {
          p.message(1, n => {
            n.string(1, name);
            n.message(2, schema(value));
          });
        }
      });
    }
    w.string(26, s.discriminator);
    w.bool(27, s.readOnly);
    if (s.example !== undefined) w.message(30, any(s.example));
    vendorExtensions(w, 31, s);
  };
}

/** The protobuf form of a Swagger 2.0 document (JSON text), without its paths. */
export function openApiV2Protobuf(doc: {
  swagger?: string;
  info?: { title?: string; version?: string };
  definitions?: Record<string, unknown>;
}): Buffer {
  const w = new Writer();
  w.string(1, doc.swagger);
  w.message(2, i => {
    i.string(1, doc.info?.title);
    i.string(2, doc.info?.version);
  });
  w.message(9, d => {
    for (const [name, value] of Object.entries(doc.definitions ?? {})) {
      d.message(1, n => {
        n.string(1, name);
        n.message(2, schema(value));
      });
    }
  });
  return w.done();
}
