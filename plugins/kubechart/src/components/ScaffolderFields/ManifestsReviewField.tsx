import { useEffect, useMemo } from 'react';
import { CodeSnippet, Progress } from '@backstage/core-components';
import {
  discoveryApiRef,
  fetchApiRef,
  useApi,
} from '@backstage/core-plugin-api';
import type {
  CustomFieldValidator,
  FieldExtensionComponentProps,
} from '@backstage/plugin-scaffolder-react';
import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import useAsync from 'react-use/esm/useAsync';
import { PolicyReportSummary } from './PolicyReportSummary';
import { previewRun } from './previewClient';
import { VisibleCode } from '../shared/visibleText';
import {
  WorkloadForm,
  generateWorkloadManifests,
  missingWorkloadFields,
} from './workloadManifests';

/** `ui:options` of the field: which form fields name the target (defaults in brackets). */
export type ManifestsReviewOptions = {
  /** Form field with the cluster [cluster]. */
  clusterField?: string;
  /** Form field with the namespace [namespace]. */
  namespaceField?: string;
  /** Form field with the entity ref [entity]. */
  entityField?: string;
};

/** The backend's own message of a failed request (a ResponseError carries it in its body). */
function serverMessage(error: Error): string {
  return (
    (error as { body?: { error?: { message?: string } } }).body?.error
      ?.message ?? error.message
  );
}

/** Name of the field extension, as templates write it in `ui:field`. @public */
export const MANIFESTS_REVIEW_FIELD = 'KubechartManifestsReview';

/**
 * Generates the workload's manifests from the form, asks the kubechart backend for a dry run and
 * shows the YAML with its policy report. The field's value is the reviewed YAML itself, set only
 * once the dry run passed: the template applies that value, so nothing reaches the cluster that
 * the user has not seen, and a form change produces a new review.
 */
export function ManifestsReviewField(
  props: FieldExtensionComponentProps<string, ManifestsReviewOptions>,
) {
  const { onChange, formData, formContext, uiSchema, name } = props;
  const options = uiSchema?.['ui:options'] ?? {};
  const discoveryApi = useApi(discoveryApiRef);
  const fetchApi = useApi(fetchApiRef);
  const all = (formContext?.formData ?? {}) as Record<string, any>;
  const cluster = all[options.clusterField ?? 'cluster'] as string | undefined;
  const namespace = all[options.namespaceField ?? 'namespace'] as
    | string
    | undefined;
  const entityRef = all[options.entityField ?? 'entity'] as string | undefined;
  const { [name]: _own, ...rest } = all;
  const formKey = JSON.stringify(rest);

  const generated = useMemo(() => {
    const form = JSON.parse(formKey) as WorkloadForm;
    const missing = [
      ...missingWorkloadFields(form),
      ...(cluster ? [] : ['cluster']),
      ...(namespace ? [] : ['namespace']),
    ];
    if (missing.length) return { missing };
    return { yaml: generateWorkloadManifests(form) };
  }, [formKey, cluster, namespace]);

  const preview = useAsync(async () => {
    if (!generated.yaml) return undefined;
    return previewRun(
      { discoveryApi, fetchApi },
      {
        kind: 'manifests',
        cluster: cluster!,
        namespace: namespace!,
        manifests: generated.yaml,
        ...(entityRef ? { entityRef } : {}),
      },
    );
  }, [generated.yaml, cluster, namespace, entityRef]);

  const approved =
    !preview.loading &&
    !preview.error &&
    !!preview.value &&
    !preview.value.policyReport?.blocking;
  useEffect(() => {
    const next = approved ? generated.yaml : undefined;
    if (next !== formData) onChange(next);
  }, [approved, generated.yaml, formData, onChange]);

  return (
    <Box mb={2}>
      <Typography variant="h6">Review the manifests</Typography>
      <Typography variant="body2" color="textSecondary" paragraph>
        This is exactly what Create applies, after the same policy and scope
        checks. Nothing is applied before you press Create.
      </Typography>
      {generated.missing && (
        <Alert severity="info">
          Fill in {generated.missing.join(', ')} on the previous steps to
          generate the manifests.
        </Alert>
      )}
      {preview.loading && (
        <Box role="status">
          <Typography variant="body2">
            Checking the manifests with a dry run and the policy; Review goes on
            once the check has passed.
          </Typography>
          <Progress />
        </Box>
      )}
      {preview.error && (
        <Alert severity="error">
          The dry run did not answer: {serverMessage(preview.error)}
        </Alert>
      )}
      {preview.value?.policyReport && (
        <PolicyReportSummary report={preview.value.policyReport} />
      )}
      {generated.yaml && (
        <Box mt={2} data-testid="kubechart-manifests-yaml">
          <VisibleCode text={generated.yaml}>
            <CodeSnippet
              language="yaml"
              text={generated.yaml}
              showLineNumbers
              showCopyCodeButton
            />
          </VisibleCode>
        </Box>
      )}
    </Box>
  );
}

/** Blocks the step until the dry run approved the manifests shown. */
export const manifestsReviewValidation: CustomFieldValidator<string> = (
  value,
  validation,
) => {
  if (!value) {
    validation.addError(
      'The manifests have not passed the dry run yet: wait for the review, or fix what the policy refuses.',
    );
  }
};
