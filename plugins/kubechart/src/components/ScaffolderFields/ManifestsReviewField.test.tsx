import { screen, waitFor } from '@testing-library/react';
import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { discoveryApiRef, fetchApiRef } from '@backstage/core-plugin-api';
import type { PolicyReport } from '@kubechart/plugin-kubechart-common';
import {
  ManifestsReviewField,
  manifestsReviewValidation,
} from './ManifestsReviewField';

const form = {
  entity: 'system:default/acme',
  name: 'hello',
  image: 'ghcr.io/kubechart/example-web',
  tag: '1.0.0',
  cluster: 'kube-sim',
  namespace: 'tenant-acme',
};

const report = (over: Partial<PolicyReport> = {}): PolicyReport => ({
  mode: 'enforce',
  passed: true,
  blocking: false,
  summary: { objects: 4, errors: 0, warnings: 0, infos: 0 },
  results: [],
  ...over,
});

function render(answer: Response | Promise<Response>, formData?: string) {
  const fetch = jest.fn(async () => answer);
  const onChange = jest.fn();
  const props: any = {
    name: 'manifests',
    formData,
    onChange,
    formContext: { formData: { ...form, manifests: formData } },
    uiSchema: {},
    schema: { type: 'string' },
    idSchema: { $id: 'root_manifests' },
    rawErrors: [],
  };
  const result = renderInTestApp(
    <TestApiProvider
      apis={[
        [fetchApiRef, { fetch }],
        [discoveryApiRef, mockApis.discovery({ baseUrl: 'http://backend' })],
      ]}
    >
      <ManifestsReviewField {...props} />
    </TestApiProvider>,
  );
  return { fetch, onChange, result };
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  });

describe('ManifestsReviewField', () => {
  it('shows the generated YAML and its dry-run policy report, and takes that YAML as its value', async () => {
    const { fetch, onChange } = render(
      json({ kind: 'manifests', target: {}, policyReport: report() }),
    );
    expect(
      await screen.findByText(
        /Policy check passed \(enforce\): 4 objects, 0 errors, 0 warnings/,
      ),
    ).toBeInTheDocument();
    expect(screen.getByTestId('kubechart-manifests-yaml')).toHaveTextContent(
      'kind: Deployment',
    );
    const [url, init] = fetch.mock.calls[0] as any[];
    expect(url).toBe('http://backend/api/kubechart/runs/preview');
    const body = JSON.parse(init.body);
    expect(body).toMatchObject({
      kind: 'manifests',
      cluster: 'kube-sim',
      namespace: 'tenant-acme',
      entityRef: 'system:default/acme',
    });
    await waitFor(() =>
      expect(onChange).toHaveBeenLastCalledWith(body.manifests),
    );
    expect(body.manifests).toContain(
      'image: ghcr.io/kubechart/example-web:1.0.0',
    );
  });

  it('says the check is running until the dry run answers, and sets no value meanwhile', async () => {
    let answer: (r: Response) => void = () => {};
    const pending = new Promise<Response>(r => {
      answer = r;
    });
    const { onChange } = render(pending);
    expect(
      await screen.findByText(/Checking the manifests with a dry run/),
    ).toBeInTheDocument();
    expect(onChange).not.toHaveBeenCalledWith(expect.stringContaining('kind'));
    answer(json({ kind: 'manifests', target: {}, policyReport: report() }));
    expect(await screen.findByText(/Policy check passed/)).toBeInTheDocument();
    expect(
      screen.queryByText(/Checking the manifests with a dry run/),
    ).not.toBeInTheDocument();
  });

  it('lists what the policy refuses and leaves the field empty, so the form cannot go on to Create', async () => {
    const refused = report({
      passed: false,
      blocking: true,
      summary: { objects: 4, errors: 1, warnings: 0, infos: 0 },
      results: [
        {
          ruleId: 'image-registry',
          severity: 'error',
          passed: false,
          object: { kind: 'Deployment', name: 'hello' },
          message: 'image is not from a trusted registry',
          fix: 'use a trusted registry',
        },
      ],
    });
    const { onChange } = render(
      json({ kind: 'manifests', target: {}, policyReport: refused }),
      'stale: yaml',
    );
    expect(
      await screen.findByText(/The policy refuses these manifests/),
    ).toBeInTheDocument();
    expect(
      screen.getByText('error [image-registry] Deployment/hello'),
    ).toBeInTheDocument();
    expect(
      screen.getByText('image is not from a trusted registry'),
    ).toBeInTheDocument();
    await waitFor(() => expect(onChange).toHaveBeenCalledWith(undefined));
    expect(onChange).not.toHaveBeenCalledWith(expect.stringContaining('kind:'));
  });

  it('shows the backend error of the dry run', async () => {
    render(
      json(
        {
          error: {
            name: 'NotAllowedError',
            message: 'Not allowed: kubechart.runs.create',
          },
          request: { method: 'POST', url: '/api/kubechart/runs/preview' },
          response: { statusCode: 403 },
        },
        403,
      ),
    );
    expect(
      await screen.findByText(
        'The dry run did not answer: Not allowed: kubechart.runs.create',
      ),
    ).toBeInTheDocument();
  });

  it('its validation stops the step until the dry run approved the manifests', () => {
    const errors: string[] = [];
    manifestsReviewValidation(
      undefined as any,
      { addError: (e: string) => errors.push(e) } as any,
      {} as any,
    );
    expect(errors[0]).toMatch(/not passed the dry run yet/);
    const none: string[] = [];
    manifestsReviewValidation(
      'kind: Deployment',
      { addError: (e: string) => none.push(e) } as any,
      {} as any,
    );
    expect(none).toEqual([]);
  });
  it('shows hidden characters of the generated YAML as markers, and still takes the YAML itself as its value', async () => {
    const fetch = jest.fn(async () =>
      json({ kind: 'manifests', target: {}, policyReport: report() }),
    );
    const onChange = jest.fn();
    const withEnv = { ...form, env: { SCRIPT: 'echo ok \u202E hs|x lruc' } };
    await renderInTestApp(
      <TestApiProvider
        apis={[
          [fetchApiRef, { fetch }],
          [discoveryApiRef, mockApis.discovery({ baseUrl: 'http://backend' })],
        ]}
      >
        <ManifestsReviewField
          {...({
            name: 'manifests',
            onChange,
            formContext: { formData: withEnv },
            uiSchema: {},
            schema: { type: 'string' },
            idSchema: { $id: 'root_manifests' },
            rawErrors: [],
          } as any)}
        />
      </TestApiProvider>,
    );
    await screen.findByText(/Policy check passed/);
    const yaml = screen.getByTestId('kubechart-manifests-yaml');
    expect(yaml.textContent).toContain('echo ok ⟨U+202E⟩ hs|x lruc');
    expect(yaml.textContent).not.toContain('\u202E');
    expect(yaml).toHaveTextContent(
      'This text holds 1 invisible or direction-changing character, shown as ⟨U+…⟩.',
    );
    // What Create applies is the YAML as generated.
    await waitFor(() =>
      expect(onChange).toHaveBeenLastCalledWith(
        expect.stringContaining('echo ok \u202E hs|x lruc'),
      ),
    );
  });
});
