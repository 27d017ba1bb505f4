// Verify a credential (or presentation) with Digital Bazaar's @digitalbazaar/vc and the
// eddsa-jcs-2022 Data Integrity cryptosuite, offline: every context comes from the files the
// Python package ships (credential/contexts), every DID document from the files given.
//
// A credential's `credentialStatus` is checked by Digital Bazaar's own Bitstring Status List
// implementation (@digitalbazaar/vc-bitstring-status-list, its `checkStatus`): it loads each
// entry's `statusListCredential` through the same offline loader (the status list credentials
// given with --status-list, keyed by their `id`), verifies that credential's signature, checks
// its issuer is the credential's and reads the bit. A status list not given fails the check.
//
// usage: node verify.mjs --contexts DIR [--did-document FILE ...] [--status-list FILE ...]
//            [--presentation] [--challenge C --domain D] [--now ISO] [FILE | -]
// prints one JSON object: {"verified": bool, "errors": [{name, message}...], "status":
// [{statusPurpose, statusListCredential, statusListIndex, status}...] (every status entry the
// library read, of every credential; `status` true: the bit is set, e.g. revoked), "requested":
// [the URLs the library asked the document loader for]}; exit code 0 (1 only for bad
// arguments). The library reports a set bit as `verified: true` with `status: true`.
import {readFileSync, readdirSync} from 'node:fs';
import {join} from 'node:path';

import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {createVerifyCryptosuite} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';

function parseArgs(argv) {
  const args = {didDocuments: [], statusLists: [], file: '-'};
  for(let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if(a === '--contexts') args.contexts = argv[++i];
    else if(a === '--did-document') args.didDocuments.push(argv[++i]);
    else if(a === '--status-list') args.statusLists.push(argv[++i]);
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

function makeDocumentLoader(contexts, didDocuments, statusLists, requested) {
  const dids = new Map(didDocuments.map(d => [d.id, d]));
  const lists = new Map(statusLists.map(d => [d.id, d]));
  return async url => {
    requested.push(url);
    if(contexts.has(url)) {
      return {contextUrl: null, documentUrl: url, document: structuredClone(contexts.get(url))};
    }
    if(lists.has(url)) {
      return {contextUrl: null, documentUrl: url, document: structuredClone(lists.get(url))};
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
  visit(result.statusResult?.error);
  for(const r of result.results || []) visit(r.error);
  for(const r of result.credentialResults || []) {
    visit(r.error);
    visit(r.statusResult?.error);
    for(const rr of r.results || []) visit(rr.error);
  }
  for(const r of result.presentationResult?.results || []) visit(r.error);
  return out;
}

function statusesOf(result) {
  const results = [result, ...(result.credentialResults || [])];
  return results.flatMap(r => (r.statusResult?.results || []).map(s => ({
    statusPurpose: s.credentialStatus?.statusPurpose,
    statusListCredential: s.credentialStatus?.statusListCredential,
    statusListIndex: s.credentialStatus?.statusListIndex,
    status: s.status
  })));
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const text = readFileSync(args.file === '-' ? 0 : args.file, 'utf8');
  const document = JSON.parse(text);
  const didDocuments = args.didDocuments.map(f => JSON.parse(readFileSync(f, 'utf8')));
  const requested = [];
  const statusLists = args.statusLists.map(f => JSON.parse(readFileSync(f, 'utf8')));
  const documentLoader = makeDocumentLoader(
    loadContexts(args.contexts), didDocuments, statusLists, requested);
  const suite = new DataIntegrityProof({cryptosuite: createVerifyCryptosuite()});
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
  const out = {
    verified: result.verified === true, errors: errorsOf(result), status: statusesOf(result),
    requested
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch(e => {
  process.exitCode = 1;
  process.stdout.write(JSON.stringify({verified: false, errors: [{name: e.name, message: e.message}]}) + '\n');
});
