import { type Browser, chromium } from "playwright-core";

/** Debian's Chromium; accumaudit never downloads a browser. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** Headless Chromium that makes no connection of its own (no background networking, sync or updates). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      "--no-sandbox",
      "--headless",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}
