export { AssistantWidget } from './AssistantWidget';
export type { AssistantWidgetProps } from './AssistantWidget';
