// An independent OpenID4VP 1.0 wallet: the OpenWallet Foundation's @openid4vc/openid4vp
// (Openid4vpClient) resolves a TalentProof verifier's request by reference and checks its
// signature (jose, with the key of the client_id's did:key), dcql picks the credentials its
// DCQL query asks for, Digital Bazaar's @digitalbazaar/vc builds and signs one presentation per
// credential query (eddsa-jcs-2022, challenge = nonce, domain = client_id), and the library
// answers with direct_post. Prints, as JSON on stdout:
//
//   node oid4vp_wallet.mjs --request 'openid4vp://?client_id=...&request_uri=...'
//        --seed HEX --credentials FILE [--signer-seed HEX] [--replay]
//
// {"client": {prefix, identifier}, "version": N, "nonce", "clientId", "dcql": {"satisfied",
//  "matched": {query id: [credential index...]}}, "status", "body", "replay": {status, body}}
//
// FILE: a JSON list of the holder's credentials. --signer-seed signs the presentations with
// another key than the holder's (a presentation by another key). http:// URLs are allowed (the
// test's verifier runs on the loopback); nothing else is relaxed.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

import { Openid4vpClient } from "@openid4vc/openid4vp";
import { setGlobalConfig } from "@openid4vc/utils";
import { DcqlQuery } from "dcql";
import { compactVerify, importJWK } from "jose";
import * as vc from "@digitalbazaar/vc";
import * as Ed25519Multikey from "@digitalbazaar/ed25519-multikey";
import { DataIntegrityProof } from "@digitalbazaar/data-integrity";
import { createSignCryptosuite } from "@digitalbazaar/eddsa-jcs-2022-cryptosuite";

const { values: args } = parseArgs({
  options: {
    request: { type: "string" },
    seed: { type: "string" },
    "signer-seed": { type: "string" },
    credentials: { type: "string" },
    replay: { type: "boolean", default: false },
  },
});

setGlobalConfig({ allowInsecureUrls: true });

const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
function base58btcDecode(text) {
  let n = 0n;
  for (const ch of text) {
    const i = B58.indexOf(ch);
    if (i < 0) throw new Error(`not base58btc: ${ch}`);
    n = n * 58n + BigInt(i);
  }
  let hex = n.toString(16);
  if (hex.length % 2) hex = "0" + hex;
  const zeros = text.length - text.replace(/^1+/, "").length;
  return Buffer.concat([Buffer.alloc(zeros), Buffer.from(hex, "hex")]);
}

// did:key (Ed25519, multicodec 0xed01) -> the JWK of its key
function didKeyJwk(did) {
  const multibase = did.replace(/^did:key:/, "").split("#")[0];
  if (!multibase.startsWith("z")) throw new Error(`not a base58btc did:key: ${did}`);
  const bytes = base58btcDecode(multibase.slice(1));
  if (bytes[0] !== 0xed || bytes[1] !== 0x01 || bytes.length !== 34) {
    throw new Error(`not an Ed25519 did:key: ${did}`);
  }
  return { kty: "OKP", crv: "Ed25519", x: bytes.subarray(2).toString("base64url") };
}

const client = new Openid4vpClient({
  callbacks: {
    fetch: (...a) => fetch(...a),
    hash: (data, alg) => {
      const name = { "sha-256": "sha256", "sha-384": "sha384", "sha-512": "sha512" }[alg];
      return new Uint8Array(createHash(name).update(data).digest());
    },
    verifyJwt: async (signer, { compact }) => {
      if (signer.method !== "did" || !signer.didUrl.startsWith("did:key:")) {
        return { verified: false };
      }
      const jwk = didKeyJwk(signer.didUrl);
      try {
        await compactVerify(compact, await importJWK(jwk, "EdDSA"));
        return { verified: true, signerJwk: jwk };
      } catch {
        return { verified: false, signerJwk: jwk };
      }
    },
  },
});

const parsed = client.parseOpenid4vpAuthorizationRequest({ authorizationRequest: args.request });
const resolved = await client.resolveOpenId4vpAuthorizationRequest({
  authorizationRequestPayload: parsed.params,
});
const request = resolved.authorizationRequestPayload;

// the holder's key and credentials; dcql matches them against the query
const holderKey = await Ed25519Multikey.generate({ seed: Buffer.from(args.seed, "hex") });
const holder = `did:key:${holderKey.publicKeyMultibase}`;
const signerKey = args["signer-seed"]
  ? await Ed25519Multikey.generate({ seed: Buffer.from(args["signer-seed"], "hex") })
  : holderKey;
signerKey.controller = `did:key:${signerKey.publicKeyMultibase}`;
signerKey.id = `${signerKey.controller}#${signerKey.publicKeyMultibase}`;

const credentials = JSON.parse(readFileSync(args.credentials, "utf8"));
const query = DcqlQuery.parse(resolved.dcql.query);
DcqlQuery.validate(query);
const result = DcqlQuery.query(
  query,
  credentials.map((c) => ({
    credential_format: "ldp_vc",
    type: c.type,
    claims: c,
    cryptographic_holder_binding: true,
  })),
);
const matched = {};
for (const [id, match] of Object.entries(result.credential_matches)) {
  if (match.success) {
    matched[id] = match.valid_credentials.map((v) => v.input_credential_index);
  }
}

const documentLoader = async (url) => {
  throw new Error(`oid4vp_wallet.mjs loads nothing: ${url}`);
};
const vpToken = {};
for (const [id, indexes] of Object.entries(matched)) {
  const presentation = vc.createPresentation({
    verifiableCredential: [credentials[indexes[0]]],
    holder,
  });
  const suite = new DataIntegrityProof({
    signer: signerKey.signer(),
    cryptosuite: createSignCryptosuite(),
  });
  vpToken[id] = [
    await vc.signPresentation({
      presentation,
      suite,
      documentLoader,
      challenge: request.nonce,
      domain: request.client_id,
    }),
  ];
}

const { authorizationResponsePayload } = await client.createOpenid4vpAuthorizationResponse({
  authorizationRequestPayload: request,
  authorizationResponsePayload: { vp_token: vpToken },
});

async function submit() {
  const { response } = await client.submitOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request,
    authorizationResponsePayload,
  });
  return { status: response.status, body: await response.json() };
}

const first = await submit();
const replay = args.replay ? await submit() : null;

process.stdout.write(
  JSON.stringify({
    client: { prefix: resolved.client.prefix, identifier: resolved.client.identifier },
    version: resolved.version,
    nonce: request.nonce,
    clientId: request.client_id,
    dcql: { satisfied: result.can_be_satisfied, matched },
    status: first.status,
    body: first.body,
    replay,
  }),
);
