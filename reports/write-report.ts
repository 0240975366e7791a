import { randomBytes } from "node:crypto";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Writes a report atomically: to a temporary file beside `path`, then renamed over it, so a
 * reader never sees half a report. Creates the folder if needed. Returns the size in bytes.
 * `html` may be the promise a render function returns.
 */
export async function writeReport(
  path: string,
  html: string | PromiseLike<string>,
): Promise<number> {
  const folder = dirname(path);
  await mkdir(folder, { recursive: true });
  const temporary = join(
    folder,
    `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`,
  );
  const bytes = Buffer.from(await html, "utf8");
  try {
    await writeFile(temporary, bytes);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return bytes.byteLength;
}
