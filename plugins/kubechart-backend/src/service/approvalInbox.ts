import { InputError } from '@backstage/errors';
import { RunListItem } from '@kubechart/plugin-kubechart-common';

/** Open approvals `GET /approvals` lists at most. */
export const APPROVALS_LISTED = 200;
/** Open approvals read per page. */
export const APPROVALS_PAGE_SIZE = 200;
/** Pages read at most for one request, so a request never scans the whole table. */
export const APPROVAL_PAGES_SCANNED = 50;

/** The cursors of the run store (`runsCursorAfter`, `runsCursorBefore`), as a list reads on with them. */
export type ApprovalCursors = {
  after(run: Pick<RunListItem, 'createdAt' | 'id'>): string;
  before(createdAt: string): string;
};

/**
 * The open approvals a caller sees, newest first, from `cursor` on: pages of the platform's open
 * approvals are read (`readPage` reads the page after a cursor) and each is filtered (`visible`)
 * until one more than `wanted` are found or the list ends, so however many newer requests are
 * others', an approver's own older ones are listed. At most `maxPages` pages are read.
 *
 * As a page of `GET /runs` for a caller who may read only some runs, the list tells nothing of the
 * requests the caller may not see: `nextCursor` names its last item (when one more was found), or
 * a time, never a request it left out. When the `maxPages` pages were read first, the rest of the
 * millisecond of the last request read is read too, and `nextCursor` reads on from the requests
 * made before that millisecond. `truncated` (with a `nextCursor`) says the list is not all the
 * caller may see; following `nextCursor` reaches every request the caller may see.
 */
export async function collectVisibleApprovals(
  readPage: (cursor?: string) => Promise<RunListItem[]>,
  visible: (page: RunListItem[]) => Promise<RunListItem[]>,
  cursors: ApprovalCursors,
  options: {
    cursor?: string;
    wanted?: number;
    pageSize?: number;
    maxPages?: number;
  } = {},
): Promise<{ items: RunListItem[]; truncated: boolean; nextCursor?: string }> {
  const wanted = options.wanted ?? APPROVALS_LISTED;
  const pageSize = options.pageSize ?? APPROVALS_PAGE_SIZE;
  const maxPages = options.maxPages ?? APPROVAL_PAGES_SCANNED;
  const items: RunListItem[] = [];
  /** Keeps what the caller sees of `page`: the list, once one more than it holds is found. */
  const keep = async (page: RunListItem[]) => {
    for (const run of await visible(page)) {
      // Read on past a full list for one more: only then is a list of `wanted` known to be whole.
      if (items.length === wanted)
        return {
          items,
          truncated: true,
          nextCursor: cursors.after(items[items.length - 1]),
        };
      items.push(run);
    }
    return undefined;
  };
  let cursor = options.cursor;
  let last: RunListItem | undefined;
  for (let pages = 0; pages < maxPages; pages++) {
    const page = await readPage(cursor);
    const full = await keep(page);
    if (full) return full;
    if (page.length < pageSize) return { items, truncated: false };
    last = page[page.length - 1];
    cursor = cursors.after(last);
  }
  // More requests follow the last one read. A cursor after it would name a request the caller may
  // not see: the list reads on from before its millisecond, once it read the rest of that millisecond.
  const at = last!.createdAt;
  for (let read = 0; ; ) {
    const page = await readPage(cursor);
    const same = page.filter(r => r.createdAt === at);
    const full = await keep(same);
    if (full) return full;
    if (same.length < page.length || page.length < pageSize) break;
    read += page.length;
    if (read >= pageSize * maxPages)
      // Never in practice (requests are made one at a time); refused rather than read on without bound.
      throw new InputError(
        `The open approvals cannot be listed on past ${at}: more than ${
          pageSize * maxPages
        } requests were made in that millisecond`,
      );
    cursor = cursors.after(page[page.length - 1]);
  }
  return { items, truncated: true, nextCursor: cursors.before(at) };
}
