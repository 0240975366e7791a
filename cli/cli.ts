import { printableText } from "../reports/printable.js";
import { ScenarioError } from "../trainers/contract/scenario.js";
import { UnknownTrainerError } from "../trainers/registry.js";
import { AUDIT_USAGE, auditCommand } from "./commands/audit.js";
import { CHECK_USAGE, checkCommand } from "./commands/check.js";
import { listCommand } from "./commands/list.js";
import { UsageError } from "./usage-error.js";
import { harnessVersion } from "./version.js";

const USAGE = `accumaudit ${harnessVersion()}: audits gradient-accumulation training loops

  accumaudit list [--json]
${CHECK_USAGE.replace(/^/gm, "  ")}
${AUDIT_USAGE.replace(/^/gm, "  ")}

Exit codes: 0 every property holds, 1 a property fails, 2 usage or runtime error.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "list":
      return listCommand(rest);
    case "check":
      return checkCommand(rest);
    case "audit":
      return auditCommand(rest);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    case "--version":
      process.stdout.write(`${harnessVersion()}\n`);
      return 0;
    default:
      throw new UsageError(`unknown command "${command}"; expected list, check or audit`);
  }
}

function isUsageProblem(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? "";
  return (
    error instanceof UsageError ||
    error instanceof ScenarioError ||
    error instanceof UnknownTrainerError ||
    code.startsWith("ERR_PARSE_ARGS")
  );
}

// A reader that stops early (`accumaudit audit | head`) closes the pipe: stop quietly, as other
// command-line tools do; workers are killed on exit. A terminal that was closed (EIO after its
// SIGHUP, which stops the run) takes no more text, but the command still writes its report files.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EIO") return;
  if (error.code !== "EPIPE") throw error;
  process.exit(process.exitCode ?? 0);
});
process.stderr.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EIO" && error.code !== "EPIPE") throw error;
});

/**
 * Ends the process with `code` once stdout and stderr have taken what was written to them. Left
 * to end on its own, Node first drops its signal handlers and then tears down for tens of
 * milliseconds, and a SIGINT, SIGTERM or SIGHUP in that time ended the tool by the signal (a
 * shell's 143 or 129) instead of with the code its command returned.
 */
function exitWith(code: number): void {
  process.exitCode = code;
  process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
}

main(process.argv.slice(2)).then(
  (code) => exitWith(code),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    // A usage error is one line by design (a line break in it came with the input, and is shown
    // escaped); another error shows its first line. Neither may steer the terminal.
    const usage = isUsageProblem(error);
    const line = usage ? message : (message.split("\n")[0] ?? "");
    process.stderr.write(`accumaudit: ${usage ? "" : "error: "}${printableText(line)}\n`);
    if (process.env.ACCUMAUDIT_DEBUG && error instanceof Error)
      process.stderr.write(`${error.stack}\n`);
    exitWith(2);
  },
);
