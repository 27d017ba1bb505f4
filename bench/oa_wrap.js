// OpenAttestation's wrapDocuments (@govtechsg/open-attestation, pinned in package.json) on the
// subjects of a JSONL file (one per line, as bench/issuer_bulk.py writes its rows): the
// reference rate of bench/issuer_bulk.py, measured in the same run.
// Each subject becomes an OpenAttestation v2 document (its issuer, a template, the subject as
// `credentialSubject`); wrapDocuments salts every field, hashes the documents, builds their
// Merkle tree and attaches each proof (no signing, no storage, no chain). Reading and parsing
// the file is not timed. Usage: node bench/oa_wrap.js ROWS.jsonl [--one-by-one]
// Prints one JSON line: {"rows", "seconds" (wall), "cpu_seconds" (user + system), "version"};
// with --one-by-one, each document is wrapped alone instead (as a single issuance would: the
// reference of bench/issuer_http.py), after 50 wraps to warm up, and "one_p50_ms", "one_p99_ms"
// are the wall times of one call.
"use strict";
const fs = require("node:fs");
const { wrapDocuments } = require("@govtechsg/open-attestation");
const { version } = require("@govtechsg/open-attestation/package.json");

const path = process.argv[2];
const oneByOne = process.argv[3] === "--one-by-one";
if (!path || !fs.existsSync(path)) {
  console.error("expected the path of a JSONL file of subjects as the only argument");
  process.exit(2);
}
const docs = fs
  .readFileSync(path, "utf8")
  .split("\n")
  .filter((line) => line.trim())
  .map((line) => {
    const row = JSON.parse(line);
    return {
      $template: { name: "DEGREE", type: "EMBEDDED_RENDERER", url: "https://renderer.example" },
      issuers: [
        {
          name: "University of Benchmarks",
          documentStore: "0x9178F546D3FF57D7A6352bD61B80cCCD46199C2d",
          identityProof: { type: "DNS-TXT", location: "bench.example" },
        },
      ],
      credentialSubject: row.credentialSubject ?? row,
    };
  });
const rows = docs.length;
if (oneByOne) {
  for (let i = 0; i < 50; i++) wrapDocuments([docs[i % rows]]);
  const times = docs.map((doc) => {
    const t = process.hrtime.bigint();
    wrapDocuments([doc]);
    return Number(process.hrtime.bigint() - t) / 1e6;
  });
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(rows - 1, Math.floor(q * rows))];
  console.log(JSON.stringify({ rows, one_p50_ms: at(0.5), one_p99_ms: at(0.99), version }));
  process.exit(0);
}
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
const wrapped = wrapDocuments(docs);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = process.cpuUsage(cpu0);
if (wrapped.length !== rows || !wrapped[rows - 1].signature.merkleRoot) {
  console.error("wrapDocuments returned an unexpected result");
  process.exit(1);
}
console.log(JSON.stringify({ rows, seconds, cpu_seconds: (cpu.user + cpu.system) / 1e6, version }));
