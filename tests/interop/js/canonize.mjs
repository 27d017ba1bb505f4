// Expand and canonicalize (RDFC-1.0) a JSON-LD document with jsonld.js in safe mode, offline:
// every context comes from the files the Python package ships (credential/contexts).
//
// usage: node canonize.mjs --contexts DIR [FILE | -]
// prints one JSON object: {"ok": bool, "nquads": "...", "error": {name, message, code}}.
import {readFileSync} from 'node:fs';
import {join} from 'node:path';

import jsonld from 'jsonld';

const argv = process.argv.slice(2);
let dir;
let file = '-';
for(let i = 0; i < argv.length; i++) {
  if(argv[i] === '--contexts') dir = argv[++i];
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
const doc = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8'));
try {
  await jsonld.expand(doc, {documentLoader, safe: true});
  const nquads = await jsonld.canonize(doc, {
    algorithm: 'RDFC-1.0', format: 'application/n-quads', documentLoader, safe: true
  });
  process.stdout.write(JSON.stringify({ok: true, nquads}) + '\n');
} catch(e) {
  const error = {name: e.name, message: e.message, code: e.details?.event?.code ?? e.details?.code};
  process.stdout.write(JSON.stringify({ok: false, error}) + '\n');
}
