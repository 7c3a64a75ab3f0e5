import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import type { PolicyReport } from '@kubechart/plugin-kubechart-common';
import { kubechartApiRef } from '../../api';
import {
  makeEvent,
  makeRun,
  mockKubechartApi,
  refusingReport,
} from '../../testUtils/fixtures';
import { RunDetail } from './RunDetail';

const mockCopied = jest.fn((_text: string) => true);
jest.mock('copy-to-clipboard', () => (text: string) => mockCopied(text));

const current = makeRun({ id: 'run-2', helmRevision: 4 });
const previous = makeRun({
  id: 'run-1',
  helmRevision: 3,
  createdAt: '2026-01-01T09:00:00Z',
});

/** A failed run of release risky whose policy report blocks it; what it applied is not recorded. */
const blockedRisky = {
  ...current,
  status: 'failed' as const,
  helmRevision: undefined,
  policyReport: refusingReport(
    'risky',
    'image nginx:latest is not pinned',
    'pin the image',
  ),
  manifest: 'kind: Deployment\nmetadata:\n  name: risky\n',
};

const VALUES_PATCH = [
  'Index: values',
  '===================================================================',
  '--- values@run-1',
  '+++ values@run-2',
  '@@ -1,2 +1,2 @@',
  '-replicas: 2',
  '+replicas: 3',
  ' image: nginx',
  '',
].join('\n');

function render(api: ReturnType<typeof mockKubechartApi>) {
  // The history the rollback button reads: run-2 is the release's current revision.
  api.listRuns.mockResolvedValue({ items: [current, previous] });
  return renderInTestApp(
    <TestApiProvider apis={[[kubechartApiRef, api]]}>
      <RunDetail runId="run-2" candidates={[current, previous]} />
    </TestApiProvider>,
    { apis: [mockApis.permission(), mockApis.alert()] },
  );
}

describe('RunDetail', () => {
  it('shows the error when the run cannot be read', async () => {
    const api = mockKubechartApi();
    api.getRun.mockRejectedValue(new Error('Run run-2 not found'));
    api.getRunEvents.mockResolvedValue([]);
    render(api);
    expect(
      await screen.findByText('Error: Run run-2 not found', { selector: 'h6' }),
    ).toBeInTheDocument();
  });

  it('shows the key facts, then values and manifest in their tabs', async () => {
    const api = mockKubechartApi();
    api.getRun.mockResolvedValue(current);
    api.getRunEvents.mockResolvedValue([
      makeEvent(2, { message: 'second' }),
      makeEvent(1, { message: 'first' }),
    ]);
    render(api);
    const header = await screen.findByTestId('kubechart-run-header');
    expect(header).toHaveTextContent('Run run-2');
    expect(header).toHaveTextContent('succeeded');
    expect(header).toHaveTextContent('dev / shop / web');
    expect(header).toHaveTextContent('Helm revision4');
    expect(header).toHaveTextContent('Started byalice');
    const log = screen.getByTestId('kubechart-run-log');
    expect(log.textContent!.indexOf('first')).toBeLessThan(
      log.textContent!.indexOf('second'),
    );
    // The manifest is not inline on the page: it is in its tab.
    expect(screen.queryByText(/kind: Service/)).not.toBeInTheDocument();

    await userEvent.click(screen.getByRole('tab', { name: 'Values' }));
    // The code view splits text into highlighted tokens; compare the rendered text.
    const values = screen.getByLabelText('Values (secrets redacted)');
    await waitFor(() =>
      expect(values.textContent).toContain('"password": "***"'),
    );
    await userEvent.click(screen.getByRole('tab', { name: 'Manifest' }));
    const manifest = screen.getByLabelText('Manifest');
    await waitFor(() =>
      expect(manifest.textContent).toContain('kind: Service'),
    );
  });

  it('shows each step once with its final state, and the run status as a log line', async () => {
    const api = mockKubechartApi();
    api.getRun.mockResolvedValue(current);
    const step = (
      seq: number,
      name: string,
      stepStatus: 'started' | 'succeeded' | 'skipped',
      message = '',
    ) => makeEvent(seq, { type: 'step', step: name, stepStatus, message });
    api.getRunEvents.mockResolvedValue([
      step(1, 'namespace', 'started'),
      step(2, 'namespace', 'skipped', 'namespace shop exists'),
      step(3, 'release:web', 'started'),
      step(4, 'release:web', 'succeeded'),
      makeEvent(5, { type: 'status', message: 'Run succeeded in 3.2s' }),
    ]);
    render(api);
    const steps = await screen.findByTestId('kubechart-run-steps');
    const rows = within(steps).getAllByRole('row');
    expect(rows.map(r => r.textContent)).toEqual([
      expect.stringMatching(/^skipped\s*namespace\s*namespace shop exists/),
      expect.stringMatching(/^succeeded\s*release:web/),
    ]);
    expect(steps).not.toHaveTextContent('pending');
    expect(steps).not.toHaveTextContent('running');
    expect(screen.getByTestId('kubechart-run-log')).toHaveTextContent(
      'Run succeeded in 3.2s',
    );
  });

  it('shows a refusal first: the broken rule, no stack trace, no Retry, and what was refused', async () => {
    const report = refusingReport(
      'risky',
      'image nginx:latest is not pinned',
      'pin the image to a version or digest',
    );
    const api = mockKubechartApi();
    api.getRun.mockResolvedValue({
      ...current,
      status: 'failed',
      helmRevision: undefined,
      policyReport: report,
      failureReason:
        'Chart policy (enforce) blocked release risky\n    at installRelease (/app/dist/executors.js:10:3)',
      applied: [],
    });
    api.getRunEvents.mockResolvedValue([]);
    render(api);
    const failure = await screen.findByTestId('kubechart-run-failure');
    expect(failure).toHaveTextContent('Refused by the chart policy');
    expect(failure).toHaveTextContent('Nothing was applied');
    expect(failure).toHaveTextContent(
      '[image-tag] Deployment/shop/risky: image nginx:latest is not pinned',
    );
    expect(screen.queryByText(/executors\.js/)).not.toBeInTheDocument();
    // The failure comes before the tabs.
    expect(
      failure.compareDocumentPosition(
        screen.getByRole('tab', { name: 'Policy' }),
      ) & Node.DOCUMENT_POSITION_FOLLOWING,
    ).toBeTruthy();
    await act(() => new Promise(resolve => setTimeout(resolve, 50)));
    expect(
      screen.queryByRole('button', { name: 'Retry' }),
    ).not.toBeInTheDocument();
    await userEvent.click(screen.getByRole('tab', { name: 'Manifest' }));
    expect(
      screen.getByText(/Manifest the run rendered \(not applied/),
    ).toBeInTheDocument();
  });

  it('shows the values and the refused manifest of a refused run, and says a manifests run has no values', async () => {
    const api = mockKubechartApi();
    api.getRun.mockResolvedValue({
      ...current,
      status: 'failed',
      values: { image: { repository: 'nginx', tag: 'latest' } },
      manifest: 'kind: Deployment\nmetadata:\n  name: risky\n',
      failureReason: 'Chart policy (enforce) blocked release risky',
      applied: [],
    });
    api.getRunEvents.mockResolvedValue([]);
    const { unmount } = await render(api);
    await screen.findByTestId('kubechart-run-failure');
    await userEvent.click(screen.getByRole('tab', { name: 'Values' }));
    await waitFor(() =>
      expect(
        screen.getByLabelText('Values (secrets redacted)').textContent,
      ).toContain('"tag": "latest"'),
    );
    expect(screen.queryByText(/recorded no values/)).not.toBeInTheDocument();
    await userEvent.click(screen.getByRole('tab', { name: 'Manifest' }));
    expect(
      screen.getByText(/Manifest the run rendered \(not applied/),
    ).toBeInTheDocument();
    await waitFor(() =>
      expect(screen.getByLabelText('Manifest').textContent).toContain(
        'name: risky',
      ),
    );
    unmount();

    api.getRun.mockResolvedValue({
      ...current,
      kind: 'manifests',
      status: 'failed',
      values: undefined,
      manifest: 'kind: ConfigMap\nmetadata:\n  name: settings\n',
    });
    await render(api);
    await screen.findByTestId('kubechart-run-failure');
    await userEvent.click(screen.getByRole('tab', { name: 'Values' }));
    expect(
      screen.getByText(/A manifests run has no Helm values/),
    ).toBeInTheDocument();
    expect(screen.queryByText(/recorded no values/)).not.toBeInTheDocument();
  });

  it('shows a failure reason without its stack frames', async () => {
    const api = mockKubechartApi();
    api.getRun.mockResolvedValue({
      ...current,
      status: 'failed',
      failureReason:
        'helm exited with 1: timed out waiting for the condition\n    at HelmCli.run (/app/HelmCli.js:1:1)',
    });
    api.getRunEvents.mockResolvedValue([]);
    render(api);
    const failure = await screen.findByTestId('kubechart-run-failure');
    expect(failure).toHaveTextContent(
      'helm exited with 1: timed out waiting for the condition',
    );
    expect(failure).not.toHaveTextContent('HelmCli.js');
  });

  it('renders the policy report with failed rules first', async () => {
    const report: PolicyReport = {
      mode: 'enforce',
      passed: false,
      blocking: true,
      summary: { objects: 2, errors: 1, warnings: 0, infos: 0 },
      results: [
        {
          ruleId: 'resources-limits',
          severity: 'error',
          passed: true,
          object: { kind: 'Deployment', name: 'web', namespace: 'shop' },
          message: 'limits set',
          fix: '',
        },
        {
          ruleId: 'no-privileged',
          severity: 'error',
          passed: false,
          object: { kind: 'Deployment', name: 'api', namespace: 'shop' },
          message: 'container api runs privileged',
          fix: 'set securityContext.privileged: false',
        },
      ],
    };
    const api = mockKubechartApi();
    api.getRun.mockResolvedValue({
      ...current,
      status: 'failed',
      policyReport: report,
    });
    api.getRunEvents.mockResolvedValue([]);
    render(api);
    await userEvent.click(await screen.findByRole('tab', { name: 'Policy' }));
    expect(await screen.findByText('Policy report')).toBeInTheDocument();
    const rows = screen
      .getAllByRole('row')
      .filter(r => within(r).queryByText(/Deployment\/shop/));
    expect(rows[0]).toHaveTextContent('no-privileged');
    expect(rows[0]).toHaveTextContent('set securityContext.privileged: false');
    expect(rows[1]).toHaveTextContent('resources-limits');
  });

  it('diffs against another run chosen from the list', async () => {
    const api = mockKubechartApi();
    api.getRun.mockResolvedValue(current);
    api.getRunEvents.mockResolvedValue([]);
    api.getRunDiff.mockResolvedValue({
      from: 'run-1',
      to: 'run-2',
      values: VALUES_PATCH,
      manifest: '',
    });
    render(api);
    await screen.findByText('Run run-2');
    expect(api.getRunDiff).not.toHaveBeenCalled();
    await userEvent.click(screen.getByRole('tab', { name: 'Compare' }));

    await userEvent.click(screen.getByLabelText('Compare with'));
    const options = within(await screen.findByRole('listbox')).getAllByRole(
      'option',
    );
    // The run itself is not offered.
    expect(options).toHaveLength(1);
    await userEvent.click(options[0]);

    await waitFor(() =>
      expect(api.getRunDiff).toHaveBeenCalledWith('run-1', 'run-2'),
    );
    const removed = await screen.findByText('-replicas: 2');
    expect(removed).toHaveAttribute('data-diff', '-');
    expect(screen.getByText('+replicas: 3')).toHaveAttribute('data-diff', '+');
    expect(screen.getByText(/image: nginx/)).toHaveAttribute('data-diff', ' ');
    expect(screen.getByText('No differences.')).toBeInTheDocument();
    expect(screen.queryByText(/secret values? (is|are) hidden/)).toBeNull();
  });

  it('warns that hidden secret values are not compared', async () => {
    const api = mockKubechartApi();
    api.getRun.mockResolvedValue(current);
    api.getRunEvents.mockResolvedValue([]);
    api.getRunDiff.mockResolvedValue({
      from: 'run-1',
      to: 'run-2',
      values: '',
      manifest: '',
      hiddenSecrets: 2,
    });
    render(api);
    await screen.findByText('Run run-2');
    await userEvent.click(screen.getByRole('tab', { name: 'Compare' }));
    await userEvent.click(screen.getByLabelText('Compare with'));
    await userEvent.click(
      within(await screen.findByRole('listbox')).getAllByRole('option')[0],
    );
    expect(
      await screen.findByText(
        '2 secret values are hidden in these runs and are not compared: a changed secret does not show in this diff.',
      ),
    ).toBeInTheDocument();
  });
  it('does not call a run stopped by the policy after it changed the cluster refused, and names what it applied', async () => {
    const api = mockKubechartApi();
    api.getRun.mockResolvedValue({
      ...current,
      kind: 'tenant',
      status: 'failed',
      helmRevision: undefined,
      policyReport: refusingReport(
        'bad',
        'container bad is privileged',
        'drop privileged',
      ),
      manifest: 'kind: Deployment\nmetadata:\n  name: bad\n',
      failureReason:
        'Chart policy (enforce) blocked release bad; nothing more was installed; before that, this run changed the cluster: created Namespace/tenant-halfway, installed release web revision 1 in tenant-halfway',
      applied: [
        'created Namespace/tenant-halfway',
        'installed release web revision 1 in tenant-halfway',
      ],
    });
    api.getRunEvents.mockResolvedValue([]);
    render(api);
    const failure = await screen.findByTestId('kubechart-run-failure');
    expect(failure).toHaveTextContent('Stopped by the chart policy');
    expect(failure).not.toHaveTextContent('Refused');
    expect(failure).not.toHaveTextContent('Nothing was applied');
    expect(failure).toHaveTextContent(
      'The run changed the cluster before the policy stopped it',
    );
    expect(
      within(failure).getByText(
        'installed release web revision 1 in tenant-halfway',
      ),
    ).toBeInTheDocument();
    expect(failure).toHaveTextContent(
      '[image-tag] Deployment/shop/bad: container bad is privileged',
    );
    await userEvent.click(screen.getByRole('tab', { name: 'Manifest' }));
    expect(
      screen.getByText(/the run failed after it changed the cluster/),
    ).toBeInTheDocument();
    expect(screen.queryByText(/not applied/)).not.toBeInTheDocument();
  });

  it('says it is not known what a stopped run applied when the run did not record it', async () => {
    const api = mockKubechartApi();
    api.getRun.mockResolvedValue({
      ...blockedRisky,
      failureReason: 'Chart policy (enforce) blocked release risky',
      // It ran (claimed), on an instance that did not record what it changed.
      transitions: [
        { status: 'pending', at: '2026-01-01T10:00:00Z' },
        { status: 'running', at: '2026-01-01T10:00:01Z' },
        { status: 'failed', at: '2026-01-01T10:00:09Z' },
      ],
    });
    api.getRunEvents.mockResolvedValue([]);
    render(api);
    const failure = await screen.findByTestId('kubechart-run-failure');
    expect(failure).toHaveTextContent('Stopped by the chart policy');
    expect(failure).toHaveTextContent('is not known');
    expect(failure).not.toHaveTextContent('Nothing was applied');
    await userEvent.click(screen.getByRole('tab', { name: 'Manifest' }));
    expect(
      screen.getByText(/whether any of it was applied is not known/),
    ).toBeInTheDocument();
  });

  it('names what a failed run changed before it failed, counting the changes its record did not name', async () => {
    const api = mockKubechartApi();
    const named = Array.from(
      { length: 10 },
      (_, i) => `created ConfigMap/c${i} in shop`,
    );
    api.getRun.mockResolvedValue({
      ...current,
      kind: 'manifests',
      status: 'failed',
      helmRevision: undefined,
      failureReason: 'Deployment/web in shop did not become ready in 300s',
      applied: [...named, 'and 5 more'],
    });
    api.getRunEvents.mockResolvedValue([]);
    render(api);
    const failure = await screen.findByTestId('kubechart-run-failure');
    expect(failure).toHaveTextContent('Failure reason');
    expect(failure).toHaveTextContent(
      'The run changed the cluster before it failed',
    );
    expect(within(failure).getAllByRole('listitem')).toHaveLength(8);
    expect(failure).toHaveTextContent('created ConfigMap/c7 in shop');
    expect(failure).not.toHaveTextContent('created ConfigMap/c8 in shop');
    // 2 named but not shown, and the 5 the record counted.
    expect(failure).toHaveTextContent('… and 7 more.');
  });
  it('says nothing was applied for a policy-blocked request that was rejected while it waited for approval', async () => {
    const api = mockKubechartApi();
    api.getRun.mockResolvedValue({
      ...blockedRisky,
      failureReason: 'Rejected by user:default/bob: not this one',
      // Never claimed: it went from awaiting approval to failed.
      transitions: [
        { status: 'awaiting-approval', at: '2026-01-01T10:00:00Z' },
        { status: 'failed', at: '2026-01-01T10:05:00Z' },
      ],
    });
    api.getRunEvents.mockResolvedValue([]);
    render(api);
    const failure = await screen.findByTestId('kubechart-run-failure');
    expect(failure).toHaveTextContent('Refused by the chart policy');
    expect(failure).toHaveTextContent('Nothing was applied');
    await userEvent.click(screen.getByRole('tab', { name: 'Manifest' }));
    expect(
      screen.getByText(/Manifest the run rendered \(not applied/),
    ).toBeInTheDocument();
  });
  it('shows the hidden characters of a manifest, failure reason and log as markers, and copies the manifest as it is', async () => {
    const manifest =
      'kind: ConfigMap\ndata:\n  run.sh: "echo ok \u202E hs|x lruc && \u202C"\n';
    const api = mockKubechartApi();
    api.getRun.mockResolvedValue({
      ...current,
      status: 'failed',
      failureReason: 'hook kube\u200Bctl failed',
      manifest,
    });
    api.getRunEvents.mockResolvedValue([
      makeEvent(1, { message: 'ran \u2066sh\u2069' }),
    ]);
    render(api);
    const failure = await screen.findByTestId('kubechart-run-failure');
    expect(failure).toHaveTextContent('hook kube⟨U+200B⟩ctl failed');
    expect(failure.textContent).not.toContain('\u200B');
    const log = screen.getByTestId('kubechart-run-log');
    expect(log.textContent).toContain('ran ⟨U+2066⟩sh⟨U+2069⟩');
    expect(log.textContent).not.toMatch(/[\u2066\u2069]/);

    await userEvent.click(screen.getByRole('tab', { name: 'Manifest' }));
    const shown = screen.getByLabelText('Manifest');
    expect(shown.textContent).toContain(
      'run.sh: "echo ok ⟨U+202E⟩ hs|x lruc && ⟨U+202C⟩"',
    );
    expect(shown.textContent).not.toMatch(/[\u202C\u202E]/);
    expect(shown).toHaveTextContent(
      'This text holds 2 invisible or direction-changing characters, shown as ⟨U+…⟩.',
    );
    // Copying gives the manifest itself, not the markers.
    await userEvent.click(
      within(shown).getByRole('button', { name: 'Copy text' }),
    );
    expect(mockCopied).toHaveBeenLastCalledWith(manifest);
  });
});
