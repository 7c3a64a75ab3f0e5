import { ApiException } from '@kubernetes/client-node';

/** HTTP status of a Kubernetes API error, if it is one. */
export function kubeStatusCode(e: unknown): number | undefined {
  if (e instanceof ApiException) return e.code;
  const code = (e as any)?.code ?? (e as any)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

export const isNotFound = (e: unknown) => kubeStatusCode(e) === 404;
export const isAlreadyExists = (e: unknown) => kubeStatusCode(e) === 409;

/** Whether the error means the API server could not be reached at all. */
export function isUnreachable(e: unknown): boolean {
  if (kubeStatusCode(e) !== undefined) {
    const c = kubeStatusCode(e)!;
    return c === 502 || c === 503 || c === 504;
  }
  const text = `${(e as any)?.code ?? ''} ${(e as any)?.message ?? ''} ${
    (e as any)?.cause?.code ?? ''
  }`;
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|socket hang up|network|fetch failed|aborted/i.test(
    text,
  );
}

/** A sentence a person can act on, from a Kubernetes client error (never includes credentials). */
export function describeKubeError(e: unknown, cluster?: string): string {
  const where = cluster ? ` of cluster "${cluster}"` : '';
  if (e instanceof ApiException) {
    let message: string | undefined;
    const body: unknown = e.body;
    try {
      const parsed = typeof body === 'string' ? JSON.parse(body) : body;
      message = (parsed as any)?.message;
    } catch {
      message = typeof body === 'string' ? body.slice(0, 300) : undefined;
    }
    return `Kubernetes API${where} answered ${e.code}: ${
      message ?? e.message.split('\n')[0]
    }`;
  }
  if (isUnreachable(e)) {
    const code = (e as any)?.code ?? (e as any)?.cause?.code;
    return `Kubernetes API${where} is unreachable${code ? ` (${code})` : ''}: ${
      String((e as any)?.message ?? e).split('\n')[0]
    }`;
  }
  return `Kubernetes API${where} call failed: ${
    String((e as any)?.message ?? e).split('\n')[0]
  }`;
}
