#!/usr/bin/env node
/**
 * The `bpf-compile` executable as installed (`dist/bin/bpf-compile.cjs`, bundled from this file on its own): loads the
 * bundled CLI (`dist/bin/cli.cjs`, from `bin/bpf-compile.ts`, and its chunks) through the V8 code cache
 * (`lib/system/code-cache.ts`), then the CLI runs.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { commandVariant, installCodeCache } from '../lib/system/code-cache.js';

installCodeCache({ dir: import.meta.dirname, variant: commandVariant(process.argv) });
createRequire(join(import.meta.dirname, 'bpf-compile.cjs'))('./cli.cjs');
