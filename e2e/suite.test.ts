// The browser tests, in the order they run: the audit test reads the trail that the tenant test's
// scaffolder runs leave. Each file launches its own headless Chromium (see browser.ts).
import './catalog.e2e.ts';
import './kubernetes.e2e.ts';
import './assistant.e2e.ts';
import './assistant-diagnosis.e2e.ts';
// Approvals: a protected tenant's run waits until another user approves it in their own session.
// Before tenant.e2e.ts: the screens test looks at the newest tenant, the one tenant.e2e.ts provisions.
import './approvals.e2e.ts';
import './tenant.e2e.ts';
import './audit.e2e.ts';
// An AI agent's view: a real MCP client against the running backend, acting as the guest.
import './mcp.e2e.ts';
// A manual kubectl change after a chart run: the drift badge and diff, then "Re-apply last run".
import './drift.e2e.ts';
// Templates and tenant screens on a tenant of its own: pods in its Kubernetes tab, the history link,
// manifests reviewed before Create, the tenants page, a typed-name delete.
import './templates.e2e.ts';
// Last: reads what the tenant test left, screenshots every KubeChart screen, and fails on console
// problems our plugins caused anywhere above.
import './screens.e2e.ts';
