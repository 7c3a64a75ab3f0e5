import { compileKeyNames, isSecretName, secretValueKind } from '../secrets';
import { KubeObject, PolicyContext, PolicyRule } from '../types';
import { perContainer } from './util';

const NOT_A_SECRET = new Set(['', 'true', 'false', 'null']);

let cache: { names: string[]; compiled: string[][] } | undefined;
function compiled(ctx: PolicyContext): string[][] {
  if (cache?.names !== ctx.secrets.keyNames) {
    cache = {
      names: ctx.secrets.keyNames,
      compiled: compileKeyNames(ctx.secrets.keyNames),
    };
  }
  return cache.compiled;
}

const configMapData = (obj: KubeObject): Array<[string, unknown]> =>
  obj.data && typeof obj.data === 'object' && !Array.isArray(obj.data)
    ? Object.entries(obj.data)
    : [];

const envEntries = (c: any): any[] =>
  Array.isArray(c?.env)
    ? c.env.filter((e: any) => e && typeof e === 'object')
    : [];

/** Secrets in plain sight: by whole-word key names and by value shapes (PEM keys, tokens, URL passwords). */
export const secretRules: PolicyRule[] = [
  {
    id: 'no-plain-secrets',
    defaultSeverity: 'error',
    description:
      'secret-named env values and ConfigMap keys are not set in plain text',
    fix: 'Store the value in a Secret and reference it with env[].valueFrom.secretKeyRef (or envFrom.secretRef); names are configured in kubechart.policy.secrets.',
    check: (obj, ctx) => {
      const words = compiled(ctx);
      if (obj.kind === 'ConfigMap') {
        return configMapData(obj)
          .filter(
            ([k, v]) =>
              !NOT_A_SECRET.has(
                String(v ?? '')
                  .trim()
                  .toLowerCase(),
              ) && isSecretName(k, ctx.secrets, words),
          )
          .map(([k]) => `ConfigMap key "${k}" looks like a secret`);
      }
      return perContainer(obj, c => {
        const bad = envEntries(c)
          .filter(
            e =>
              typeof e.value === 'string' &&
              !NOT_A_SECRET.has(e.value.trim().toLowerCase()) &&
              isSecretName(String(e.name ?? ''), ctx.secrets, words),
          )
          .map(e => e.name);
        return bad.length ? `plain env value for ${bad.join(', ')}` : undefined;
      });
    },
  },
  {
    id: 'no-secret-values',
    defaultSeverity: 'error',
    description:
      'no private keys, tokens or passwords appear as values in env, command, args or ConfigMaps',
    fix: 'Move the credential into a Secret (or an external secret store) and reference it; rotate it, since it has been in a manifest.',
    check: obj => {
      if (obj.kind === 'ConfigMap') {
        const out: string[] = [];
        for (const [k, v] of configMapData(obj)) {
          const what = typeof v === 'string' ? secretValueKind(v) : undefined;
          if (what) out.push(`ConfigMap key "${k}" holds ${what}`);
        }
        return out;
      }
      return perContainer(obj, c => {
        const out: string[] = [];
        for (const e of envEntries(c)) {
          const what =
            typeof e.value === 'string' ? secretValueKind(e.value) : undefined;
          if (what) out.push(`env ${String(e.name ?? '?')} holds ${what}`);
        }
        for (const field of ['command', 'args']) {
          const list = Array.isArray(c?.[field]) ? c[field] : [];
          list.forEach((a: unknown, i: number) => {
            const what = typeof a === 'string' ? secretValueKind(a) : undefined;
            if (what) out.push(`${field}[${i}] holds ${what}`);
          });
        }
        return out;
      });
    },
  },
];
