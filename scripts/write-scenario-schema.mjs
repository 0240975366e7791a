// Writes the scenario's JSON Schema, derived from ScenarioSchema, where the Python worker reads it.
// Run through `npm run schema` (which builds first); a test fails while the file is out of date.
import { writeFileSync } from "node:fs";
import { scenarioJsonSchema } from "../dist/index.js";

const target = new URL("../trainers/python/accumaudit_probe/scenario.schema.json", import.meta.url);
writeFileSync(target, `${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`);
console.log(`wrote ${target.pathname}`);
