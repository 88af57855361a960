// A process of test/unit/code-cache.test.ts: installs the code cache for a bundle directory, loads its main.cjs, and
// prints what happened as JSON. Argument 1: the bundle directory; 2: installCodeCache options as JSON (plus
// `exitOnly`: leave the writing to the exit handler, as the CLI does).
import { createRequire } from 'node:module';
import path from 'node:path';
import { installCodeCache } from '../../lib/system/code-cache.js';

const [bundle = '', json = '{}'] = process.argv.slice(2);
const { exitOnly, ...options } = JSON.parse(json) as { exitOnly?: boolean; uid?: number; variant?: string; cacheDir?: string; env?: Record<string, string> };
const cache = installCodeCache({ dir: bundle, env: {}, ...options });
const main = createRequire(import.meta.url)(path.join(bundle, 'main.cjs')) as { answer: () => number; where: () => string };
const result = { installed: cache !== undefined, answer: main.answer(), where: main.where() };
if (exitOnly !== true) cache?.flush();
process.stdout.write(JSON.stringify({ ...result, ...(cache?.stats ?? {}) }));
