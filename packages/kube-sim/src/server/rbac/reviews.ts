import { errors } from '../status';
import { isPlainObject, nowIso } from '../types';
import { RbacAuthorizer, UserInfo } from './authorizer';
import { RequestAttributes } from './rules';

/**
 * `authorization.k8s.io/v1` access reviews: SelfSubjectAccessReview, SelfSubjectRulesReview,
 * SubjectAccessReview and LocalSubjectAccessReview, answered as a v1.26 API server answers them
 * (201, nothing stored, `spec` echoed).
 */

const GROUP = 'authorization.k8s.io';
const API_VERSION = `${GROUP}/v1`;

const RESOURCE_KEYS = [
  'namespace',
  'verb',
  'group',
  'version',
  'resource',
  'subresource',
  'name',
];

type Decide = (
  user: UserInfo,
  attrs: RequestAttributes,
) => { allowed: boolean; reason: string };

/** The managedFields entry the API server records for the request (fields of `spec`). */
function fieldsOf(
  value: Record<string, any>,
  depth: number,
): Record<string, unknown> {
  const out: Record<string, unknown> = depth > 1 ? { '.': {} } : {};
  for (const key of Object.keys(value).sort()) {
    const v = value[key];
    if (v === undefined || v === null) continue;
    out[`f:${key}`] =
      isPlainObject(v) && Object.keys(v).length > 0
        ? fieldsOf(v, depth + 1)
        : {};
  }
  return out;
}

function ordered(attrs: Record<string, any>, keys: string[]) {
  const out: Record<string, any> = {};
  for (const k of keys) {
    if (attrs[k] !== undefined && attrs[k] !== '') out[k] = attrs[k];
  }
  return out;
}

function invalid(kind: string, message: string) {
  return errors.invalid(kind, GROUP, '', [
    {
      field: 'spec.resourceAttributes',
      message,
      reason: 'FieldValueInvalid',
    },
  ]);
}

export class AccessReviews {
  constructor(
    private readonly rbac: RbacAuthorizer,
    private readonly decide: Decide,
  ) {}

  /** Answers a review create; `plural` is the review resource, `namespace` the URL's. */
  create(
    plural: string,
    namespace: string | undefined,
    body: unknown,
    user: UserInfo,
    manager: string,
  ): unknown {
    const b = isPlainObject(body) ? body : {};
    const spec = isPlainObject(b.spec) ? b.spec : {};
    if (plural === 'selfsubjectrulesreviews') return this.rules(spec, user);
    const kind = {
      selfsubjectaccessreviews: 'SelfSubjectAccessReview',
      subjectaccessreviews: 'SubjectAccessReview',
      localsubjectaccessreviews: 'LocalSubjectAccessReview',
    }[plural];
    if (!kind) throw errors.methodNotAllowed();
    const ra = isPlainObject(spec.resourceAttributes)
      ? spec.resourceAttributes
      : undefined;
    const nra = isPlainObject(spec.nonResourceAttributes)
      ? spec.nonResourceAttributes
      : undefined;
    if (!ra === !nra) {
      throw invalid(
        kind,
        `Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified`,
      );
    }
    let subject = user;
    if (plural !== 'selfsubjectaccessreviews') {
      const name = typeof spec.user === 'string' ? spec.user : '';
      const groups: string[] = Array.isArray(spec.groups)
        ? spec.groups.map(String)
        : [];
      if (!name && groups.length === 0) {
        throw errors.invalid(kind, GROUP, '', [
          {
            field: 'spec.user',
            message:
              'Invalid value: "": at least one of user or group must be specified',
          },
        ]);
      }
      subject = { name, groups };
    }
    if (plural === 'localsubjectaccessreviews') {
      if (ra && ra.namespace && ra.namespace !== namespace) {
        throw errors.invalid(kind, GROUP, '', [
          {
            field: 'spec.resourceAttributes.namespace',
            message: `Invalid value: "${ra.namespace}": must match metadata.namespace`,
          },
        ]);
      }
      if (ra) ra.namespace = namespace;
    }
    const attrs: RequestAttributes = ra
      ? {
          verb: String(ra.verb ?? ''),
          resourceRequest: true,
          apiGroup: String(ra.group ?? ''),
          apiVersion: String(ra.version ?? ''),
          resource: String(ra.resource ?? ''),
          subresource: String(ra.subresource ?? ''),
          namespace: String(ra.namespace ?? ''),
          name: String(ra.name ?? ''),
          path: '',
        }
      : {
          verb: String(nra!.verb ?? ''),
          resourceRequest: false,
          apiGroup: '',
          resource: '',
          subresource: '',
          namespace: '',
          name: '',
          path: String(nra!.path ?? ''),
        };
    const decision = this.decide(subject, attrs);
    const echoed: Record<string, any> = {};
    if (ra) echoed.resourceAttributes = ordered(ra, RESOURCE_KEYS);
    if (nra) echoed.nonResourceAttributes = ordered(nra, ['path', 'verb']);
    for (const k of ['user', 'groups', 'extra', 'uid']) {
      if (plural !== 'selfsubjectaccessreviews' && spec[k] !== undefined)
        echoed[k] = spec[k];
    }
    return {
      kind,
      apiVersion: API_VERSION,
      metadata: {
        ...(plural === 'localsubjectaccessreviews' ? { namespace } : {}),
        creationTimestamp: null,
        managedFields: [
          {
            manager,
            operation: 'Update',
            apiVersion: API_VERSION,
            time: nowIso(),
            fieldsType: 'FieldsV1',
            fieldsV1: { 'f:spec': fieldsOf(echoed, 1) },
          },
        ],
      },
      spec: echoed,
      status: {
        allowed: decision.allowed,
        ...(decision.reason ? { reason: decision.reason } : {}),
      },
    };
  }

  private rules(spec: Record<string, any>, user: UserInfo) {
    const namespace = typeof spec.namespace === 'string' ? spec.namespace : '';
    if (!namespace) throw errors.badRequest('no namespace on request');
    const { rules, errors: errs } = this.rbac.rulesFor(user, namespace);
    const resourceRules = [];
    const nonResourceRules = [];
    for (const r of rules) {
      if ((r.resources ?? []).length > 0) {
        resourceRules.push({
          verbs: r.verbs,
          apiGroups: r.apiGroups ?? [],
          resources: r.resources,
          ...(r.resourceNames?.length
            ? { resourceNames: r.resourceNames }
            : {}),
        });
      }
      if ((r.nonResourceURLs ?? []).length > 0) {
        nonResourceRules.push({
          verbs: r.verbs,
          nonResourceURLs: r.nonResourceURLs,
        });
      }
    }
    return {
      kind: 'SelfSubjectRulesReview',
      apiVersion: API_VERSION,
      metadata: { creationTimestamp: null },
      spec: {},
      status: {
        resourceRules,
        nonResourceRules,
        incomplete: errs.length > 0,
        ...(errs.length > 0 ? { evaluationError: errs.join(', ') } : {}),
      },
    };
  }
}
