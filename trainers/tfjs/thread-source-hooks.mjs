// Module hooks for a TensorFlow.js thread started from the TypeScript source (under vitest):
// Node 20 cannot run .ts, so these resolve `./x.js` to `./x.ts` where only the source exists and
// strip the types with the oxc transform of rolldown, which vitest's vite brings. dist/ and the
// published package never use them: there the thread runs the compiled thread-worker.js.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { transformSync } from "rolldown/utils";

export async function resolve(specifier, context, next) {
  const parent = context.parentURL;
  if (
    parent?.startsWith("file:") &&
    parent.endsWith(".ts") &&
    /^\.{1,2}\/.*\.js$/.test(specifier)
  ) {
    const compiled = new URL(specifier, parent);
    const source = new URL(compiled.href.replace(/\.js$/, ".ts"));
    if (!existsSync(fileURLToPath(compiled)) && existsSync(fileURLToPath(source)))
      return { url: source.href, format: "module", shortCircuit: true };
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.startsWith("file:") || !url.endsWith(".ts")) return next(url, context);
  const file = fileURLToPath(url);
  const { code, errors } = transformSync(file, readFileSync(file, "utf8"), {
    lang: "ts",
    sourceType: "module",
  });
  if (errors.length > 0) throw new Error(`${file}: ${errors[0].message}`);
  return { format: "module", source: code, shortCircuit: true };
}
