import {
  AuditorServiceCreateEventOptions,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import {
  ActionsService,
  actionsServiceRef,
} from '@backstage/backend-plugin-api/alpha';
import { mockServices } from '@backstage/backend-test-utils';
import { KubeSim } from '@internal/kube-sim';

/** An audit event the backend created (with the caller's credentials), and what it then said of it. */
export type AuditCall = {
  options: AuditorServiceCreateEventOptions & { credentials?: unknown };
  success: jest.Mock;
  fail: jest.Mock;
};

/** An auditor that records each event the backend creates in `audit`, in order. */
export function recordingAuditor(
  audit: AuditCall[],
): ReturnType<typeof mockServices.auditor.mock>['factory'] {
  return mockServices.auditor.mock({
    createEvent: jest.fn(async options => {
      const call: AuditCall = {
        options,
        success: jest.fn(),
        fail: jest.fn(),
      };
      audit.push(call);
      return call;
    }),
  }).factory;
}

/**
 * The `kubernetes` configuration of one cluster, `sim`: kube-sim at its admin token, its CA trusted
 * (`tls: 'ca'`) or its certificate not checked (`tls: 'skip'`, a test only).
 */
export function simCluster(sim: KubeSim, tls: 'ca' | 'skip' = 'ca') {
  return {
    clusterLocatorMethods: [
      {
        type: 'config',
        clusters: [
          {
            name: 'sim',
            url: sim.url,
            serviceAccountToken: sim.token,
            ...(tls === 'ca'
              ? { caData: sim.caData }
              : { skipTLSVerify: true }),
          },
        ],
      },
    ],
  };
}

/** A plugin that hands the backend's actions service to `receive`, to invoke actions as a caller. */
export function actionsProbe(receive: (actions: ActionsService) => void) {
  return createBackendPlugin({
    pluginId: 'probe',
    register(env) {
      env.registerInit({
        deps: { actionsService: actionsServiceRef },
        async init({ actionsService }) {
          receive(actionsService);
        },
      });
    },
  });
}
