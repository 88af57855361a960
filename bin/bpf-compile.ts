#!/usr/bin/env node
/**
 * The `bpf-compile` executable: runs the CLI (`lib/cli/main.ts`) and exits with its code.
 */
import { main } from '../lib/cli/main.js';

// A reader that goes away (`bpf-compile init --list | head -1`) is not an error: stop quietly, like other CLI tools.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

// No top-level await here: the bundle's chunks import modules kept in this entry chunk, and a dynamic import of such a
// chunk waits until this module has finished evaluating — awaiting `main` here would wait for itself (exit 13).
void main(process.argv).then((code) => {
  process.exitCode = code;
});
