/**
 * The README stays short and leads to every page in docs/; every relative link of the README and
 * the pages reaches a file, and a link to a heading (`page.md#heading`) reaches a heading of that
 * page as GitHub names it.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");
const PAGES = [
  "README.md",
  ...readdirSync(join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`),
];
const read = (page: string) => readFileSync(join(root, page), "utf8");

/** Text outside code blocks and inline code, where a link can be. */
function prose(page: string): string {
  return page.replace(/^```[\s\S]*?^```$/gm, "").replace(/`[^`\n]*`/g, "");
}

/** Relative links and images: [text](target) with no scheme. */
function relativeLinks(page: string): string[] {
  return [...prose(page).matchAll(/!?\[[^\]]*\]\(([^)\s]+)\)/g)]
    .map((m) => m[1] ?? "")
    .filter((target) => !/^[a-z]+:/i.test(target));
}

/** GitHub's anchor of a heading: lower case, punctuation but hyphens dropped, spaces as hyphens. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, "")
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

function anchors(page: string): Set<string> {
  const headings = [...page.replace(/^```[\s\S]*?^```$/gm, "").matchAll(/^#{1,6}\s+(.+)$/gm)];
  return new Set(headings.map((m) => anchor(m[1] ?? "")));
}

describe("the README and docs/", () => {
  it("keeps the README at most 250 lines", () => {
    expect(read("README.md").split("\n").length).toBeLessThanOrEqual(250);
  });

  it("links every page in docs/ from the README", () => {
    const links = new Set(relativeLinks(read("README.md")).map((l) => l.split("#")[0]));
    expect(PAGES.filter((p) => p !== "README.md" && !links.has(p))).toEqual([]);
  });

  it("shows the report's picture in the README and on the reports page", () => {
    expect(relativeLinks(read("README.md"))).toContain("docs/report.png");
    expect(relativeLinks(read("docs/reports.md"))).toContain("report.png");
  });

  it.each(PAGES)("%s: every relative link reaches a file and a heading", (page) => {
    const broken: string[] = [];
    for (const link of relativeLinks(read(page))) {
      const [path = "", fragment] = link.split("#");
      const target = path === "" ? page : normalize(join(dirname(page), path));
      if (!existsSync(join(root, target))) broken.push(`${link}: no file ${target}`);
      else if (fragment && target.endsWith(".md") && !anchors(read(target)).has(fragment))
        broken.push(`${link}: no heading #${fragment} in ${target}`);
    }
    expect(broken).toEqual([]);
  });

  it("finds a broken link and a missing heading", () => {
    const page = "[a](docs/no-such-page.md) [b](docs/verdicts.md#no-such-heading)";
    expect(relativeLinks(page)).toEqual([
      "docs/no-such-page.md",
      "docs/verdicts.md#no-such-heading",
    ]);
    expect(anchors(read("docs/verdicts.md")).has("no-such-heading")).toBe(false);
    expect(anchors(read("docs/verdicts.md")).has("data-parallel-two-ranks")).toBe(true);
    expect(anchor("Step semantics: what a step must do")).toBe(
      "step-semantics-what-a-step-must-do",
    );
  });
});
