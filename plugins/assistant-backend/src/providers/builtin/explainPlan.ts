import { Plan, classifySafety } from '@kubechart/plugin-assistant-common';

const FILTER_TEXT: Record<string, string> = {
  'crash-looping': 'keeps only pods with a container in CrashLoopBackOff',
  'not-ready': 'keeps only those that are not ready',
  restarting: 'keeps only pods whose containers have restarted',
  pending: 'keeps only pending ones',
  failed: 'keeps only failed ones',
  pressure:
    'keeps only nodes reporting memory, disk or PID pressure or not ready',
};

const SORT_TEXT: Record<string, string> = {
  name: 'by name',
  restarts: 'with the most restarts first',
  cpu: 'with the highest CPU use first',
  memory: 'with the highest memory use first',
  age: 'newest first',
  time: 'newest first',
};

function scope(plan: Plan): string {
  if (plan.allNamespaces) return ' across all namespaces';
  if (plan.namespace) return ` in namespace ${plan.namespace}`;
  return '';
}

function what(plan: Plan): string {
  const parts = [plan.name ? `${plan.resource} ${plan.name}` : plan.resource];
  if (plan.labelSelector) parts.push(`matching ${plan.labelSelector}`);
  if (plan.fieldSelector) parts.push(`where ${plan.fieldSelector}`);
  return parts.join(' ') + scope(plan);
}

/** A one-paragraph, plain-language description of a plan. */
export function explainPlan(plan: Plan): string {
  const sentences: string[] = [];
  switch (plan.verb) {
    case 'get':
    case 'events':
      sentences.push(`Lists ${what(plan)}`);
      break;
    case 'describe':
      sentences.push(`Shows the details and recent events of ${what(plan)}`);
      break;
    case 'logs':
      sentences.push(
        `Shows the ${
          plan.previous ? "previous container's " : ''
        }logs of ${what(plan)}${
          plan.container ? `, container ${plan.container}` : ''
        }${plan.tailLines ? `, last ${plan.tailLines} lines` : ''}`,
      );
      break;
    case 'top':
      sentences.push(`Shows current CPU and memory use of ${what(plan)}`);
      break;
    case 'rollout': {
      const rollout: Record<string, string> = {
        restart: `Restarts every pod of ${what(plan)}, one by one`,
        history: `Shows the revision history of ${what(plan)}`,
        status: `Shows whether the latest rollout of ${what(
          plan,
        )} has finished`,
        undo: `Rolls ${what(plan)} back to its previous revision`,
      };
      sentences.push(rollout[plan.rolloutAction ?? 'status']);
      break;
    }
    case 'scale':
      sentences.push(`Sets ${what(plan)} to ${plan.replicas} replicas`);
      break;
    case 'label':
    case 'annotate': {
      const values = plan.verb === 'label' ? plan.labels : plan.annotations;
      sentences.push(
        `Sets ${
          plan.verb === 'label' ? 'labels' : 'annotations'
        } ${Object.entries(values ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(', ')} on ${what(plan)}`,
      );
      break;
    }
    case 'cordon':
      sentences.push(`Marks node ${plan.name} unschedulable`);
      break;
    case 'uncordon':
      sentences.push(`Marks node ${plan.name} schedulable again`);
      break;
    case 'drain':
      sentences.push(`Cordons node ${plan.name} and evicts its pods`);
      break;
    case 'delete':
      sentences.push(`Deletes ${what(plan)}`);
      break;
    case 'diagnose':
      sentences.push(
        `Finds out whether ${what(
          plan,
        )} is healthy and, if not, why: reads its pods, their conditions, recent warning events and the previous container's last log lines, then answers in a sentence`,
      );
      break;
    case 'patch':
      sentences.push(`Applies the merge patch ${plan.patch} to ${what(plan)}`);
      break;
    case 'exec':
      sentences.push(
        `Runs ${(plan.command ?? []).join(' ')} inside ${what(plan)}`,
      );
      break;
    default:
      sentences.push(`Runs kubectl ${plan.verb} on ${what(plan)}`);
  }
  const details: string[] = [];
  if (plan.filter) details.push(FILTER_TEXT[plan.filter]);
  if (plan.sortBy) details.push(`sorted ${SORT_TEXT[plan.sortBy]}`);
  if (plan.limit) details.push(`limited to ${plan.limit} rows`);
  const first = details.length
    ? `${sentences[0]}, ${details.join(', ')}.`
    : `${sentences[0]}.`;
  const safety = classifySafety(plan);
  return `${first} ${safety.reason}`;
}
