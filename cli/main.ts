#!/usr/bin/env node
import { prestartPythonWorker } from "./prestart.js";

// The Python worker starts first: its imports (torch) overlap loading the rest of the tool.
prestartPythonWorker(process.argv.slice(2));
await import("./cli.js");
