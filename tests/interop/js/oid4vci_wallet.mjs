// An independent OpenID4VCI 1.0 wallet: the OpenWallet Foundation's @openid4vc/openid4vci
// (Openid4vciClient) with jose for the callbacks (Ed25519 key, EdDSA JWT signing), Node's crypto
// for hashing and randomness and Node's fetch. It redeems a TalentProof credential offer with the
// pre-authorized code flow and prints what it received, as JSON, on stdout:
//
//   node oid4vci_wallet.mjs --offer 'openid-credential-offer://?credential_offer_uri=...'
//        --tx-code 123456 [--key did|jwk] [--wrong-tx-code 000000] [--max-polls 60]
//
// {"holder": "did:key:z6Mk...", "version": "...", "configurationId": "...",
//  "wrongTxCode": {"error", "error_description"} | null,
//  "issued": <credential response>, "polls": N, "anchored": <the deferred credential>}
//
// http:// URLs are allowed (the test's issuer runs on the loopback); nothing else is relaxed.
import { createHash, randomBytes } from "node:crypto";
import { parseArgs } from "node:util";

import { Openid4vciClient, setGlobalConfig } from "@openid4vc/openid4vci";
import { clientAuthenticationAnonymous } from "@openid4vc/oauth2";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

const { values: args } = parseArgs({
  options: {
    offer: { type: "string" },
    "tx-code": { type: "string" },
    "wrong-tx-code": { type: "string" },
    key: { type: "string", default: "did" },
    "max-polls": { type: "string", default: "120" },
  },
});

setGlobalConfig({ allowInsecureUrls: true });

const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
function base58btc(bytes) {
  let n = BigInt("0x" + Buffer.from(bytes).toString("hex"));
  let out = "";
  while (n > 0n) {
    out = B58[Number(n % 58n)] + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = "1" + out;
  }
  return out;
}

// the holder's key: Ed25519, as a did:key (multicodec ed25519-pub 0xed01)
const { publicKey, privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
const publicJwk = await exportJWK(publicKey);
const raw = Buffer.from(publicJwk.x, "base64url");
const multibase = "z" + base58btc(Buffer.concat([Buffer.from([0xed, 0x01]), raw]));
const did = `did:key:${multibase}`;
const signer =
  args.key === "jwk"
    ? { method: "jwk", alg: "EdDSA", publicJwk }
    : { method: "did", alg: "EdDSA", didUrl: `${did}#${multibase}` };

const client = new Openid4vciClient({
  callbacks: {
    fetch: (...a) => fetch(...a),
    hash: (data, alg) => {
      const name = { "sha-256": "sha256", "sha-384": "sha384", "sha-512": "sha512" }[alg];
      return new Uint8Array(createHash(name).update(data).digest());
    },
    generateRandom: (length) => new Uint8Array(randomBytes(length)),
    signJwt: async (jwtSigner, { header, payload }) => {
      const jwt = await new SignJWT(payload).setProtectedHeader(header).sign(privateKey);
      return { jwt, signerJwk: publicJwk };
    },
    clientAuthentication: clientAuthenticationAnonymous(),
  },
});

const credentialOffer = await client.resolveCredentialOffer(args.offer);
const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer);
const [configurationId] = credentialOffer.credential_configuration_ids;

let wrongTxCode = null;
if (args["wrong-tx-code"]) {
  try {
    await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
      credentialOffer,
      issuerMetadata,
      txCode: args["wrong-tx-code"],
    });
    wrongTxCode = { error: "accepted" };
  } catch (error) {
    wrongTxCode = error.errorResponse ?? { error: String(error) };
  }
}

const { accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
  credentialOffer,
  issuerMetadata,
  txCode: args["tx-code"],
});
const accessToken = accessTokenResponse.access_token;
const { c_nonce: nonce } = await client.requestNonce({ issuerMetadata });
const { jwt } = await client.createCredentialRequestJwtProof({
  issuerMetadata,
  credentialConfigurationId: configurationId,
  signer,
  nonce,
});
const issued = await client.retrieveCredentials({
  issuerMetadata,
  accessToken,
  credentialConfigurationId: configurationId,
  proofs: { jwt: [jwt] },
});
const response = issued.credentialResponse;

let anchored = null;
let polls = 0;
if (response.transaction_id) {
  const maxPolls = Number(args["max-polls"]);
  while (polls < maxPolls && anchored === null) {
    await new Promise((resolve) => setTimeout(resolve, (response.interval ?? 1) * 1000));
    polls += 1;
    const deferred = await client.retrieveDeferredCredentials({
      issuerMetadata,
      accessToken,
      transactionId: response.transaction_id,
    });
    const body = deferred.deferredCredentialResponse;
    if (body.credentials) {
      const [first] = body.credentials;
      anchored = typeof first === "object" && "credential" in first ? first.credential : first;
    }
  }
}

process.stdout.write(
  JSON.stringify({
    holder: did,
    version: issuerMetadata.originalDraftVersion,
    configurationId,
    wrongTxCode,
    issued: response,
    polls,
    anchored,
  }),
);
