import { Config } from '@backstage/config';
import { InputError } from '@backstage/errors';
import type {
  PolicyMode,
  PolicyReport,
  PolicyResult,
  PolicySeverity,
} from '@kubechart/plugin-kubechart-common';
import { parseYamlLimited } from '../yaml/parseYamlLimited';
import { builtinPolicyRules } from './rules';
import { KubeObject, PolicyRule } from './types';

/** Options of {@link PolicyEngine}. @public */
export type PolicyEngineOptions = {
  mode?: PolicyMode;
  /** Per rule severity overrides; `off` disables a rule. */
  severities?: Record<string, PolicySeverity | 'off'>;
  trustedRegistries?: string[];
  allowedServiceTypes?: string[];
  /** Extra rules (from the extension point). */
  rules?: PolicyRule[];
};

/**
 * Parses multi-document YAML into objects, dropping empty documents and unfolding `List` kinds.
 * @public
 */
export function parseManifests(text: string): KubeObject[] {
  const docs = parseYamlLimited(text, { what: 'Manifests' });
  const out: KubeObject[] = [];
  for (const d of docs) {
    if (!d || typeof d !== 'object') continue;
    const obj = d as KubeObject;
    if (typeof obj.kind === 'string' && obj.kind.endsWith('List') && Array.isArray(obj.items)) {
      out.push(...obj.items);
    } else {
      out.push(obj);
    }
  }
  return out;
}

/**
 * Checks rendered manifests against the chart policy: every rule on every object it applies to.
 * @public
 */
export class PolicyEngine {
  readonly mode: PolicyMode;
  private readonly severities: Record<string, PolicySeverity | 'off'>;
  private readonly trustedRegistries: string[];
  private readonly allowedServiceTypes: string[];
  private readonly rules: PolicyRule[];

  /** Reads `kubechart.policy` config. */
  static fromConfig(config: Config, extraRules: PolicyRule[] = []) {
    const c = config.getOptionalConfig('kubechart.policy');
    const sevConfig = c?.getOptionalConfig('rules');
    const severities: Record<string, PolicySeverity | 'off'> = {};
    for (const key of sevConfig?.keys() ?? []) {
      severities[key] = sevConfig!.getString(key) as PolicySeverity | 'off';
    }
    return new PolicyEngine({
      mode: (c?.getOptionalString('mode') as PolicyMode) ?? 'enforce',
      severities,
      trustedRegistries: c?.getOptionalStringArray('trustedRegistries') ?? [],
      allowedServiceTypes: c?.getOptionalStringArray('allowedServiceTypes'),
      rules: extraRules,
    });
  }

  constructor(options: PolicyEngineOptions = {}) {
    this.mode = options.mode ?? 'enforce';
    if (!['enforce', 'warn', 'off'].includes(this.mode)) {
      throw new InputError(`Invalid kubechart.policy.mode "${this.mode}"; use enforce, warn or off`);
    }
    this.severities = options.severities ?? {};
    for (const [id, s] of Object.entries(this.severities)) {
      if (!['error', 'warning', 'info', 'off'].includes(s)) {
        throw new InputError(`Invalid severity "${s}" for policy rule ${id}`);
      }
    }
    this.trustedRegistries = options.trustedRegistries ?? [];
    this.allowedServiceTypes = options.allowedServiceTypes ?? ['ClusterIP', 'ExternalName'];
    const ids = new Set<string>();
    this.rules = [...builtinPolicyRules, ...(options.rules ?? [])].filter(r => {
      if (ids.has(r.id)) {
        throw new InputError(`Duplicate policy rule id "${r.id}"`);
      }
      ids.add(r.id);
      return true;
    });
  }

  /** The active rules with their effective severity. */
  listRules(): Array<{ id: string; severity: PolicySeverity | 'off'; description: string; fix: string }> {
    return this.rules.map(r => ({
      id: r.id,
      severity: this.severities[r.id] ?? r.defaultSeverity,
      description: r.description,
      fix: r.fix,
    }));
  }

  /** Checks a multi-document YAML string. */
  checkYaml(manifests: string): PolicyReport {
    return this.check(parseManifests(manifests));
  }

  /** Checks parsed objects. */
  check(objects: KubeObject[]): PolicyReport {
    const results: PolicyResult[] = [];
    if (this.mode !== 'off') {
      const context = {
        objects,
        trustedRegistries: this.trustedRegistries,
        allowedServiceTypes: this.allowedServiceTypes,
      };
      for (const rule of this.rules) {
        const severity = this.severities[rule.id] ?? rule.defaultSeverity;
        if (severity === 'off') continue;
        for (const obj of objects) {
          const violations = rule.check(obj, context);
          if (violations === undefined) continue;
          results.push({
            ruleId: rule.id,
            severity,
            passed: violations.length === 0,
            object: {
              apiVersion: obj.apiVersion,
              kind: String(obj.kind ?? 'Unknown'),
              name: String(obj.metadata?.name ?? ''),
              namespace: obj.metadata?.namespace,
            },
            message: violations.length === 0 ? rule.description : violations.join('; '),
            fix: rule.fix,
          });
        }
      }
    }
    const failed = results.filter(r => !r.passed);
    const errors = failed.filter(r => r.severity === 'error').length;
    const passed = errors === 0;
    return {
      mode: this.mode,
      passed,
      blocking: this.mode === 'enforce' && !passed,
      summary: {
        objects: objects.length,
        errors,
        warnings: failed.filter(r => r.severity === 'warning').length,
        infos: failed.filter(r => r.severity === 'info').length,
      },
      results,
    };
  }
}

/**
 * A short text of the failed rules of a report, for failure reasons and logs.
 * @public
 */
export function formatPolicyFailures(report: PolicyReport, severity: PolicySeverity = 'error'): string {
  return report.results
    .filter(r => !r.passed && r.severity === severity)
    .map(r => `[${r.ruleId}] ${r.object.kind}/${r.object.name}: ${r.message} — fix: ${r.fix}`)
    .join('\n');
}
