import { HttpAuthService } from '@backstage/backend-plugin-api';
import { InputError, NotFoundError } from '@backstage/errors';
import {
  askRequestSchema,
  executeRequestSchema,
  MAX_CONVERSATION_PAGE,
} from '@kubechart/plugin-assistant-common';
import express, { Request } from 'express';
import Router from 'express-promise-router';
import { z } from 'zod';
import { ConversationStore } from '../database/ConversationStore';
import { AssistantService, forTheBrowser } from './AssistantService';

function parse<T extends z.ZodTypeAny>(schema: T, value: unknown): z.infer<T> {
  const result = schema.safeParse(value ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
    const message =
      issue.code === 'unrecognized_keys'
        ? `unknown field(s) ${issue.keys.join(', ')}`
        : issue.message;
    throw new InputError(`Invalid request: ${where}${message}`);
  }
  return result.data;
}

const listQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

const conversationQuerySchema = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_CONVERSATION_PAGE)
    .default(MAX_CONVERSATION_PAGE),
  before: z.string().uuid('not a message id').optional(),
});

export async function createRouter(options: {
  httpAuth: HttpAuthService;
  service: AssistantService;
  store: ConversationStore;
}): Promise<express.Router> {
  const { httpAuth, service, store } = options;
  const router = Router();
  // Questions are at most 2000 characters; anything much larger is not one.
  router.use(express.json({ limit: '64kb' }));

  const caller = async (req: Request) => {
    const credentials = await httpAuth.credentials(req, { allow: ['user'] });
    return {
      credentials,
      userRef: credentials.principal.userEntityRef,
      request: req,
    };
  };

  router.post('/ask', async (req, res) => {
    const who = await caller(req);
    const input = parse(askRequestSchema, req.body);
    res.json(await service.ask(input, who));
  });

  router.post('/execute', async (req, res) => {
    // Aborted when the client goes away before the answer is sent: a read it asked for is given up.
    const closed = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) closed.abort();
    });
    if (req.socket.destroyed) closed.abort();
    const who = await caller(req);
    const input = parse(executeRequestSchema, req.body);
    res.json(await service.execute(input, { ...who, closed: closed.signal }));
  });

  router.get('/conversations', async (req, res) => {
    const { userRef, credentials } = await caller(req);
    await service.assertMayQuery(credentials);
    const { limit } = parse(listQuerySchema, req.query);
    res.json({ items: await store.listConversations({ userRef, limit }) });
  });

  router.get('/conversations/:id', async (req, res) => {
    const { userRef, credentials } = await caller(req);
    await service.assertMayQuery(credentials);
    const id = parse(z.string().uuid('not a conversation id'), req.params.id);
    // Its newest messages, a page at a time: bounded work whatever the conversation's size.
    const { limit, before } = parse(conversationQuerySchema, req.query);
    const conversation = await store.getConversation({
      id,
      userRef,
      limit,
      before,
    });
    if (!conversation) {
      throw new NotFoundError(`Conversation ${id} not found`);
    }
    // Plans as the browser was shown them when asked: without the secret values the model wrote.
    res.json({
      ...conversation,
      messages: conversation.messages.map(m => forTheBrowser(m)),
    });
  });

  return router;
}
