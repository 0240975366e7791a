#!/usr/bin/env node
import { interruptAtOnceUnlessWatched } from "./interrupt.js";
import { prestartPythonWorker } from "./prestart.js";

// First the signals: from here on SIGINT, SIGTERM and SIGHUP end the tool with 130 and its workers
// stopped, however early they come (Node's default would end it by the signal, no line said).
interruptAtOnceUnlessWatched();
// The Python worker starts next: its imports (torch) overlap loading the rest of the tool.
prestartPythonWorker(process.argv.slice(2));
await import("./cli.js");
