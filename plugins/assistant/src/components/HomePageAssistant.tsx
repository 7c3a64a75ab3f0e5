import { AssistantWidget } from './AssistantWidget';

/** The home page card's content. */
export const Content = () => <AssistantWidget />;
