export { AssistantPage, AssistantPageContent } from './AssistantPage';
