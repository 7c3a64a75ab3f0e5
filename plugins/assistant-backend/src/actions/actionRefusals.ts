import { HttpAuthService, LoggerService } from '@backstage/backend-plugin-api';
import { ErrorRequestHandler } from 'express';
import { AssistantService } from '../service/AssistantService';

/**
 * The invoke routes of Backstage's actions registry (`DefaultActionsRegistryService` of
 * `@backstage/backend-defaults`), as express matches them: case-insensitive, with an optional
 * trailing slash; the action id is the encoded path segment.
 */
const INVOKE_PATH =
  /^\/\.backstage\/actions\/(v1|v2)\/actions\/([^/]+?)\/invoke\/?$/i;

/** The longest entity reference the action takes, as its input schema says. */
const MAX_ENTITY_REF_LENGTH = 512;

function decoded(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * The question and entity reference of an invoke request's body, as far as they are text: the
 * registry refuses before it validates the input.
 */
function questionOf(
  body: unknown,
  version: string,
): { question: string; entityRef?: string } {
  const raw = version.toLowerCase() === 'v2' ? (body as any)?.input : body;
  const question = typeof raw?.question === 'string' ? raw.question.trim() : '';
  const entityRef =
    typeof raw?.entityRef === 'string' &&
    raw.entityRef.length <= MAX_ENTITY_REF_LENGTH
      ? raw.entityRef
      : undefined;
  return { question, ...(entityRef ? { entityRef } : {}) };
}

/**
 * Records the calls of the assistant's `plan-question` action that Backstage's actions registry
 * refuses before the action runs. The registry checks an action's `visibilityPermission`
 * (`kube-assistant.query`) in its own router and answers a caller without it 404 ("not found"), so
 * that the action stays hidden from whoever may not use it; the action never learns of the call.
 * This error handler, added to the plugin's router after the registry's, sees that 404 on its way
 * out and has the service record the refusal as `/ask` records a question without the permission
 * (the same `question` event, within the same refusals of the caller recorded one by one a minute).
 * The answer is left as the registry made it.
 */
export function createActionRefusalAuditor(options: {
  pluginId: string;
  actionName: string;
  httpAuth: HttpAuthService;
  service: AssistantService;
  logger: LoggerService;
}): ErrorRequestHandler {
  const { httpAuth, service, logger } = options;
  const actionId = `${options.pluginId}:${options.actionName}`;
  const record = async (
    error: unknown,
    req: Parameters<ErrorRequestHandler>[1],
  ) => {
    if (
      req.method !== 'POST' ||
      (error as { name?: unknown })?.name !== 'NotFoundError'
    ) {
      return;
    }
    const match = INVOKE_PATH.exec(req.path);
    if (!match || decoded(match[2]) !== actionId) return;
    // The action plans for signed-in users only; a service's call is refused there, as on `/ask`.
    const credentials = await httpAuth.credentials(req);
    const principal = credentials.principal as {
      type?: string;
      userEntityRef?: string;
    };
    if (principal.type !== 'user' || !principal.userEntityRef) return;
    await service.recordRefusedAction(questionOf(req.body, match[1]), {
      credentials,
      userRef: principal.userEntityRef,
      request: req,
    });
  };
  return (error, req, _res, next) => {
    record(error, req).then(
      () => next(error),
      recordError => {
        // An auditor that fails is logged: the registry's answer stands.
        logger.error(
          `Could not record a refused call of action ${actionId}: ${
            (recordError as Error)?.message
          }`,
        );
        next(error);
      },
    );
  };
}
