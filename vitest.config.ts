import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // examples/ import the package by its name, as its users do: here it is this checkout's source.
  resolve: { alias: { accumaudit: fileURLToPath(new URL("./index.ts", import.meta.url)) } },
  test: {
    include: ["**/*.test.ts"],
    exclude: ["node_modules/**", "dist/**", "trainers/python/**"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    // dist/ is built once, before every test file (the CLI tests run node dist/cli/main.js).
    globalSetup: ["test/support/build-once.ts"],
  },
});
