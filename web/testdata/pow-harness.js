// Runs web/static/pow.js as a page would, under Node with a stub DOM, for
// the tests: reads [{"token","difficulty"}] from stdin, solves each with
// the real script (its chunking and timers included), and prints
// {"proofs":[...],"ms":[...]}.
"use strict";
const fs = require("fs");
const path = require("path");
const vm = require("vm");

const code = fs.readFileSync(path.join(__dirname, "..", "static", "pow.js"), "utf8");
const challenges = JSON.parse(fs.readFileSync(0, "utf8"));

function solve(c) {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const input = {
      form: { addEventListener() {}, submit() {} },
      getAttribute(name) { return name === "data-challenge" ? c.token : String(c.difficulty); },
      set value(v) { resolve({ proof: v, ms: Number(process.hrtime.bigint() - start) / 1e6 }); },
    };
    const document = {
      readyState: "complete",
      querySelector() { return input; },
      getElementById() { return { textContent: "", hidden: true, getAttribute() { return null; } }; },
    };
    vm.runInNewContext(code, { document, setTimeout, Date, Int32Array, String, Array, parseInt });
  });
}

(async () => {
  const out = { proofs: [], ms: [] };
  for (const c of challenges) {
    const r = await solve(c);
    out.proofs.push(r.proof);
    out.ms.push(r.ms);
  }
  process.stdout.write(JSON.stringify(out));
})();
