import { RunListItem } from '@kubechart/plugin-kubechart-common';

/** Open approvals `GET /approvals` lists at most. */
export const APPROVALS_LISTED = 200;
/** Open approvals read per page. */
export const APPROVALS_PAGE_SIZE = 200;
/** Pages read at most for one request, so a request never scans the whole table. */
export const APPROVAL_PAGES_SCANNED = 50;

/**
 * The open approvals a caller sees, newest first: pages of the platform's open approvals are read
 * and each is filtered (`visible`) until `wanted` are found or the list ends, so however many newer
 * requests are others', an approver's own older ones are listed. At most `maxPages` pages are read.
 * `truncated` says the list is not all the caller may see: one more visible request than `wanted`
 * was found, or that bound stopped the scan before the list ended.
 */
export async function collectVisibleApprovals(
  readPage: (before?: RunListItem) => Promise<RunListItem[]>,
  visible: (page: RunListItem[]) => Promise<RunListItem[]>,
  options: { wanted?: number; pageSize?: number; maxPages?: number } = {},
): Promise<{ items: RunListItem[]; truncated: boolean }> {
  const wanted = options.wanted ?? APPROVALS_LISTED;
  const pageSize = options.pageSize ?? APPROVALS_PAGE_SIZE;
  const maxPages = options.maxPages ?? APPROVAL_PAGES_SCANNED;
  const items: RunListItem[] = [];
  let before: RunListItem | undefined;
  for (let pages = 0; ; pages++) {
    if (pages === maxPages) return { items, truncated: true };
    const page = await readPage(before);
    const room = wanted - items.length;
    const found = await visible(page);
    items.push(...found.slice(0, room));
    // Read on past a full list for one more: only then is a list of `wanted` known to be whole.
    if (found.length > room) return { items, truncated: true };
    if (page.length < pageSize) return { items, truncated: false };
    before = page[page.length - 1];
  }
}
