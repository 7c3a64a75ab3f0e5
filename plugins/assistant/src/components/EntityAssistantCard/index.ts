export { EntityAssistantCard } from './EntityAssistantCard';
