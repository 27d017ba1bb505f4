// Sign a credential, or build and sign a presentation, with Digital Bazaar's @digitalbazaar/vc
// and the eddsa-jcs-2022 Data Integrity cryptosuite (@digitalbazaar/data-integrity,
// @digitalbazaar/ed25519-multikey): the reverse direction of verify.mjs, offline.
//
// usage: node sign.mjs --seed HEX --controller DID [--created ISO] [FILE | -]
//          a credential (unsigned VC 2.0 JSON) -> the credential with an assertionMethod proof
//        node sign.mjs --seed HEX --controller DID --presentation --challenge C --domain D
//            [--created ISO] [FILE | -]
//          a JSON list of verifiable credentials -> a VerifiablePresentation the library builds
//          (vc.createPresentation, holder = DID) and signs (vc.signPresentation, authentication)
// The key is the Ed25519 key of the 32-byte seed; its verification method is
// DID#<publicKeyMultibase> (a did:web issuer's method as TalentProof writes it; for a did:key
// holder, its one method). eddsa-jcs-2022 canonicalizes with JCS: the library loads no document
// to sign, so the loader refuses every URL (and reports what was asked for).
// prints one JSON object: {"document": the signed document, "requested": [URLs]} or
// {"error": {name, message}, "requested": [...]}; exit code 0 (1 only for bad arguments).
import {readFileSync} from 'node:fs';

import * as vc from '@digitalbazaar/vc';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {createSignCryptosuite} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';

function parseArgs(argv) {
  const args = {file: '-'};
  for(let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if(a === '--seed') args.seed = argv[++i];
    else if(a === '--controller') args.controller = argv[++i];
    else if(a === '--created') args.created = argv[++i];
    else if(a === '--presentation') args.presentation = true;
    else if(a === '--challenge') args.challenge = argv[++i];
    else if(a === '--domain') args.domain = argv[++i];
    else args.file = a;
  }
  if(!/^[0-9a-f]{64}$/.test(args.seed || '')) throw new Error('--seed: 64 hex digits');
  if(!args.controller) throw new Error('--controller DID is required');
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const input = JSON.parse(readFileSync(args.file === '-' ? 0 : args.file, 'utf8'));
  const requested = [];
  const documentLoader = async url => {
    requested.push(url);
    throw new Error(`sign.mjs loads nothing: ${url}`);
  };
  const keyPair = await Ed25519Multikey.generate({
    seed: Uint8Array.from(Buffer.from(args.seed, 'hex')),
    controller: args.controller
  });
  const suite = new DataIntegrityProof({
    signer: keyPair.signer(),
    cryptosuite: createSignCryptosuite(),
    ...(args.created ? {date: new Date(args.created)} : {})
  });
  let document;
  try {
    if(args.presentation) {
      const presentation = vc.createPresentation({
        verifiableCredential: input, holder: args.controller
      });
      document = await vc.signPresentation({
        presentation, suite, documentLoader, challenge: args.challenge, domain: args.domain
      });
    } else {
      document = await vc.issue({credential: input, suite, documentLoader});
    }
  } catch(e) {
    process.stdout.write(
      JSON.stringify({error: {name: e.name, message: e.message}, requested}) + '\n');
    return;
  }
  process.stdout.write(JSON.stringify({document, requested}) + '\n');
}

main().catch(e => {
  process.exitCode = 1;
  process.stdout.write(JSON.stringify({error: {name: e.name, message: e.message}}) + '\n');
});
