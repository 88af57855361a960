/** Types of `bundle-cli.mjs` (the tests bundle their own entries with it). */
export function bundleCli(options: { entry: string; outDir: string }): Promise<string>;
