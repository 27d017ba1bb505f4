// Verify a credential (or presentation) with Digital Bazaar's @digitalbazaar/vc and the
// eddsa-jcs-2022 Data Integrity cryptosuite, offline: every context comes from the files the
// Python package ships (credential/contexts), every DID document from the files given.
//
// usage: node verify.mjs --contexts DIR [--did-document FILE ...] [--presentation]
//            [--challenge C --domain D] [--now ISO] [FILE | -]
// prints one JSON object: {"verified": bool, "errors": [{name, message}...], "requested": [the
// URLs the library asked the document loader for]}; exit code 0 (1 only for bad arguments).
import {readFileSync, readdirSync} from 'node:fs';
import {join} from 'node:path';

import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {createVerifyCryptosuite} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';

function parseArgs(argv) {
  const args = {didDocuments: [], file: '-'};
  for(let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if(a === '--contexts') args.contexts = argv[++i];
    else if(a === '--did-document') args.didDocuments.push(argv[++i]);
    else if(a === '--presentation') args.presentation = true;
    else if(a === '--challenge') args.challenge = argv[++i];
    else if(a === '--domain') args.domain = argv[++i];
    else if(a === '--now') args.now = argv[++i];
    else args.file = a;
  }
  if(!args.contexts) throw new Error('--contexts DIR is required');
  return args;
}

// the URL each shipped file holds: credential/contexts/__init__.py CONTEXT_FILES, as JSON
function loadContexts(dir) {
  const map = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
  const contexts = new Map();
  const files = new Set(readdirSync(dir));
  for(const [url, file] of Object.entries(map)) {
    if(!files.has(file)) throw new Error(`context file ${file} for ${url} missing in ${dir}`);
    contexts.set(url, JSON.parse(readFileSync(join(dir, file), 'utf8')));
  }
  return contexts;
}

function makeDocumentLoader(contexts, didDocuments, requested) {
  const dids = new Map(didDocuments.map(d => [d.id, d]));
  return async url => {
    requested.push(url);
    if(contexts.has(url)) {
      return {contextUrl: null, documentUrl: url, document: structuredClone(contexts.get(url))};
    }
    const [did, fragment] = url.split('#');
    if(dids.has(did)) {
      const doc = dids.get(did);
      if(fragment === undefined) {
        return {contextUrl: null, documentUrl: url, document: structuredClone(doc)};
      }
      const vm = (doc.verificationMethod || []).find(m => m.id === url);
      if(vm) {
        return {
          contextUrl: null,
          documentUrl: url,
          document: {'@context': doc['@context'], ...structuredClone(vm)}
        };
      }
    }
    if(url.startsWith('did:key:')) {
      // a holder's did:key: its single Multikey method, derived locally
      const key = url.slice('did:key:'.length).split('#')[0];
      const id = `did:key:${key}`;
      const vm = {id: `${id}#${key}`, type: 'Multikey', controller: id, publicKeyMultibase: key};
      const ctx = ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'];
      const document = fragment === undefined ? {
        '@context': ctx, id, verificationMethod: [vm], assertionMethod: [vm.id],
        authentication: [vm.id]
      } : {'@context': ctx, ...vm};
      return {contextUrl: null, documentUrl: url, document};
    }
    throw new Error(`offline document loader: ${url} is not a shipped context or a given DID`);
  };
}

function errorsOf(result) {
  const out = [];
  const visit = e => {
    if(!e) return;
    if(Array.isArray(e)) return e.forEach(visit);
    out.push({name: e.name, message: e.message});
    if(e.errors) visit(e.errors);
    if(e.cause) visit(e.cause);
  };
  visit(result.error);
  for(const r of result.results || []) visit(r.error);
  for(const r of result.credentialResults || []) {
    visit(r.error);
    for(const rr of r.results || []) visit(rr.error);
  }
  for(const r of result.presentationResult?.results || []) visit(r.error);
  return out;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const text = readFileSync(args.file === '-' ? 0 : args.file, 'utf8');
  const document = JSON.parse(text);
  const didDocuments = args.didDocuments.map(f => JSON.parse(readFileSync(f, 'utf8')));
  const requested = [];
  const documentLoader = makeDocumentLoader(loadContexts(args.contexts), didDocuments, requested);
  const suite = new DataIntegrityProof({cryptosuite: createVerifyCryptosuite()});
  // status is the TalentProof verifier's job (the chain); the library only needs a function
  const checkStatus = async () => ({verified: true});
  const now = args.now ? new Date(args.now) : undefined;
  let result;
  try {
    if(args.presentation) {
      result = await vc.verify({
        presentation: document, suite, documentLoader, checkStatus, now,
        challenge: args.challenge, domain: args.domain
      });
    } else {
      result = await vc.verifyCredential({
        credential: document, suite, documentLoader, checkStatus, now
      });
    }
  } catch(e) {
    result = {verified: false, error: e};
  }
  const out = {verified: result.verified === true, errors: errorsOf(result), requested};
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch(e => {
  process.exitCode = 1;
  process.stdout.write(JSON.stringify({verified: false, errors: [{name: e.name, message: e.message}]}) + '\n');
});
