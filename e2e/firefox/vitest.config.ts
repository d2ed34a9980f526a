import { defineConfig } from 'vitest/config';

/** The Firefox ESR suite (see firefox.test.ts): one browser, one stack, run after the unit suites in `npm test`. */
export default defineConfig({
  test: {
    include: ['e2e/firefox/**/*.test.ts'],
    root: new URL('../..', import.meta.url).pathname,
    testTimeout: 120_000,
    hookTimeout: 240_000,
    fileParallelism: false,
  },
});
