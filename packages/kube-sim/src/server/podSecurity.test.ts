import {
  evaluatePod,
  forbiddenDetail,
  forbiddenReason,
  policyToEvaluate,
} from './podSecurity';

// The check texts of k8s.io/pod-security-admission/policy (v1.26), one check at a time.
const detail = (
  level: 'baseline' | 'restricted',
  spec: Record<string, unknown>,
  annotations?: Record<string, string>,
) => forbiddenDetail(evaluatePod(level, { annotations }, spec));

const container = (name: string, securityContext?: unknown, extra = {}) => ({
  name,
  image: 'nginx:1.25',
  ...(securityContext ? { securityContext } : {}),
  ...extra,
});

/** A pod the restricted level allows, to add one violation to. */
const restrictedSpec = (over: Record<string, unknown> = {}) => ({
  securityContext: {
    runAsNonRoot: true,
    seccompProfile: { type: 'RuntimeDefault' },
  },
  containers: [
    container('c', {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    }),
  ],
  ...over,
});

describe('Pod Security checks', () => {
  it('privileged checks nothing', () => {
    expect(
      evaluatePod('privileged', {}, { hostNetwork: true, containers: [] }),
    ).toEqual([]);
  });

  it('baseline allows a default pod, restricted allows a hardened one', () => {
    expect(
      evaluatePod('baseline', {}, { containers: [container('c')] }),
    ).toEqual([]);
    expect(evaluatePod('restricted', {}, restrictedSpec())).toEqual([]);
    // A pod-level seccomp profile and runAsNonRoot cover every container; volumes of allowed types.
    expect(
      evaluatePod(
        'restricted',
        {},
        restrictedSpec({
          volumes: [
            { name: 'a', configMap: { name: 'x' } },
            { name: 'b', secret: { secretName: 'x' } },
            { name: 'c', emptyDir: {} },
            { name: 'd', persistentVolumeClaim: { claimName: 'x' } },
            { name: 'e', projected: { sources: [] } },
            { name: 'f', downwardAPI: {} },
            { name: 'g', csi: { driver: 'x' } },
            { name: 'h', ephemeral: {} },
          ],
        }),
      ),
    ).toEqual([]);
  });

  it('reports every baseline check in ID order, containers of every kind', () => {
    const failures = evaluatePod(
      'baseline',
      {
        annotations: {
          'container.apparmor.security.beta.kubernetes.io/a': 'unconfined',
          'container.apparmor.security.beta.kubernetes.io/b':
            'localhost/custom',
        },
      },
      {
        hostNetwork: true,
        hostPID: true,
        hostIPC: true,
        securityContext: {
          seLinuxOptions: { type: 'spc_t' },
          seccompProfile: { type: 'Unconfined' },
          sysctls: [
            { name: 'kernel.msgmax', value: '1' },
            { name: 'net.ipv4.tcp_syncookies', value: '1' },
          ],
          windowsOptions: { hostProcess: true },
        },
        initContainers: [
          container('init', { privileged: true, procMount: 'Unmasked' }),
        ],
        containers: [
          container(
            'a',
            {
              capabilities: { add: ['SYS_ADMIN', 'NET_RAW', 'CHOWN'] },
              seLinuxOptions: { user: 'root' },
            },
            { ports: [{ containerPort: 80, hostPort: 8080 }] },
          ),
          container(
            'b',
            { capabilities: { add: ['NET_RAW'] } },
            {
              ports: [
                { containerPort: 443, hostPort: 443 },
                { containerPort: 1 },
              ],
            },
          ),
        ],
        ephemeralContainers: [
          container('debug', {
            privileged: true,
            windowsOptions: { hostProcess: true },
          }),
        ],
        volumes: [
          { name: 'root', hostPath: { path: '/' } },
          { name: 'cache', emptyDir: {} },
          { name: 'logs', hostPath: { path: '/var/log' } },
        ],
      },
    );
    expect(failures.map(f => f.id)).toEqual([
      'appArmorProfile',
      'capabilities_baseline',
      'hostNamespaces',
      'hostPathVolumes',
      'hostPorts',
      'privileged',
      'procMount',
      'seLinuxOptions',
      'seccompProfile_baseline',
      'sysctls',
      'windowsHostProcess',
    ]);
    expect(failures.map(f => forbiddenDetail([f]))).toEqual([
      'forbidden AppArmor profile (container.apparmor.security.beta.kubernetes.io/a="unconfined")',
      'non-default capabilities (containers "a", "b" must not include "NET_RAW", "SYS_ADMIN" in securityContext.capabilities.add)',
      'host namespaces (hostIPC=true, hostNetwork=true, hostPID=true)',
      'hostPath volumes (volumes "root", "logs")',
      'hostPort (containers "a", "b" use hostPorts 443, 8080)',
      'privileged (containers "init", "debug" must not set securityContext.privileged=true)',
      'procMount (container "init" must not set securityContext.procMount to "Unmasked")',
      'seLinuxOptions (pod and container "a" set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set)',
      'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")',
      'forbidden sysctls (kernel.msgmax)',
      'hostProcess (pod and container "debug" must not set securityContext.windowsOptions.hostProcess=true)',
    ]);
    expect(forbiddenReason(failures)).toBe(
      'forbidden AppArmor profile, non-default capabilities, host namespaces, hostPath volumes, hostPort, privileged, procMount, seLinuxOptions, seccompProfile, forbidden sysctls, hostProcess',
    );
  });

  it('words single and plural findings as upstream does', () => {
    expect(
      detail(
        'baseline',
        { containers: [container('c')] },
        {
          'container.apparmor.security.beta.kubernetes.io/c': 'unconfined',
          'container.apparmor.security.beta.kubernetes.io/d': 'x"y',
        },
      ),
    ).toBe(
      'forbidden AppArmor profiles (container.apparmor.security.beta.kubernetes.io/c="unconfined", container.apparmor.security.beta.kubernetes.io/d="x\\"y")',
    );
    expect(
      detail('baseline', {
        containers: [
          container('c', { seccompProfile: { type: 'Unconfined' } }),
        ],
      }),
    ).toBe(
      'seccompProfile (container "c" must not set securityContext.seccompProfile.type to "Unconfined")',
    );
    expect(
      detail('baseline', {
        containers: [
          container('c', {}, { ports: [{ containerPort: 80, hostPort: 80 }] }),
        ],
      }),
    ).toBe('hostPort (container "c" uses hostPort 80)');
    expect(
      detail('baseline', {
        containers: [container('c', { seLinuxOptions: { role: 'r' } })],
      }),
    ).toBe(
      'seLinuxOptions (container "c" set forbidden securityContext.seLinuxOptions: role may not be set)',
    );
    // Allowed values pass: SELinux container types, Default procMount, a zero hostPort.
    expect(
      evaluatePod(
        'baseline',
        {},
        {
          securityContext: {
            seLinuxOptions: { type: 'container_init_t', level: 's0:c1' },
            seccompProfile: { type: 'Localhost', localhostProfile: 'p.json' },
          },
          containers: [
            container(
              'c',
              { procMount: 'Default', capabilities: { add: ['CHOWN'] } },
              { ports: [{ containerPort: 80, hostPort: 0 }] },
            ),
          ],
        },
      ),
    ).toEqual([]);
  });

  it('restricted: runAsNonRoot, runAsUser, allowPrivilegeEscalation', () => {
    expect(
      detail(
        'restricted',
        restrictedSpec({
          securityContext: {
            runAsNonRoot: false,
            runAsUser: 0,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            container('a', {
              allowPrivilegeEscalation: true,
              capabilities: { drop: ['ALL'] },
              runAsNonRoot: false,
              runAsUser: 0,
            }),
            container('b', {
              allowPrivilegeEscalation: false,
              capabilities: { drop: ['ALL'] },
              runAsNonRoot: true,
              runAsUser: 1000,
            }),
          ],
        }),
      ),
    ).toBe(
      'allowPrivilegeEscalation != false (container "a" must set securityContext.allowPrivilegeEscalation=false), ' +
        'runAsNonRoot != true (pod and container "a" must not set securityContext.runAsNonRoot=false), ' +
        'runAsUser=0 (pod and container "a" must not set runAsUser=0)',
    );
    // Without a pod-level runAsNonRoot, each container must set it.
    expect(
      detail(
        'restricted',
        restrictedSpec({
          securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            container('a', {
              allowPrivilegeEscalation: false,
              capabilities: { drop: ['ALL'] },
              runAsNonRoot: true,
            }),
            container('b', {
              allowPrivilegeEscalation: false,
              capabilities: { drop: ['ALL'] },
            }),
          ],
        }),
      ),
    ).toBe(
      'runAsNonRoot != true (pod or container "b" must set securityContext.runAsNonRoot=true)',
    );
  });

  it('restricted: capabilities and seccomp replace their baseline checks; volume types replace hostPath', () => {
    const failures = evaluatePod(
      'restricted',
      {},
      restrictedSpec({
        securityContext: {
          runAsNonRoot: true,
          seccompProfile: { type: 'Unconfined' },
        },
        containers: [
          container('a', {
            allowPrivilegeEscalation: false,
            capabilities: {
              drop: ['ALL'],
              add: ['SYS_TIME', 'NET_BIND_SERVICE'],
            },
          }),
          container('b', {
            allowPrivilegeEscalation: false,
            capabilities: { add: ['CHOWN'] },
          }),
        ],
        volumes: [
          { name: 'n', nfs: { server: 'x', path: '/' } },
          { name: 'h', hostPath: { path: '/' } },
          { name: 'x' },
        ],
      }),
    );
    expect(failures.map(f => f.id)).toEqual([
      'capabilities_restricted',
      'restrictedVolumes',
      'seccompProfile_restricted',
    ]);
    expect(forbiddenDetail(failures)).toBe(
      'unrestricted capabilities (container "b" must set securityContext.capabilities.drop=["ALL"]; ' +
        'containers "a", "b" must not include "CHOWN", "SYS_TIME" in securityContext.capabilities.add), ' +
        'restricted volume types (volumes "n", "h", "x" use restricted volume types "hostPath", "nfs", "unknown"), ' +
        'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")',
    );
  });

  it('restricted: a Windows pod need not set allowPrivilegeEscalation, capabilities or seccomp', () => {
    expect(
      detail('restricted', {
        os: { name: 'windows' },
        containers: [container('c')],
      }),
    ).toBe(
      'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true)',
    );
  });
});

describe('policyToEvaluate', () => {
  const labels = (kv: Record<string, string>) =>
    Object.fromEntries(
      Object.entries(kv).map(([k, v]) => [
        `pod-security.kubernetes.io/${k}`,
        v,
      ]),
    );
  const lv = (level: string, version = 'latest') => ({ level, version });
  const p = lv('privileged');

  it.each<[string, Record<string, string>, object, boolean]>([
    ['no labels', {}, { enforce: p, warn: p, audit: p }, false],
    [
      'enforce (warn follows it)',
      { enforce: 'baseline' },
      { enforce: lv('baseline'), warn: lv('baseline'), audit: p },
      false,
    ],
    [
      'warn only',
      { warn: 'restricted' },
      { enforce: p, warn: lv('restricted'), audit: p },
      false,
    ],
    [
      'enforce and warn',
      { enforce: 'baseline', warn: 'restricted' },
      { enforce: lv('baseline'), warn: lv('restricted'), audit: p },
      false,
    ],
    [
      'enforce version',
      { enforce: 'baseline', 'enforce-version': 'v1.22' },
      {
        enforce: lv('baseline', 'v1.22'),
        warn: lv('baseline', 'v1.22'),
        audit: p,
      },
      false,
    ],
    [
      'enforce and warn-version',
      { enforce: 'baseline', 'warn-version': 'v1.23' },
      { enforce: lv('baseline'), warn: lv('baseline', 'v1.23'), audit: p },
      false,
    ],
    [
      'warn explicitly privileged',
      { enforce: 'baseline', warn: 'privileged' },
      { enforce: lv('baseline'), warn: p, audit: p },
      false,
    ],
    [
      'invalid warn fails open',
      { enforce: 'baseline', warn: 'foo' },
      { enforce: lv('baseline'), warn: p, audit: p },
      true,
    ],
    [
      'invalid enforce is restricted, and warn does not follow it',
      { enforce: 'foo' },
      { enforce: lv('restricted'), warn: p, audit: p },
      true,
    ],
    [
      'invalid version is latest',
      { enforce: 'baseline', 'enforce-version': 'v1.01' },
      { enforce: lv('baseline'), warn: lv('baseline'), audit: p },
      true,
    ],
  ])('%s', (_name, kv, expected, hasErrors) => {
    const { policy, errors } = policyToEvaluate(
      labels({ ...kv, other: 'x' } as Record<string, string>),
    );
    expect(policy).toEqual(expected);
    expect(errors.length > 0).toBe(hasErrors);
  });

  it('words label errors as field.Invalid', () => {
    expect(
      policyToEvaluate(labels({ enforce: 'strict', 'warn-version': '1.25' }))
        .errors,
    ).toEqual([
      {
        field: 'metadata.labels[pod-security.kubernetes.io/enforce]',
        message:
          'Invalid value: "strict": must be one of privileged, baseline, restricted',
      },
      {
        field: 'metadata.labels[pod-security.kubernetes.io/warn-version]',
        message: 'Invalid value: "1.25": must be "latest" or "v1.x"',
      },
    ]);
  });
});
