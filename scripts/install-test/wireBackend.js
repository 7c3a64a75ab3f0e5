#!/usr/bin/env node
// The README's backend step: the KubeChart features added to a create-app packages/backend/src/index.ts.
// Usage: wireBackend.js <index.ts>
const fs = require('node:fs');

const [file] = process.argv.slice(2);
let text = fs.readFileSync(file, 'utf8');
const lines = `
// KubeChart: engine, deployment history and health; its template actions; a catalog entity per tenant.
backend.add(import('@kubechart/plugin-kubechart-backend'));
backend.add(import('@kubechart/plugin-scaffolder-backend-module-kubechart'));
backend.add(import('@kubechart/plugin-catalog-backend-module-kubechart'));

// KubeChart audit log: replaces the default auditor (same log lines, plus the store).
backend.add(auditLogAuditorServiceFactory);
backend.add(import('@kubechart/plugin-audit-log-backend'));

// KubeChart Kubernetes assistant.
backend.add(import('@kubechart/plugin-assistant-backend'));

backend.start();
`;
if (!/^backend\.start\(\);$/m.test(text))
  throw new Error(`${file}: no backend.start();`);
text = text.replace(/^backend\.start\(\);\n?/m, lines.trimStart());
text = text.replace(
  /^(import \{ createBackend \} from '@backstage\/backend-defaults';\n)/m,
  `$1import { auditLogAuditorServiceFactory } from '@kubechart/plugin-audit-log-node';\n`,
);
fs.writeFileSync(file, text);
