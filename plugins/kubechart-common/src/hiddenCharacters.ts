// The rules live in @kubechart/plugin-audit-log-common, which every KubeChart family depends on.
export {
  hiddenCharacters,
  codePointName,
  countHiddenCharacters,
  visiblePieces,
  withMarkers,
  withoutColours,
} from '@kubechart/plugin-audit-log-common';
