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
  },
});
