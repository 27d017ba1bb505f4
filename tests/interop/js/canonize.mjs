// Expand and canonicalize (RDFC-1.0) a JSON-LD document with jsonld.js in safe mode, offline:
// every context comes from the files the Python package ships (credential/contexts).
//
// usage: node canonize.mjs --contexts DIR [--many] [FILE | -]
// prints one JSON object: {"ok": bool, "nquads": "...", "error": {name, message, code}}; with
// --many the input is a JSON array of documents and the output an array of those objects.
import {readFileSync} from 'node:fs';
import {join} from 'node:path';

import jsonld from 'jsonld';

const argv = process.argv.slice(2);
let dir;
let file = '-';
let many = false;
for(let i = 0; i < argv.length; i++) {
  if(argv[i] === '--contexts') dir = argv[++i];
  else if(argv[i] === '--many') many = true;
  else file = argv[i];
}
const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
const documentLoader = async url => {
  if(!(url in index)) {
    throw new Error(`offline document loader: ${url} is not a shipped context`);
  }
  const document = JSON.parse(readFileSync(join(dir, index[url]), 'utf8'));
  return {contextUrl: null, documentUrl: url, document};
};
async function canonize(doc) {
  try {
    await jsonld.expand(doc, {documentLoader, safe: true});
    const nquads = await jsonld.canonize(doc, {
      algorithm: 'RDFC-1.0', format: 'application/n-quads', documentLoader, safe: true
    });
    return {ok: true, nquads};
  } catch(e) {
    const error = {name: e.name, message: e.message, code: e.details?.event?.code ?? e.details?.code};
    return {ok: false, error};
  }
}

const input = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8'));
const results = [];
for(const doc of many ? input : [input]) {
  results.push(await canonize(doc));
}
process.stdout.write(JSON.stringify(many ? results : results[0]) + '\n');
