export { ApprovalsCard, ApprovalsContent } from './ApprovalsCard';
export { ApprovalsList } from './ApprovalsList';
