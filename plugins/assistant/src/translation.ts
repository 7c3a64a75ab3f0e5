import { createTranslationRef } from '@backstage/frontend-plugin-api';

/**
 * Strings of the Kubernetes assistant widget.
 *
 * @public
 */
export const assistantTranslationRef = createTranslationRef({
  id: 'plugin.kube-assistant',
  messages: {
    hiddenCharacters_one:
      'This result holds {{count}} invisible or direction-changing character, shown as ⟨U+…⟩.',
    hiddenCharacters_other:
      'This result holds {{count}} invisible or direction-changing characters, shown as ⟨U+…⟩.',
    title: 'Kubernetes assistant',
    entityTitle: 'Ask about this workload',
    launcher: 'Ask the Kubernetes assistant',
    sidebarItem: 'Ask the assistant',
    placeholder: 'e.g. which pods are crash looping in shop?',
    ask: 'Ask',
    asking: 'Thinking…',
    run: 'Run',
    running: 'Running…',
    cancel: 'Cancel',
    confirm: 'Confirm',
    empty: 'Ask a question about your Kubernetes workloads.',
    answeredBy: 'Answered by {{provider}}',
    safety: {
      safe: 'Safe: read only',
      warning: 'Warning: changes the cluster',
      dangerous: 'Dangerous',
    },
    confirmWarningTitle: 'Run this command?',
    confirmDangerousTitle: 'Run a dangerous command?',
    typeToConfirm: 'Type {{name}} to confirm',
    noRows: 'No matching resources.',
    evidence: 'Evidence',
    diagnosisSteps: 'Read-only steps: {{steps}}',
    scope: 'Reaches: {{scope}}',
    close: 'Close',
  },
});
