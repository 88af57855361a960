/** Types of `bundle-cli.mjs` (the tests bundle their own entries with it). */
export function bundleCli(options: { entry: string; outDir: string; name?: string }): Promise<string>;
export function bundleLauncher(options: { entry: string; outFile: string }): Promise<void>;
