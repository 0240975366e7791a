import { randomBytes } from "node:crypto";
import { constants, type Stats } from "node:fs";
import { access, chmod, chown, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { resolveOutput } from "./output-target.js";

/**
 * Writes a report where a plain write to `path` would put it, never destroying what is there: a
 * symbolic link is followed (the link stays, its target gets the report), and a FIFO or a device
 * gets a plain write. A regular file, or none yet, is written atomically: to a temporary file in
 * the target's folder, then renamed over it, so a reader never sees half a report; the new file
 * keeps the old one's mode and owner, or has the mode a plain write gives one. A file that a
 * rename would change beyond its contents (one with other hard links, one owned by another user
 * when not root) or one in a folder this user cannot write to is rewritten in place, as a plain
 * write would. Creates the folder if needed. Returns the size in bytes. `html` may be the
 * promise a render function returns.
 */
export async function writeReport(
  path: string,
  html: string | PromiseLike<string>,
): Promise<number> {
  const bytes = Buffer.from(await html, "utf8");
  const { path: target, stats } = await resolveOutput(path);
  if (stats && !stats.isFile()) {
    // A FIFO or a device: a plain write. A folder or a socket fails here as a plain write does.
    await writeFile(target, bytes);
    return bytes.byteLength;
  }
  const folder = dirname(target);
  await mkdir(folder, { recursive: true });
  if (stats && (stats.nlink > 1 || !ownable(stats) || !(await writable(folder)))) {
    await writeFile(target, bytes);
    return bytes.byteLength;
  }
  const temporary = join(
    folder,
    `.${basename(target)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`,
  );
  try {
    // A new file gets 0o666 less the umask, as a plain write would give it.
    await writeFile(temporary, bytes, { flag: "wx", mode: stats ? 0o600 : 0o666 });
    if (stats) await keepOwnerAndMode(temporary, stats);
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return bytes.byteLength;
}

async function writable(folder: string): Promise<boolean> {
  return access(folder, constants.W_OK).then(
    () => true,
    () => false,
  );
}

/** Whether a file made by this process can be given `old`'s owner: ours, or we are root. */
function ownable(old: Stats): boolean {
  const user = process.getuid?.();
  return user === undefined || user === 0 || old.uid === user;
}

/** The replaced file's owner and group (a group this user is not in stays ours) and mode. */
async function keepOwnerAndMode(temporary: string, old: Stats): Promise<void> {
  if (old.uid !== process.getuid?.() || old.gid !== process.getgid?.())
    await chown(temporary, old.uid, old.gid).catch(() => undefined);
  await chmod(temporary, old.mode & 0o7777);
}
