/** `bpf-compile cache path|list|prune|clear`: inspect and clean the cache. */
import type { Command } from 'commander';
import type { CacheRef, PruneOptions, PruneResult } from '../../cache/index.js';
import { BpfCompileError, ErrorCode } from '../../errors.js';
import type { CliContext } from '../context.js';
import { formatBytes, parseDuration, parseSize } from '../units.js';

export function register(program: Command, ctx: CliContext): void {
  const io = ctx.io;
  const cache = program.command('cache').description('inspect and clean the cache of extracted headers (path, list, prune, clear)');
  const ref = (f: { cacheDir?: string }): CacheRef => ({ cacheDir: f.cacheDir });
  const printResult = (r: PruneResult, json: boolean | undefined): void => {
    if (json === true) return io.stdout(`${JSON.stringify(r, null, 2)}\n`);
    for (const e of r.removed) io.stdout(`removed ${e.namespace}/${e.key} (${formatBytes(e.bytes)})\n`);
    for (const e of r.skippedInUse) io.stdout(`kept ${e.namespace}/${e.key}: in use\n`);
    io.stdout(
      `${r.removed.length} removed, ${formatBytes(r.freedBytes)} freed, ${r.kept} kept${r.leftoversRemoved.length > 0 ? `, ${r.leftoversRemoved.length} leftovers cleaned` : ''}\n`,
    );
  };
  cache
    .command('path')
    .description('print the cache directory')
    .option('--cache-dir <dir>', 'cache directory')
    .option('--json', 'print as JSON')
    .action(async (f: { cacheDir?: string; json?: boolean }) => {
      const { cachePath } = await import('../../cache/index.js');
      const p = cachePath(ref(f));
      io.stdout(f.json === true ? `${JSON.stringify(p)}\n` : `${p.path}\n`);
    });
  cache
    .command('list')
    .description('list cache entries')
    .option('--cache-dir <dir>', 'cache directory')
    .option('--json', 'print as JSON')
    .action(async (f: { cacheDir?: string; json?: boolean }) => {
      const { listEntries } = await import('../../cache/index.js');
      const entries = listEntries(ref(f));
      if (f.json === true) return io.stdout(`${JSON.stringify(entries, null, 2)}\n`);
      for (const e of entries) {
        io.stdout(`${e.namespace}/${e.key}  ${e.release ?? '-'}  ${e.files} files  ${formatBytes(e.bytes)}  used ${e.lastUsedAt}${e.inUse ? '  (in use)' : ''}\n`);
      }
      io.stdout(`${entries.length} entries, ${formatBytes(entries.reduce((n, e) => n + e.bytes, 0))}\n`);
    });
  cache
    .command('prune')
    .description('remove entries unused for a while or beyond a total size (never one in use)')
    .option('--cache-dir <dir>', 'cache directory')
    .option('--older-than <duration>', 'remove entries unused for this long (e.g. 30d, 12h)')
    .option('--max-size <size>', 'then remove least recently used entries until the cache is at most this big (e.g. 500M)')
    .option('--dry-run', 'only say what would be removed')
    .option('--json', 'print as JSON')
    .action(async (f: { cacheDir?: string; olderThan?: string; maxSize?: string; dryRun?: boolean; json?: boolean }) => {
      if (f.olderThan === undefined && f.maxSize === undefined) {
        throw new BpfCompileError(ErrorCode.USAGE, 'cache prune needs --older-than or --max-size', { hint: 'e.g. bpf-compile cache prune --older-than 30d' });
      }
      const options: PruneOptions = {
        ...(f.olderThan === undefined ? {} : { olderThan: parseDuration(f.olderThan) }),
        ...(f.maxSize === undefined ? {} : { maxBytes: parseSize(f.maxSize) }),
        dryRun: f.dryRun === true,
      };
      const { prune } = await import('../../cache/index.js');
      printResult(await prune(ref(f), options), f.json);
    });
  cache
    .command('clear')
    .description('remove every entry not in use')
    .option('--cache-dir <dir>', 'cache directory')
    .option('--json', 'print as JSON')
    .action(async (f: { cacheDir?: string; json?: boolean }) => {
      const { clear } = await import('../../cache/index.js');
      printResult(await clear(ref(f)), f.json);
    });
}
