import {
  DiagnosisResult,
  Plan,
  PlanResource,
} from '@kubechart/plugin-assistant-common';
import { KubeObject, applySort } from './tables';
import { labelSelectorOf, ownedBy } from './selectors';
import { scrubText, scrubbedStart } from '../redaction/redact';

/** Reads a diagnosis needs; all of them only read. */
export type DiagnosisReads = {
  list(plan: Plan, overrides?: Partial<Plan>): Promise<KubeObject[]>;
  findOne(plan: Plan): Promise<KubeObject>;
  readLog(options: {
    name: string;
    namespace: string;
    container: string;
    tailLines: number;
    previous: boolean;
    /** The API server stops after this many bytes: a log of long lines is never read whole. */
    limitBytes: number;
  }): Promise<string>;
};

const LOG_TAIL_LINES = 20;
/** Bytes of the previous log read at most: 20 lines of up to 3 KiB each. */
const LOG_LIMIT_BYTES = 64 * 1024;
const MAX_EVENTS = 3;
/** Characters of one log line or event message kept in the evidence the browser is shown. */
const MAX_EVIDENCE_CHARS = 300;

/** A scrubbed `text` cut to {@link MAX_EVIDENCE_CHARS}, saying so. */
function short(text: string): string {
  return text.length > MAX_EVIDENCE_CHARS
    ? `${text.slice(0, MAX_EVIDENCE_CHARS)}… (${
        text.length - MAX_EVIDENCE_CHARS
      } more characters)`
    : text;
}

/**
 * Text the cluster wrote (a waiting or terminated container's reason and message, a condition's
 * message, a pod's reason, an event's reason and message), as the answer quotes it: scrubbed as
 * table cells are, then cut. The kubelet quotes an image's registry URL as configured, credentials
 * and token included, and an admission webhook or a controller may quote anything.
 */
function quoted(text: unknown): string {
  return scrubbedStart(String(text), MAX_EVIDENCE_CHARS);
}

type PodState = {
  pod: KubeObject;
  name: string;
  ready: boolean;
  restarts: number;
  problem?: string;
  /** Container whose previous run's log explains the problem. */
  crashedContainer?: string;
};

function singular(resource: PlanResource): string {
  return resource === 'pods' ? 'pod' : resource.replace(/s$/, '');
}

function podState(pod: KubeObject): PodState {
  const name = pod.metadata?.name ?? '?';
  const statuses: any[] = pod.status?.containerStatuses ?? [];
  const restarts = statuses.reduce((n, s) => n + (s.restartCount ?? 0), 0);
  const ready =
    pod.status?.phase === 'Running' &&
    statuses.length > 0 &&
    statuses.every(s => s.ready);
  for (const s of statuses) {
    const waiting = s.state?.waiting;
    const last = s.lastState?.terminated;
    if (waiting?.reason === 'CrashLoopBackOff' || (last && !s.ready)) {
      const exit = last
        ? ` and last exited with code ${last.exitCode}${
            last.reason ? ` (${quoted(last.reason)})` : ''
          }`
        : '';
      return {
        pod,
        name,
        ready,
        restarts,
        problem: `container ${
          s.name
        } in pod ${name} is crash-looping: it has restarted ${
          s.restartCount
        } time${s.restartCount === 1 ? '' : 's'}${exit}`,
        crashedContainer: s.name,
      };
    }
    if (
      waiting?.reason &&
      /ImagePull|ErrImage|InvalidImageName/.test(waiting.reason)
    ) {
      return {
        pod,
        name,
        ready,
        restarts,
        problem: `pod ${name} cannot pull the image of container ${
          s.name
        } (${quoted(waiting.reason)}${
          waiting.message ? `: ${quoted(waiting.message)}` : ''
        })`,
      };
    }
    if (last?.reason === 'OOMKilled') {
      return {
        pod,
        name,
        ready,
        restarts,
        problem: `container ${s.name} in pod ${name} was killed for using too much memory (OOMKilled)`,
        crashedContainer: s.name,
      };
    }
  }
  if (pod.status?.phase === 'Pending') {
    const scheduled = (pod.status?.conditions ?? []).find(
      (c: any) => c.type === 'PodScheduled' && c.status === 'False',
    );
    return {
      pod,
      name,
      ready,
      restarts,
      problem: scheduled
        ? `pod ${name} is Pending and cannot be scheduled${
            scheduled.message ? `: ${quoted(scheduled.message)}` : ''
          }`
        : `pod ${name} is Pending`,
    };
  }
  if (pod.status?.phase === 'Failed') {
    return {
      pod,
      name,
      ready,
      restarts,
      problem: `pod ${name} failed${
        pod.status?.reason ? ` (${quoted(pod.status.reason)})` : ''
      }`,
    };
  }
  if (!ready && pod.status?.phase !== 'Succeeded') {
    return {
      pod,
      name,
      ready,
      restarts,
      problem: `pod ${name} is ${pod.status?.phase ?? 'not'} but not Ready`,
    };
  }
  return { pod, name, ready, restarts };
}

function lastLines(text: string, n: number): string[] {
  return text
    .split('\n')
    .map(l => l.trimEnd())
    .filter(Boolean)
    .slice(-n);
}

/**
 * Runs a read-only diagnosis: the workload, its pods, their conditions, the
 * last warning events, and the previous container's log tail; answers with
 * one or two sentences and the evidence.
 */
export async function diagnose(
  plan: Plan,
  reads: DiagnosisReads,
): Promise<DiagnosisResult> {
  const steps: string[] = [];
  const evidence: string[] = [];
  const what = plan.name
    ? `${singular(plan.resource)}/${plan.name}`
    : `pods matching ${plan.labelSelector}`;
  let pods: KubeObject[];
  let desired: number | undefined;
  if (plan.resource === 'pods') {
    pods = plan.name ? [await reads.findOne(plan)] : await reads.list(plan);
    steps.push(plan.name ? `read ${what}` : `listed ${what}`);
  } else {
    const workload = await reads.findOne(plan);
    steps.push(`read ${what}`);
    desired = workload.spec?.replicas;
    // Its pods as kubectl finds them: those its selector (whole) picks that it owns, by uid (a
    // Deployment's through its ReplicaSets); a pod that only carries its labels is not one of them.
    const selector = labelSelectorOf(workload);
    const namespace = workload.metadata?.namespace;
    if (selector) {
      const owners =
        plan.resource === 'deployments'
          ? (
              await reads.list(
                { verb: 'get', resource: 'replicasets', namespace },
                { labelSelector: selector },
              )
            ).filter(rs => ownedBy(rs, workload))
          : [workload];
      const picked = await reads.list(
        { verb: 'get', resource: 'pods', namespace },
        { labelSelector: selector },
      );
      pods = picked.filter(p => owners.some(o => ownedBy(p, o)));
      const others = picked.length - pods.length;
      steps.push(
        `listed its pods (${selector}${
          others ? `; ${others} other pods with its labels are not its own` : ''
        })`,
      );
    } else {
      pods = [];
      steps.push(
        'listed no pods: its selector cannot be said as a label selector',
      );
    }
  }
  if (pods.length === 0) {
    return {
      type: 'diagnosis',
      healthy: false,
      answer: `${what} has no pods${
        desired !== undefined ? ` (it wants ${desired})` : ''
      }, so nothing of it is running.`,
      evidence,
      steps,
    };
  }
  const states = pods.map(podState);
  const ready = states.filter(s => s.ready).length;
  const restarts = states.reduce((n, s) => n + s.restarts, 0);
  evidence.push(
    `${ready}/${pods.length} pods Ready, ${restarts} restart${
      restarts === 1 ? '' : 's'
    } in total`,
  );
  const sick = states.find(s => s.problem);
  if (!sick && desired !== undefined && ready < desired) {
    // Healthy pods, but fewer than it asks for: not a healthy workload.
    return {
      type: 'diagnosis',
      healthy: false,
      answer: `${what} has ${ready} of the ${desired} pods it wants Ready, and none of its ${pods.length} pods shows a problem: the others do not exist (yet). Look at its events and its namespace's quota.`,
      evidence,
      steps,
    };
  }
  if (!sick) {
    return {
      type: 'diagnosis',
      healthy: true,
      answer: `${what} looks healthy: ${ready}/${pods.length} pods Ready, ${
        restarts === 0
          ? 'no restarts'
          : `${restarts} restart${restarts === 1 ? '' : 's'} in total`
      }.`,
      evidence,
      steps,
    };
  }
  const namespace = sick.pod.metadata?.namespace ?? '';
  const warnings = await reads.list(
    { verb: 'get', resource: 'events', namespace },
    { fieldSelector: `involvedObject.name=${sick.name},type=Warning` },
  );
  const events = applySort('events', warnings, 'time').slice(0, MAX_EVENTS);
  // The command shown lists them all: the step says how many there are and which are shown.
  let shown = 'none';
  if (warnings.length > events.length) {
    shown = `${warnings.length}, of which the ${events.length} newest are shown`;
  } else if (warnings.length > 0) {
    shown = `${warnings.length}, all shown`;
  }
  steps.push(`read the warning events of pod ${sick.name}: ${shown}`);
  for (const e of events) {
    evidence.push(`event ${quoted(e.reason)}: ${quoted(e.message)}`);
  }
  let logLine: string | undefined;
  if (sick.crashedContainer) {
    try {
      const text = await reads.readLog({
        name: sick.name,
        namespace,
        container: sick.crashedContainer,
        tailLines: LOG_TAIL_LINES,
        previous: true,
        limitBytes: LOG_LIMIT_BYTES,
      });
      // A log may print credentials (a connection string, `password=`): scrubbed as events are,
      // as one text before it is cut into lines, so a value printed over lines is hidden whole.
      const lines = lastLines(scrubText(text), LOG_TAIL_LINES);
      steps.push(
        `read the last ${LOG_TAIL_LINES} log lines of the previous run of ${sick.crashedContainer}`,
      );
      if (lines.length) {
        logLine = lines[lines.length - 1];
        evidence.push(...lines.slice(-3).map(l => `log: ${short(l)}`));
      }
    } catch {
      steps.push(
        `the previous log of ${sick.crashedContainer} could not be read`,
      );
    }
  }
  let because = '';
  if (logLine) {
    because = ` Its previous log ends with: "${logLine.slice(0, 300)}".`;
  } else if (events[0]) {
    because = ` Latest warning: ${quoted(events[0].reason)}: ${scrubText(
      String(events[0].message),
    ).slice(0, 300)}.`;
  }
  return {
    type: 'diagnosis',
    healthy: false,
    answer: `${what} is not healthy (${ready}/${pods.length} pods Ready): ${sick.problem}.${because}`,
    evidence,
    steps,
  };
}
