/**
 * A loopback mirror in its own process, as a real mirror would be: the benchmarks then measure only the client side.
 * Run as a script (`node --import tsx bench/mirror-process.ts DIR`), it serves DIR and prints its URL on stdout;
 * {@link startMirrorProcess} starts it and stops it.
 */
import { spawn } from 'node:child_process';
import { startMirrorServer } from '../test/helpers/mirror-server.js';

/** A mirror running in a child process. */
export interface MirrorProcess {
  readonly url: string;
  close(): Promise<void>;
}

/** Start a mirror process serving `dir`. */
export async function startMirrorProcess(dir: string): Promise<MirrorProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', import.meta.filename, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line !== undefined) resolve(line.trim());
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`mirror process exited with ${code}`)));
  });
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        child.removeAllListeners('exit');
        child.on('exit', () => resolve());
        child.kill();
      }),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2];
  if (dir === undefined) throw new Error('usage: mirror-process.ts DIR');
  const server = await startMirrorServer(dir);
  process.stdout.write(`${server.url}\n`);
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
}
