import { InputError } from '@backstage/errors';
import { promises as fs } from 'node:fs';
import path from 'node:path';

const MAX_FILES = 200;
const MAX_BYTES = 5 * 1024 * 1024;

/**
 * The manifests under an unpacked chart's `crds/` directories (its own and its subcharts'), as one
 * multi-document YAML text. helm installs these without templating and without a post-renderer, so
 * the policy must check them on their own. Bounded: at most 200 files and 5 MiB, else InputError.
 * @public
 */
export async function readChartCrds(chartDir: string): Promise<string> {
  const docs: string[] = [];
  let files = 0;
  let bytes = 0;
  const readCrdDir = async (dir: string) => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) {
        await readCrdDir(full);
      } else if (e.isFile() && /\.(ya?ml|json)$/.test(e.name)) {
        files++;
        bytes += (await fs.stat(full)).size;
        if (files > MAX_FILES || bytes > MAX_BYTES) {
          throw new InputError(
            `The chart's crds/ directories hold more than ${MAX_FILES} files or ${MAX_BYTES} bytes`,
          );
        }
        docs.push(await fs.readFile(full, 'utf8'));
      }
    }
  };
  const visitChart = async (dir: string, depth: number) => {
    await readCrdDir(path.join(dir, 'crds'));
    if (depth >= 5) return;
    let subcharts: import('node:fs').Dirent[] = [];
    try {
      subcharts = await fs.readdir(path.join(dir, 'charts'), {
        withFileTypes: true,
      });
    } catch {
      return;
    }
    for (const s of subcharts) {
      if (s.isDirectory())
        await visitChart(path.join(dir, 'charts', s.name), depth + 1);
    }
  };
  await visitChart(chartDir, 0);
  return docs.map(d => (d.endsWith('\n') ? d : `${d}\n`)).join('---\n');
}
