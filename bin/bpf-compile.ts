#!/usr/bin/env node
/**
 * The `bpf-compile` executable: runs the CLI (`lib/cli/main.ts`) and exits with its code.
 */
import { exitIfBrokenPipe } from '../lib/cli/std-write.js';
import { main } from '../lib/cli/main.js';

// A reader that goes away (`bpf-compile init --list | head -1`) is not an error (std-write.ts); anything else is.
function onStreamError(err: NodeJS.ErrnoException): void {
  exitIfBrokenPipe(err);
  throw err;
}
// The handler is attached when the stream is first used: creating process.stdout/stderr loads node's stream modules
// (~20), which a run that prints nothing (an object-cache hit) does not need. node defines both as configurable
// getters on `process`; the replacement getter keeps node's stream and adds the handler once.
for (const name of ['stdout', 'stderr'] as const) {
  const own = Object.getOwnPropertyDescriptor(process, name);
  const get = own?.get;
  if (own === undefined || get === undefined || own.configurable !== true) {
    process[name].on('error', onStreamError);
    continue;
  }
  Object.defineProperty(process, name, {
    configurable: true,
    enumerable: own.enumerable ?? true,
    get() {
      const stream = get.call(process) as NodeJS.WriteStream;
      Object.defineProperty(process, name, { configurable: true, enumerable: own.enumerable ?? true, get: () => stream });
      stream.on('error', onStreamError);
      return stream;
    },
  });
}

// No top-level await here: the bundle's chunks import modules kept in this entry chunk, and a dynamic import of such a
// chunk waits until this module has finished evaluating — awaiting `main` here would wait for itself (exit 13).
void main(process.argv).then((code) => {
  process.exitCode = code;
});
