import { bool } from '../wire';
import { RequestAttributes } from './rules';

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);
const SPECIAL_VERBS = new Set(['proxy', 'watch']);

function verbFromMethod(method: string) {
  switch (method) {
    case 'POST':
      return 'create';
    case 'GET':
    case 'HEAD':
      return 'get';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return '';
  }
}

/** The name a list/watch is limited to by `fieldSelector=metadata.name=<name>`. */
function exactName(fieldSelector: string | null): string {
  if (!fieldSelector) return '';
  for (const term of fieldSelector.split(',')) {
    const m = term.trim().match(/^metadata\.name(?:==|=)(.+)$/);
    if (m && !/[/%]/.test(m[1]) && m[1] !== '.' && m[1] !== '..') return m[1];
  }
  return '';
}

/**
 * What a request asks to do, derived from its method, path and query the way the API server's
 * request-info resolver does it (before routing, so unknown resources are authorized too).
 */
export function requestAttributes(
  method: string,
  parts: string[],
  path: string,
  q: URLSearchParams,
): RequestAttributes {
  const nonResource: RequestAttributes = {
    verb: method.toLowerCase(),
    resourceRequest: false,
    apiGroup: '',
    resource: '',
    subresource: '',
    namespace: '',
    name: '',
    path,
  };
  let rest = parts;
  if (rest.length < 3 || (rest[0] !== 'api' && rest[0] !== 'apis'))
    return nonResource;
  let apiGroup = '';
  if (rest[0] === 'apis') {
    if (rest.length < 4) return nonResource;
    apiGroup = rest[1];
    rest = rest.slice(2);
  } else {
    rest = rest.slice(1);
  }
  const apiVersion = rest[0];
  rest = rest.slice(1);
  let verb: string;
  if (SPECIAL_VERBS.has(rest[0]) && rest.length >= 2) {
    verb = rest[0];
    rest = rest.slice(1);
  } else {
    verb = verbFromMethod(method);
  }
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1];
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2]))
      rest = rest.slice(2);
  }
  const resource = rest[0] ?? '';
  let name = rest[1] ?? '';
  const subresource = rest.length >= 3 && verb !== 'proxy' ? rest[2] : '';
  if (!name && verb === 'get') {
    verb = bool(q.get('watch')) ? 'watch' : 'list';
    name = exactName(q.get('fieldSelector'));
  }
  if (!name && verb === 'delete') verb = 'deletecollection';
  return {
    verb,
    resourceRequest: true,
    apiGroup,
    apiVersion,
    resource,
    subresource,
    namespace,
    name,
    path,
  };
}
