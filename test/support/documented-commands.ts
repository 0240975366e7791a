/**
 * The commands a Markdown page shows, as the tests of the pages run them: every line of a ```sh
 * block is a command (a line ending in `\` goes on in the next), the ```text block right below it
 * is what it prints, and an HTML comment right above the block says what else to know:
 * `<!-- exit: N -->` the exit code it ends with (else PASS 0, FAIL 1, ERROR 2 from the output
 * shown, else 0), `<!-- not run: REASON -->` that the tests leave it out, and why.
 */

export interface DocumentedCommand {
  /** The page's line of the command (from 1). */
  line: number;
  command: string;
  /** The output block right below the command's block, line by line, if any and if the block holds one command. */
  shown: string[] | null;
  expectedExit: number;
  /** Why the tests do not run it; null for a command they run. */
  notRun: string | null;
}

interface CodeBlock {
  kind: string;
  body: string;
  start: number;
  end: number;
}

function codeBlocks(page: string): CodeBlock[] {
  return [...page.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({
    kind: m[1] ?? "",
    body: (m[2] ?? "").replace(/\n$/, ""),
    start: m.index,
    end: m.index + m[0].length,
  }));
}

/** The HTML comments right above a block (nothing but space and other comments between). */
function notesAbove(page: string, before: number, start: number): string[] {
  const gap = page.slice(before, start);
  const trailing = /((?:\s*<!--[\s\S]*?-->)*)\s*$/.exec(gap)?.[1] ?? "";
  return [...trailing.matchAll(/<!--\s*([\s\S]*?)\s*-->/g)].map((m) => m[1] ?? "");
}

const EXIT_OF_VERDICT: Record<string, number> = { PASS: 0, FAIL: 1, ERROR: 2 };

/** Every command of the page's ```sh blocks, with what the page says about it. */
export function documentedCommands(page: string): DocumentedCommand[] {
  const blocks = codeBlocks(page);
  const commands: DocumentedCommand[] = [];
  blocks.forEach((block, i) => {
    if (block.kind !== "sh") return;
    const notes = notesAbove(page, blocks[i - 1]?.end ?? 0, block.start);
    const notRun = notes.flatMap((n) => /^not run:\s*([\s\S]+)$/.exec(n)?.[1] ?? []).at(0);
    const exit = notes.flatMap((n) => /^exit:\s*(\d+)$/.exec(n)?.[1] ?? []).at(0);
    const next = blocks[i + 1];
    const output =
      next?.kind === "text" && page.slice(block.end, next.start).trim() === ""
        ? next.body.split("\n")
        : null;
    const firstLine = page.slice(0, block.start).split("\n").length + 1;
    const lines: Array<{ line: number; command: string }> = [];
    let pending: { line: number; command: string } | null = null;
    for (const [k, text] of block.body.split("\n").entries()) {
      const line: number = pending?.line ?? firstLine + k;
      const command: string = pending ? `${pending.command} ${text.trim()}` : text.trim();
      pending = null;
      if (command.endsWith("\\")) pending = { line, command: command.slice(0, -1).trimEnd() };
      else if (command !== "" && !command.startsWith("#")) lines.push({ line, command });
    }
    const shown = lines.length === 1 ? output : null;
    const verdict = shown?.[0]?.split(/\s/)[0] ?? "";
    for (const { line, command } of lines)
      commands.push({
        line,
        command,
        shown,
        expectedExit: exit !== undefined ? Number(exit) : (EXIT_OF_VERDICT[verdict] ?? 0),
        notRun: notRun ?? null,
      });
  });
  return commands;
}

/** Whether an output line matches a documented one, "..." standing for anything. */
export function matchesShown(actual: string, documented: string): boolean {
  const pattern = documented
    .split(/\.\.\./)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${pattern}$`).test(actual);
}
