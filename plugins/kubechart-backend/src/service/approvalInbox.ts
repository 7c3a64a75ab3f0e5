import { RunListItem } from '@kubechart/plugin-kubechart-common';

/** Open approvals `GET /approvals` lists at most. */
export const APPROVALS_LISTED = 200;
/** Open approvals read per page. */
export const APPROVALS_PAGE_SIZE = 200;
/** Pages read at most for one request, so a request never scans the whole table. */
export const APPROVAL_PAGES_SCANNED = 50;

/** The cursor of the run store (`runsCursorAfter`), as a list reads on with it. */
export type ApprovalCursors = {
  after(run: Pick<RunListItem, 'createdAt' | 'id'>): string;
};

/**
 * The open approvals a caller sees, newest first, from `cursor` on: pages of the platform's open
 * approvals are read (`readPage` reads the page after a cursor) and each is filtered (`visible`)
 * until one more than `wanted` are found or the list ends, so however many newer requests are
 * others', an approver's own older ones are listed. At most `maxPages` pages are read.
 *
 * The list tells nothing of the requests the caller may not see. `nextCursor` (a cursor the caller
 * can decode) is built only from the list's last item, never from a request it left out (not its
 * id, not the millisecond it was made). `truncated` says the list is not all the caller may see:
 * with a `nextCursor` when one more was found, or when the `maxPages` pages were read and the list
 * holds an item to read on after; without one when those pages held no request the caller may see
 * (each page read on from a `nextCursor` lists at least one request, so following them ends).
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
  for (let pages = 0; pages < maxPages; pages++) {
    const page = await readPage(cursor);
    const full = await keep(page);
    if (full) return full;
    if (page.length < pageSize) return { items, truncated: false };
    cursor = cursors.after(page[page.length - 1]);
  }
  // More requests follow the last one read, maybe one the caller may not see: a cursor after it, or
  // from its millisecond, would tell the caller of it. The list reads on only after its own last item;
  // when it lists none, it is cut with no cursor.
  return {
    items,
    truncated: true,
    ...(items.length
      ? { nextCursor: cursors.after(items[items.length - 1]) }
      : {}),
  };
}
