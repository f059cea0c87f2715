// A second, independent reading of schemas/: ajv (the validator behind many editors and web
// forms) in its default strict mode, unicode regular expressions included. Reads one JSON request
// on stdin, writes one JSON answer on stdout (tests/test_schemas_ecma.py):
//   {"patterns": [...], "probes": [...]}  -> {"patterns": [{"error": msg} | {"matches": [bool...]}]}
//   {"schemas": {name: schema}, "keywords": [...], "records": [{"file", "kind", "data"}]}
//     -> {"compile": {kind: error message}, "errors": {file: [message...]}}
// The custom x- keywords are declared through ajv's `keywords` option (annotations, no
// validation); everything else stays strict.
const Ajv = require("ajv");
const addFormats = require("ajv-formats");

const BASE = "https://servicebook.local/schemas/";

function patterns({ patterns, probes }) {
  return {
    patterns: patterns.map((source) => {
      let re;
      try {
        re = new RegExp(source, "u");
      } catch (err) {
        return { error: err.message };
      }
      return { matches: probes.map((probe) => re.test(probe)) };
    }),
  };
}

function validate({ schemas, keywords, records }) {
  const warnings = [];
  const logger = { log() {}, warn: (...m) => warnings.push(m.join(" ")), error: (...m) => warnings.push(m.join(" ")) };
  const ajv = new Ajv({ keywords, logger });
  addFormats(ajv);
  for (const [name, schema] of Object.entries(schemas)) {
    ajv.addSchema({ ...schema, $id: `${BASE}${name}.schema.json` });
  }
  const compiled = {};
  const compile = {};
  for (const name of Object.keys(schemas)) {
    try {
      compiled[name] = ajv.getSchema(`${BASE}${name}.schema.json`);
    } catch (err) {
      compile[name] = err.message;
    }
  }
  const errors = {};
  for (const { file, kind, data } of records) {
    const check = compiled[kind];
    if (!check) continue;
    errors[file] = check(data) ? [] : check.errors.map((e) => `${e.instancePath || "/"} ${e.message}`);
  }
  return { compile, errors, warnings };
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const request = JSON.parse(input);
  const answer = "patterns" in request ? patterns(request) : validate(request);
  process.stdout.write(JSON.stringify(answer));
});
