import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/**
 * vitest's global set-up: builds dist/ once before any test file runs, so that the files that
 * run the command line (`node dist/cli/main.js`) never see it rebuilt under them.
 */
export function setup(): void {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  execFileSync("npm", ["run", "build", "--silent"], { cwd: root, stdio: "pipe" });
}
