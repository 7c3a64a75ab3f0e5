/** A Kubernetes `Status` failure, thrown inside kube-sim and written as the real API server writes it. */
export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: {
      name?: string;
      group?: string;
      kind?: string;
      uid?: string;
      causes?: Array<{ reason: string; message: string; field?: string }>;
      retryAfterSeconds?: number;
    },
  ) {
    super(message);
  }

  toStatus() {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      // Some real failures (storage errors) carry no reason at all.
      ...(this.reason ? { reason: this.reason } : {}),
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

/** A failure the API server answers with a `text/plain` body instead of a Status (e.g. a bad impersonation). */
export class PlainTextError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

function gk(plural: string, group: string) {
  return group ? { group, kind: plural } : { kind: plural };
}

function qualified(plural: string, group: string) {
  return group ? `${plural}.${group}` : plural;
}

export const errors = {
  notFound(plural: string, group: string, name: string) {
    return new StatusError(
      404,
      'NotFound',
      `${qualified(plural, group)} "${name}" not found`,
      { name, ...gk(plural, group) },
    );
  },
  alreadyExists(plural: string, group: string, name: string) {
    return new StatusError(
      409,
      'AlreadyExists',
      `${qualified(plural, group)} "${name}" already exists`,
      { name, ...gk(plural, group) },
    );
  },
  conflict(plural: string, group: string, name: string, why?: string) {
    return new StatusError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${qualified(
        plural,
        group,
      )} "${name}": ${
        why ??
        'the object has been modified; please apply your changes to the latest version and try again'
      }`,
      { name, ...gk(plural, group) },
    );
  },
  invalid(
    kind: string,
    group: string,
    name: string,
    causes: Array<{ field: string; message: string; reason?: string }>,
  ) {
    const summary = causes.map(c => `${c.field}: ${c.message}`).join(', ');
    return new StatusError(
      422,
      'Invalid',
      `${group ? `${kind}.${group}` : kind} "${name}" is invalid: ${
        causes.length > 1 ? `[${summary}]` : summary
      }`,
      {
        // Go's StatusDetails leaves out empty fields (DeleteOptions "" has no name).
        ...(name ? { name } : {}),
        ...(group ? { group } : {}),
        ...(kind ? { kind } : {}),
        causes: causes.map(c => ({
          reason: c.reason ?? 'FieldValueInvalid',
          message: c.message,
          field: c.field,
        })),
      },
    );
  },
  forbidden(
    plural: string,
    group: string,
    name: string | undefined,
    message: string,
  ) {
    return new StatusError(
      403,
      'Forbidden',
      `${qualified(plural, group)}${
        name ? ` "${name}"` : ''
      } is forbidden: ${message}`,
      { ...(name ? { name } : {}), ...gk(plural, group) },
    );
  },
  badRequest(message: string) {
    return new StatusError(400, 'BadRequest', message);
  },
  /**
   * A method no route serves (a write to a /watch/ path, POST to a named object, PUT to a collection):
   * the router's 405, which the API server writes as NewGenericServerResponse does, with empty details.
   */
  methodNotAllowed() {
    return new StatusError(
      405,
      'MethodNotAllowed',
      'the server does not allow this method on the requested resource',
      {},
    );
  },
  resourceNotFound() {
    return new StatusError(
      404,
      'NotFound',
      'the server could not find the requested resource',
    );
  },
  unsupportedMediaType() {
    return new StatusError(
      415,
      'UnsupportedMediaType',
      'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf',
    );
  },
  /** A PATCH whose Content-Type is not a patch type. */
  unsupportedPatchType() {
    return new StatusError(
      415,
      'UnsupportedMediaType',
      '415: Unsupported Media Type',
      {},
    );
  },
  gone(message: string) {
    return new StatusError(410, 'Expired', message);
  },
  internal(message: string) {
    return new StatusError(
      500,
      'InternalError',
      `Internal error occurred: ${message}`,
      {
        causes: [{ reason: '', message }],
      },
    );
  },
};

/** utilerrors.NewAggregate's text: one error as is, several (each once) in brackets. */
export function aggregate(errs: string[]): string {
  const unique = [...new Set(errs)];
  return unique.length === 1 ? unique[0] : `[${unique.join(', ')}]`;
}
