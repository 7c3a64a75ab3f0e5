export { assistantApiRef } from './AssistantApi';
export type { AssistantApi } from './AssistantApi';
export { AssistantClient } from './AssistantClient';
