// Validate an AsyncAPI document with the reference parser (@asyncapi/parser).
// Usage: node validate.mjs FILE   (or "-" for stdin). Prints the diagnostics as JSON lines;
// exits 1 if any has error severity (0), 0 otherwise.
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const source = readFileSync(process.argv[2] === "-" ? 0 : process.argv[2], "utf8");
const diagnostics = await new Parser().validate(source);
let errors = 0;
for (const d of diagnostics) {
  if (d.severity === 0) errors += 1;
  console.log(JSON.stringify({ severity: d.severity, code: d.code, message: d.message, path: d.path }));
}
process.exit(errors ? 1 : 0);
