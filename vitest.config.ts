import { defineConfig } from 'vitest/config';

// Three suites: fast unit tests, virtual-lab tests that boot real kernels under
// QEMU (serial: each guest wants a core), and end-to-end UI tests in chromium.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['app/**/*.test.ts', 'main/**/*.test.ts', 'native-bridge/**/*.test.ts', 'scripts/**/*.test.ts'],
          exclude: ['**/*.vm.test.ts', '**/node_modules/**', 'dist/**'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'vm',
          include: ['app/**/*.vm.test.ts', 'main/**/*.vm.test.ts', 'native-bridge/**/*.vm.test.ts'],
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['e2e/**/*.spec.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
