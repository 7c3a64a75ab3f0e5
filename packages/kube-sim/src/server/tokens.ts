import { randomBytes } from 'node:crypto';
import { serviceAccountGroups, UserInfo } from './auth';
import { errors } from './status';
import { KubeObject } from './types';

const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const b64url = (v: unknown) =>
  Buffer.from(JSON.stringify(v)).toString('base64url');

interface Issued {
  namespace: string;
  name: string;
  uid: string;
  expiresAt: number;
}

/**
 * ServiceAccount tokens from the TokenRequest API (`POST …/serviceaccounts/<name>/token`).
 * A token authenticates as `system:serviceaccount:<ns>:<name>` while the ServiceAccount it was
 * issued for (same uid) exists and the token has not expired, as a real API server checks.
 */
export class ServiceAccountTokens {
  private readonly issued = new Map<string, Issued>();

  constructor(
    private readonly lookup: (
      namespace: string,
      name: string,
    ) => KubeObject | undefined,
  ) {}

  /** Answers a TokenRequest for `sa`: 201 with the token. */
  request(sa: KubeObject, body: unknown): KubeObject {
    const spec = (body as any)?.spec ?? {};
    const expirationSeconds =
      spec.expirationSeconds === undefined
        ? 3600
        : Number(spec.expirationSeconds);
    if (!Number.isInteger(expirationSeconds) || expirationSeconds < 600) {
      throw errors.invalid('TokenRequest', 'authentication.k8s.io', '', [
        {
          field: 'spec.expirationSeconds',
          message: `Invalid value: ${spec.expirationSeconds}: may not specify a duration less than 10 minutes`,
        },
      ]);
    }
    const audiences: string[] =
      Array.isArray(spec.audiences) && spec.audiences.length > 0
        ? spec.audiences.map(String)
        : [ISSUER];
    const now = Math.floor(Date.now() / 1000);
    const exp = now + expirationSeconds;
    const namespace = sa.metadata.namespace!;
    const name = sa.metadata.name!;
    const uid = sa.metadata.uid!;
    const token = [
      b64url({ alg: 'RS256', kid: 'kube-sim' }),
      b64url({
        aud: audiences,
        exp,
        iat: now,
        iss: ISSUER,
        'kubernetes.io': { namespace, serviceaccount: { name, uid } },
        nbf: now,
        sub: `system:serviceaccount:${namespace}:${name}`,
      }),
      randomBytes(32).toString('base64url'),
    ].join('.');
    this.issued.set(token, { namespace, name, uid, expiresAt: exp * 1000 });
    return {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { name, namespace, creationTimestamp: null as any },
      spec: { audiences, expirationSeconds, boundObjectRef: null },
      status: {
        token,
        expirationTimestamp: `${new Date(exp * 1000)
          .toISOString()
          .slice(0, 19)}Z`,
      },
    };
  }

  /** The ServiceAccount user a token stands for, or undefined (unknown, expired, SA gone). */
  authenticate(token: string): UserInfo | undefined {
    const t = this.issued.get(token);
    if (!t) return undefined;
    if (Date.now() >= t.expiresAt) {
      this.issued.delete(token);
      return undefined;
    }
    const sa = this.lookup(t.namespace, t.name);
    if (!sa || sa.metadata.uid !== t.uid) return undefined;
    return {
      name: `system:serviceaccount:${t.namespace}:${t.name}`,
      uid: t.uid,
      groups: [...serviceAccountGroups(t.namespace), 'system:authenticated'],
    };
  }
}
