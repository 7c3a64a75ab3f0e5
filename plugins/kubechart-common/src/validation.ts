const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Whether `code` is a valid tenant code: a DNS-1123 label of 2–40 characters.
 * @public
 */
export function isValidTenantCode(code: string): boolean {
  return code.length >= 2 && code.length <= 40 && DNS1123_LABEL.test(code);
}

/**
 * Whether `name` is a valid Helm release name (DNS-1123 label, max 53 characters).
 * @public
 */
export function isValidReleaseName(name: string): boolean {
  return name.length >= 1 && name.length <= 53 && DNS1123_LABEL.test(name);
}

/**
 * Whether `name` is a valid namespace name (DNS-1123 label, max 63 characters).
 * @public
 */
export function isValidNamespaceName(name: string): boolean {
  return name.length >= 1 && name.length <= 63 && DNS1123_LABEL.test(name);
}

/**
 * The namespace of a tenant.
 * @public
 */
export function tenantNamespace(code: string): string {
  return `tenant-${code}`;
}
