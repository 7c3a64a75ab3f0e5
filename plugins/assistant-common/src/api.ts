import { z } from 'zod';
import { Plan } from './plan';
import { SafetyAssessment } from './safety';

/** Longest question the assistant accepts, in characters. @public */
export const MAX_QUESTION_LENGTH = 2000;

/** @public */
export const askRequestSchema = z
  .object({
    question: z
      .string({
        required_error: 'question is required',
        invalid_type_error: 'question must be a string',
      })
      .trim()
      .min(1, 'question must not be empty')
      .max(
        MAX_QUESTION_LENGTH,
        `question must be at most ${MAX_QUESTION_LENGTH} characters`,
      ),
    conversationId: z.string().uuid().optional(),
    entityRef: z.string().min(3).max(512).optional(),
  })
  .strict();

/** @public */
export type AskRequest = z.infer<typeof askRequestSchema>;

/** @public */
export const executeRequestSchema = z
  .object({
    messageId: z.string().uuid('messageId must be the id of an answer'),
    confirm: z.boolean().optional(),
    typedConfirmation: z.string().max(253).optional(),
    /** The single-use token handed out with the answer (warning and dangerous plans). */
    confirmationToken: z.string().min(1).max(200).optional(),
  })
  .strict();

/** @public */
export type ExecuteRequest = z.infer<typeof executeRequestSchema>;

/**
 * What running a plan would need from the user, worked out when the question
 * is answered.
 *
 * @public
 */
export type ExecutionRequirements = {
  /** The user must explicitly confirm (warning and dangerous plans). */
  confirm: boolean;
  /** The user must type this name to confirm (dangerous plans). */
  typedConfirmation?: string;
  /** Set when the plan cannot be run by this user or this installation. */
  blockedReason?: string;
  /**
   * Single-use token to send back with the confirmation; bound to the hash of
   * the plan shown, refused once spent or after `confirmationExpiresAt`.
   */
  confirmationToken?: string;
  confirmationExpiresAt?: string;
};

/** @public */
export type AskResponse = {
  conversationId: string;
  messageId: string;
  question: string;
  provider: string;
  plan: Plan;
  /** The plan's hash (salted, so it does not confirm a guess of a hidden value); the audit trail records it. */
  planHash: string;
  /** Which objects the plan can touch, in words. */
  scope: string;
  command: string;
  explanation: string;
  safety: SafetyAssessment;
  requirements: ExecutionRequirements;
  latencyMs: number;
};

/** @public */
export type TableResult = {
  type: 'table';
  columns: string[];
  rows: string[][];
  totalRows: number;
  /** Set when rows were left out. */
  truncated?: string;
};

/** @public */
export type TextResult = {
  type: 'text';
  text: string;
  truncated?: string;
};

/** @public */
export type MessageResult = {
  type: 'message';
  text: string;
};

/**
 * The answer of a diagnosis: one or two sentences, the evidence they rest on,
 * and the read-only steps that were run.
 *
 * @public
 */
export type DiagnosisResult = {
  type: 'diagnosis';
  /** Healthy, or the cause: the sentence a person reads first. */
  healthy: boolean;
  answer: string;
  evidence: string[];
  steps: string[];
};

/** @public */
export type ExecutionResult =
  | TableResult
  | TextResult
  | MessageResult
  | DiagnosisResult;

/** @public */
export type ExecuteResponse = {
  messageId: string;
  command: string;
  safety: SafetyAssessment;
  result: ExecutionResult;
  latencyMs: number;
  /**
   * Set when the command ran but its record could not be saved in the conversation (the audit
   * trail has it). A change's message result says so too.
   */
  notice?: string;
};

/**
 * A run of an answer. `running`: taken and not completed yet; one that stays so was under way when
 * the backend stopped (or could not record its outcome), and the audit trail says how it ended.
 * `cancelled`: a read given up because its client went away before the answer was sent.
 * @public
 */
export type ExecutionRecord = {
  status: 'succeeded' | 'failed' | 'refused' | 'running' | 'cancelled';
  summary: string;
  at: string;
};

/** One question and its answer in a conversation. @public */
export type ConversationMessage = {
  id: string;
  question: string;
  createdAt: string;
  provider?: string;
  plan?: Plan;
  command?: string;
  explanation?: string;
  safety?: SafetyAssessment;
  requirements?: ExecutionRequirements;
  error?: string;
  /**
   * Runs of this answer: the newest {@link RUNS_SHOWN_PER_MESSAGE} at most, oldest first (`runCount`
   * says how many there are in all).
   */
  executions: ExecutionRecord[];
  /** How many runs this answer has in all, shown or not (set by the backend since it bounds `executions`). */
  runCount?: number;
};

/** Most runs of one answer a message holds in `executions` (the newest ones). @public */
export const RUNS_SHOWN_PER_MESSAGE = 10;

/** @public */
export type ConversationSummary = {
  id: string;
  title: string;
  entityRef?: string;
  createdAt: string;
  updatedAt: string;
};

/** Most messages `GET /conversations/:id` answers at once (and its default page). @public */
export const MAX_CONVERSATION_PAGE = 200;

/**
 * A conversation with a page of its messages: the newest ones (at most `limit`, default
 * {@link MAX_CONVERSATION_PAGE}), oldest first. @public
 */
export type Conversation = ConversationSummary & {
  messages: ConversationMessage[];
  /**
   * Set when the conversation has older messages than these: pass it as `before` to read the page
   * before them.
   */
  olderCursor?: string;
};
