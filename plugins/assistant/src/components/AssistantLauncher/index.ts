export { AssistantLauncher } from './AssistantLauncher';
export { AssistantSidebarItem } from './AssistantSidebarItem';
