import { resolveSafeChildPath } from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import {
  DEFAULT_INPUT_LIMITS,
  InputLimitError,
  KubechartRunsService,
  MAX_POLICY_OBJECTS,
  parseManifestsInTurns,
} from '@kubechart/plugin-kubechart-node';
import { examples } from './manifestsApply.examples';
import { ActionLinks, executeRun } from './runAction';
import { commonInput, runOutput } from './schemas';
import { withTaskErrors } from './taskError';

/**
 * The text of workspace file `path`, refused by its size before it is read: it may come from a
 * user's repository (fetch:plain), and the backend takes no more than
 * {@link DEFAULT_INPUT_LIMITS}.maxBytes of manifests anyway. Read through one handle, so the file
 * measured is the file read, and never more than the limit and a byte.
 */
async function readWorkspaceFile(
  workspacePath: string,
  path: string,
): Promise<string> {
  const max = DEFAULT_INPUT_LIMITS.maxBytes;
  const refused = (detail: string) =>
    new InputError(`Workspace file ${path} refused: ${detail}`);
  // Not blocked by a named pipe, which is then refused as not a regular file.
  const file = await open(
    resolveSafeChildPath(workspacePath, path),
    constants.O_RDONLY | constants.O_NONBLOCK,
  );
  try {
    const stats = await file.stat();
    if (!stats.isFile()) throw refused('it is not a regular file');
    const tooLarge = (bytes: number) =>
      refused(`it holds ${bytes} bytes; the limit maxBytes is ${max}`);
    if (stats.size > max) throw tooLarge(stats.size);
    // It may grow after it was measured: read at most one byte more than the limit.
    const buffer = Buffer.alloc(max + 1);
    let read = 0;
    for (;;) {
      const { bytesRead } = await file.read(buffer, read, buffer.length - read);
      if (bytesRead === 0) break;
      read += bytesRead;
      if (read > max) throw tooLarge(read);
    }
    return buffer.toString('utf8', 0, read);
  } finally {
    await file.close();
  }
}

/**
 * `kubechart:manifests:apply`: server-side apply of multi-document YAML after the chart policy check.
 * @public
 */
export function createManifestsApplyAction(options: {
  runs: KubechartRunsService;
  links: ActionLinks;
  pollIntervalMs?: number;
  /** How often a run waiting for approval is polled (ms); default 5000. */
  approvalPollIntervalMs?: number;
}) {
  return createTemplateAction({
    id: 'kubechart:manifests:apply',
    description:
      'Applies multi-document YAML with server-side apply, after the same policy check as charts; recorded in deployment history.',
    examples,
    supportsDryRun: true,
    schema: {
      input: {
        ...commonInput,
        namespace: z =>
          z.string({
            description: 'Namespace for objects that do not name one',
          }),
        manifests: z =>
          z.string({ description: 'Multi-document YAML to apply' }).optional(),
        path: z =>
          z
            .string({
              description:
                'Workspace file holding the YAML (e.g. written by fetch:template), instead of manifests',
            })
            .optional(),
      },
      output: runOutput,
    },
    async handler(ctx) {
      await withTaskErrors(async () => {
        if (!ctx.input.manifests === !ctx.input.path) {
          throw new InputError(
            'Give either manifests or path, not both or neither',
          );
        }
        const manifests =
          ctx.input.manifests ??
          (await readWorkspaceFile(ctx.workspacePath, ctx.input.path!));
        if (!manifests.trim()) {
          throw new InputError('There are no manifests to apply');
        }
        // The backend judges at most MAX_POLICY_OBJECTS objects of one run, each item of a List
        // counted, and refuses more with these words: refused here before anything is sent. What
        // cannot be read is the backend's to refuse. Read, the objects tell which task secrets
        // the manifests hold.
        let objects: unknown[] = [];
        try {
          objects = await parseManifestsInTurns(manifests, {
            maxObjects: MAX_POLICY_OBJECTS,
          });
        } catch (e) {
          if (e instanceof InputLimitError) throw e;
        }
        const request = {
          kind: 'manifests' as const,
          cluster: ctx.input.cluster,
          namespace: ctx.input.namespace,
          manifests,
          entityRef: ctx.input.entityRef,
        };
        await executeRun(ctx, options, request, objects);
      });
    },
  });
}
