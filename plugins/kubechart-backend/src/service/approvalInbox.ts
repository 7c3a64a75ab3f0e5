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
 * requests are others', an approver's own older ones are listed. At most `maxPages` pages are read;
 * `truncated` says that bound stopped the scan before the list ended.
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
  for (let pages = 0; items.length < wanted; pages++) {
    if (pages === maxPages) return { items, truncated: true };
    const page = await readPage(before);
    items.push(...(await visible(page)).slice(0, wanted - items.length));
    if (page.length < pageSize) break;
    before = page[page.length - 1];
  }
  return { items, truncated: false };
}
