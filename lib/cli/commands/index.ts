/** Every CLI command, in `--help` order. A new command is one module exporting `register(program, ctx)` and one line here. */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { register as btfgen } from './btfgen.js';
import { register as build } from './build.js';
import { register as cache } from './cache.js';
import { register as cflags } from './cflags.js';
import { register as compile } from './compile.js';
import { register as doctor } from './doctor.js';
import { register as fetch } from './fetch.js';
import { register as headers } from './headers.js';
import { register as init } from './init.js';
import { register as pack } from './pack.js';
import { register as vmlinux } from './vmlinux.js';

/** How a command module adds itself. */
export type RegisterCommand = (program: Command, ctx: CliContext) => void;

export const COMMANDS: readonly RegisterCommand[] = [headers, fetch, vmlinux, cflags, compile, build, btfgen, doctor, init, pack, cache];
