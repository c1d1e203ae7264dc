// Parse and semantically check KQL with Microsoft's Kusto language service (@kusto/language-service-next),
// against the table schemas in schemas.json. Usage: node check.js FILE.kql... (or - to read one query
// from stdin). Prints one JSON object: {"FILE": [{severity, code, message, line, column}, ...], ...}.
// It checks syntax, names (tables, columns, functions), argument and operand types; it does not run
// anything, so it cannot tell whether a query returns the right rows.
"use strict";
const fs = require("fs");
const path = require("path");
require("@kusto/language-service-next/bridge.min.js");
require("@kusto/language-service-next/Kusto.Language.Bridge.min.js");

const K = global.Kusto.Language;

function globals() {
  const schemas = JSON.parse(fs.readFileSync(path.join(__dirname, "schemas.json"), "utf8"));
  const tables = Object.entries(schemas)
    .filter(([name]) => !name.startsWith("_"))
    .map(([name, columns]) => {
      const schema = "(" + Object.entries(columns).map(([column, type]) => `['${column}']:${type}`).join(", ") + ")";
      return K.Symbols.TableSymbol.From(schema).WithName(name);
    });
  return K.GlobalState.Default.WithDatabase(new K.Symbols.DatabaseSymbol.ctor("workspace", tables));
}

function position(text, offset) {
  const before = text.slice(0, offset).split("\n");
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

function check(text, state) {
  const diagnostics = K.KustoCode.ParseAndAnalyze(text, state).GetDiagnostics();
  const found = [];
  for (let i = 0; i < diagnostics.Count; i++) {
    const d = diagnostics.getItem(i);
    found.push({ severity: d.Severity, code: d.Code, message: d.Message, ...position(text, d.Start) });
  }
  return found;
}

const state = globals();
const report = {};
for (const file of process.argv.slice(2)) {
  const text = fs.readFileSync(file === "-" ? 0 : file, "utf8");
  report[file] = check(text, state);
}
process.stdout.write(JSON.stringify(report, null, 1) + "\n");
