/** CLI glue of `bpf-compile init`; the logic is in `lib/init/`. */
import type { Command } from 'commander';
import { BpfCompileError, ErrorCode } from '../../errors.js';
import type { CliContext } from '../context.js';

/**
 * Register `bpf-compile init <template> [dir]` (and `init --list`): copy a project template, refusing to overwrite
 * existing files unless `--force`.
 */
export function register(program: Command, ctx: CliContext): void {
  const io = ctx.io;
  program
    .command('init')
    .description('start a project from a template (kprobe, core-tracepoint, xdp-counter); --list shows them')
    .argument('[template]', 'template name')
    .argument('[dir]', 'directory to create (default: the template name)')
    .option('--list', 'list templates, one per line: name, then description')
    .option('--force', 'overwrite existing files')
    .option('--name <name>', 'project name (default: from the directory name)')
    .action(async (template: string | undefined, dir: string | undefined, f: { list?: boolean; force?: boolean; name?: string }) => {
      if (f.list === true) {
        const { listTemplates } = await import('../../init/index.js');
        const all = await listTemplates();
        const width = Math.max(0, ...all.map((t) => t.name.length));
        for (const t of all) io.stdout(`${t.name.padEnd(width)}  ${t.description}\n`);
        return;
      }
      if (template === undefined) {
        throw new BpfCompileError(ErrorCode.USAGE, 'init needs a template name', { hint: 'bpf-compile init --list shows them; e.g. bpf-compile init xdp-counter my-xdp' });
      }
      const { initProject } = await import('../../init/index.js');
      const r = await initProject({ template, dir, force: f.force === true, ...(f.name === undefined ? {} : { name: f.name }) });
      for (const file of r.files) io.stdout(`${r.overwritten.includes(file) ? 'overwrote' : 'created'} ${file}\n`);
      io.stdout(`\n${r.name}: ${r.template} project in ${r.dir}\nnext: cd ${dir ?? r.template} && npm install && npm run prebuild && sudo npm start\n`);
    });
}
