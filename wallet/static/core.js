// TalentProof browser wallet, the protocol core (no page): JCS (RFC 8785), base58btc, did:key,
// eddsa-jcs-2022 presentations exactly as credential/presentation.py builds them, the identity-
// document commitment of credential/person.py, OpenID4VCI 1.0 (pre-authorized code, jwt proof)
// and OpenID4VP 1.0 (signed request object by reference, DCQL, direct_post) as
// docs/openid4vc.md profiles them. Keys are WebCrypto Ed25519 CryptoKeys. It talks to the
// issuer and verifier URLs it is given and nothing else.
"use strict";

(function (root) {
  const enc = new TextEncoder();
  const CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2";
  const TALENTPROOF_CONTEXT = "https://talentproof.org/contexts/v1";
  const PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
  const DID_PREFIX = "decentralized_identifier:";
  const KINDS = { DegreeCredential: "degree", EmploymentCredential: "employment", OpenBadgeCredential: "training" };

  // --- JCS (RFC 8785) ------------------------------------------------------------------------
  // ECMAScript's JSON.stringify already writes strings and numbers as RFC 8785 asks; objects get
  // their members sorted by UTF-16 code units (JavaScript's default string order).
  function canonicalize(value) {
    if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
    if (typeof value === "number") {
      if (!Number.isFinite(value)) throw new Error("JCS: a number that is not finite");
      return JSON.stringify(value);
    }
    if (Array.isArray(value)) return "[" + value.map((v) => canonicalize(v === undefined ? null : v)).join(",") + "]";
    if (typeof value === "object") {
      const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
      return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonicalize(value[k])).join(",") + "}";
    }
    throw new Error(`JCS: cannot canonicalize a ${typeof value}`);
  }

  // --- encodings ------------------------------------------------------------------------------
  const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  function b58encode(bytes) {
    let zeros = 0;
    while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
    let n = 0n;
    for (const b of bytes) n = n * 256n + BigInt(b);
    let out = "";
    while (n > 0n) { out = B58[Number(n % 58n)] + out; n /= 58n; }
    return "1".repeat(zeros) + out;
  }
  function b58decode(text) {
    let n = 0n;
    for (const c of text) {
      const i = B58.indexOf(c);
      if (i < 0) throw new Error(`not base58btc: ${JSON.stringify(c)}`);
      n = n * 58n + BigInt(i);
    }
    const bytes = [];
    while (n > 0n) { bytes.unshift(Number(n % 256n)); n /= 256n; }
    let zeros = 0;
    while (zeros < text.length && text[zeros] === "1") zeros++;
    return new Uint8Array([...new Array(zeros).fill(0), ...bytes]);
  }
  function b64url(bytes) {
    let s = "";
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function b64urlDecode(text) {
    if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error("not base64url");
    const s = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4));
    return Uint8Array.from(s, (c) => c.charCodeAt(0));
  }
  const concat = (...parts) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let i = 0;
    for (const p of parts) { out.set(p, i); i += p.length; }
    return out;
  };
  const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));

  // --- keys -----------------------------------------------------------------------------------
  const ED25519_PUB = new Uint8Array([0xed, 0x01]);
  const multibase = (raw) => "z" + b58encode(concat(ED25519_PUB, raw));
  const didKey = (raw) => "did:key:" + multibase(raw);
  const verificationMethod = (raw) => `${didKey(raw)}#${multibase(raw)}`;
  function rawOfDidKey(did) {
    if (!did.startsWith("did:key:z")) throw new Error(`not a did:key: ${did}`);
    const bytes = b58decode(did.slice("did:key:z".length).split("#")[0]);
    if (bytes.length !== 34 || bytes[0] !== 0xed || bytes[1] !== 0x01) throw new Error(`not an Ed25519 did:key: ${did}`);
    return bytes.slice(2);
  }
  async function generateHolderKey() {
    // non-extractable private key (kept as a CryptoKey in IndexedDB); the public key is readable
    const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
    const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
    return { privateKey: pair.privateKey, publicKey: raw };
  }
  function newSalt() { return b64url(crypto.getRandomValues(new Uint8Array(16))); }
  const sign = async (privateKey, bytes) => new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, privateKey, bytes));

  // --- identity-document commitment (credential/person.py) ------------------------------------
  const DOCUMENT_TYPES = ["HKID", "Passport", "MainlandResidentIdentityCard"];
  function normalizeDocumentNumber(number) {
    // ASCII letters and digits only, checked before upper-casing: toUpperCase turns some other
    // letters into ASCII ones ("ß" -> "SS", "ı" -> "I"), which person.py refuses
    const n = String(number).replace(/[ ()\-/.]/g, "");
    if (!n) throw new Error("document number: expected letters or digits, found none");
    if (!/^[A-Za-z0-9]+$/.test(n)) throw new Error("document number: ASCII letters, digits, spaces and ()-/. only");
    return n.toUpperCase();
  }
  async function commitIdentityDocument(documentType, issuingCountry, number, salt) {
    if (!DOCUMENT_TYPES.includes(documentType)) throw new Error(`documentType: expected one of ${DOCUMENT_TYPES.join(", ")}`);
    if (!/^[A-Z]{2}$/.test(issuingCountry)) throw new Error("issuingCountry: expected two capital letters (HK, CN, GB)");
    const key = await crypto.subtle.importKey("raw", b64urlDecode(salt), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const msg = concat(enc.encode("talentproof/identity-document/v1\0" + documentType + "\0" + issuingCountry + "\0"),
      enc.encode(normalizeDocumentNumber(number)));
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, msg));
    return { documentType, issuingCountry, commitment: "hmac-sha256:" + b64url(mac) };
  }

  // --- eddsa-jcs-2022 (credential/integrity.py) -----------------------------------------------
  function formatDate(d) { return d.toISOString().replace(/\.\d{3}Z$/, "Z"); }
  async function signDataIntegrity(document, privateKey, options) {
    const proof = { type: "DataIntegrityProof", cryptosuite: "eddsa-jcs-2022", ...options };
    if (document["@context"] !== undefined) proof["@context"] = JSON.parse(JSON.stringify(document["@context"]));
    const unsecured = { ...document };
    delete unsecured.proof;
    const hashData = concat(await sha256(enc.encode(canonicalize(proof))), await sha256(enc.encode(canonicalize(unsecured))));
    return { ...unsecured, proof: { ...proof, proofValue: "z" + b58encode(await sign(privateKey, hashData)) } };
  }
  // A presentation of `credentials` bound to (challenge, domain), as create_presentation builds it.
  async function createPresentation(credentials, holder, { challenge, domain, salt, created }) {
    if (!challenge || !domain) throw new Error("a presentation needs the verifier's challenge and domain");
    if (!credentials.length) throw new Error("a presentation needs at least one credential");
    const did = didKey(holder.publicKey);
    credentials.forEach((c, i) => {
      if (subjectOf(c).id !== did) throw new Error(`credential ${i} is about ${subjectOf(c).id}, not the holder ${did}`);
    });
    const vp = { "@context": [CREDENTIALS_V2, TALENTPROOF_CONTEXT], type: ["VerifiablePresentation"], holder: did,
      verifiableCredential: credentials.map((c) => JSON.parse(JSON.stringify(c))) };
    if (salt) vp.identityDocumentSalt = salt;
    return signDataIntegrity(vp, holder.privateKey, {
      created: formatDate(created || new Date()), verificationMethod: verificationMethod(holder.publicKey),
      proofPurpose: "authentication", challenge, domain });
  }

  // --- JWT ------------------------------------------------------------------------------------
  async function signJwt(header, payload, privateKey) {
    const input = b64url(enc.encode(JSON.stringify(header))) + "." + b64url(enc.encode(JSON.stringify(payload)));
    return input + "." + b64url(await sign(privateKey, enc.encode(input)));
  }
  async function verifyJwt(token, rawPublicKey) {
    const parts = token.split(".");
    if (parts.length !== 3) throw new Error("the request object is not a signed JWT");
    const header = JSON.parse(new TextDecoder().decode(b64urlDecode(parts[0])));
    const payload = JSON.parse(new TextDecoder().decode(b64urlDecode(parts[1])));
    if (header.alg !== "EdDSA") throw new Error(`the request object is signed with ${header.alg}, expected EdDSA`);
    const key = await crypto.subtle.importKey("raw", rawPublicKey, { name: "Ed25519" }, false, ["verify"]);
    const ok = await crypto.subtle.verify({ name: "Ed25519" }, key, b64urlDecode(parts[2]), enc.encode(parts[0] + "." + parts[1]));
    if (!ok) throw new Error("the request object's signature does not verify with the verifier's key (client_id)");
    return { header, payload };
  }

  // --- HTTP -----------------------------------------------------------------------------------
  async function fetchJson(url, init, what) {
    let r;
    try { r = await fetch(url, { credentials: "omit", ...init }); } catch (e) { throw new Error(`cannot reach ${url} (${what}): ${e.message}`); }
    let body = null;
    const text = await r.text();
    try { body = text ? JSON.parse(text) : null; } catch (e) { body = text; }
    return { status: r.status, body, headers: r.headers };
  }
  function oauthError(res, what) {
    const b = res.body;
    const why = b && typeof b === "object" && b.error ? `${b.error}${b.error_description ? ": " + b.error_description : ""}` : JSON.stringify(b).slice(0, 200);
    const err = new Error(`${what}: HTTP ${res.status} ${why}`);
    err.status = res.status;
    return err;
  }
  function wellKnown(identifier, suffix) {
    const u = new URL(identifier);
    return `${u.origin}/.well-known/${suffix}${u.pathname.replace(/\/$/, "")}`;
  }
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  // --- OpenID4VCI -----------------------------------------------------------------------------
  function parseOfferUri(text) {
    text = (text || "").trim();
    if (!text.startsWith("openid-credential-offer://")) throw new Error("expected an openid-credential-offer:// URI (the institution's QR code)");
    const q = new URLSearchParams(text.slice(text.indexOf("?") + 1));
    if (q.get("credential_offer_uri")) return { uri: q.get("credential_offer_uri") };
    if (q.get("credential_offer")) return { offer: JSON.parse(q.get("credential_offer")) };
    throw new Error("the offer URI has no credential_offer_uri");
  }
  async function resolveOffer(text) {
    const ref = parseOfferUri(text);
    let offer = ref.offer;
    if (ref.uri) {
      const r = await fetchJson(ref.uri, {}, "the credential offer");
      if (r.status !== 200) throw oauthError(r, "credential offer");
      offer = r.body;
    }
    const grant = (offer.grants || {})[PRE_AUTH];
    if (!offer.credential_issuer || !grant || !grant["pre-authorized_code"]) throw new Error("the offer has no pre-authorized code");
    return offer;
  }
  // The authorization server that gets the pre-authorized and transaction codes: one the
  // issuer's metadata lists (the issuer itself when it lists none), the offer's own only if
  // listed (OpenID4VCI 1.0 section 4.1.1) - the twin of wallet/oid4vci.py authorization_server.
  // Whoever forwards a copy of the genuine offer naming a server of theirs would otherwise get
  // the transaction code the holder types, and redeem the offer with their own key.
  function authorizationServer(offer, meta) {
    const ci = offer.credential_issuer;
    const listed = meta.authorization_servers === undefined ? [ci] : meta.authorization_servers;
    if (!Array.isArray(listed) || !listed.length || !listed.every((s) => typeof s === "string" && /^https?:\/\//.test(s))) {
      throw new Error(`issuer metadata of ${ci}: expected authorization_servers, a list of URLs`);
    }
    const named = offer.grants[PRE_AUTH].authorization_server;
    if (named === undefined || named === null) return listed[0];
    const strip = (s) => String(s).replace(/\/$/, "");
    if (!listed.some((s) => strip(s) === strip(named))) {
      throw new Error(`the offer sends the transaction code to the authorization server ${String(named).slice(0, 200)}, not one the credential issuer lists (${listed.join(", ")}); nothing was sent. Do not use this offer: ask the institution for it again.`);
    }
    return named;
  }
  async function issuerMetadata(offer) {
    const ci = offer.credential_issuer;
    const m = await fetchJson(wellKnown(ci, "openid-credential-issuer"), {}, "issuer metadata");
    if (m.status !== 200 || !m.body || m.body.credential_issuer !== ci) throw oauthError(m, "issuer metadata");
    const server = authorizationServer(offer, m.body);
    const a = await fetchJson(wellKnown(server, "oauth-authorization-server"), {}, "authorization server metadata");
    if (a.status !== 200 || !a.body || !a.body.token_endpoint) throw oauthError(a, "authorization server metadata");
    // RFC 8414 section 3.3: metadata naming another issuer is not this server's
    if (typeof a.body.issuer !== "string" || a.body.issuer.replace(/\/$/, "") !== server.replace(/\/$/, "")) {
      throw new Error(`authorization server metadata: expected issuer ${server}, found ${JSON.stringify(a.body.issuer).slice(0, 120)}`);
    }
    return { meta: m.body, asMeta: a.body };
  }
  // Redeem an offer: token, nonce, credential with a jwt proof. Returns {credentials} or a
  // deferred {transaction} to poll with `pollDeferred`.
  //
  // An offer asking for a transaction code goes on only when its credential issuer is one of
  // `trusted`, the addresses the holder confirmed as its institutions' (OpenID4VCI 1.0 section
  // 13.4.2): a copy of a genuine offer on an attacker's host, in the institution's name, would
  // otherwise get the code - the twin of wallet/oid4vci.py require_trusted.
  async function acceptOffer(offer, txCode, holder, trusted = []) {
    const grant = offer.grants[PRE_AUTH];
    if (needsTrust(offer, trusted)) {
      throw new Error(`this offer comes from the credential issuer ${String(offer.credential_issuer).slice(0, 200)}, not one you trust: nothing was sent. Send your transaction code only to the address the institution gave you with it.`);
    }
    const { meta, asMeta } = await issuerMetadata(offer);
    const form = new URLSearchParams({ grant_type: PRE_AUTH, "pre-authorized_code": grant["pre-authorized_code"] });
    if (txCode) form.set("tx_code", txCode);
    const t = await fetchJson(asMeta.token_endpoint, { method: "POST", body: form }, "token");
    if (t.status !== 200 || !t.body.access_token) throw oauthError(t, "token");
    const token = t.body.access_token;
    const configurationId = offer.credential_configuration_ids[0];
    for (let attempt = 0; ; attempt++) {
      let nonce;
      if (meta.nonce_endpoint) {
        const n = await fetchJson(meta.nonce_endpoint, { method: "POST" }, "nonce");
        if (n.status !== 200 || !n.body.c_nonce) throw oauthError(n, "nonce");
        nonce = n.body.c_nonce;
      }
      const payload = { aud: meta.credential_issuer, iat: Math.floor(Date.now() / 1000) };
      if (nonce) payload.nonce = nonce;
      const proof = await signJwt({ alg: "EdDSA", typ: "openid4vci-proof+jwt", kid: verificationMethod(holder.publicKey) }, payload, holder.privateKey);
      const r = await fetchJson(meta.credential_endpoint, {
        method: "POST", headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ credential_configuration_id: configurationId, proofs: { jwt: [proof] } }),
      }, "credential");
      if (r.status === 400 && r.body && r.body.error === "invalid_nonce" && attempt < 2) continue;
      const issuerName = ((meta.display || [])[0] || {}).name || meta.credential_issuer;
      if (r.status === 200 && r.body && Array.isArray(r.body.credentials)) return { credentials: r.body.credentials.map((c) => c.credential), issuerName };
      if ((r.status === 200 || r.status === 202) && r.body && r.body.transaction_id) {
        return { issuerName, transaction: { endpoint: meta.deferred_credential_endpoint, token, transaction_id: r.body.transaction_id,
          interval: r.body.interval || 1, issuer: meta.credential_issuer, issuerName } };
      }
      throw oauthError(r, "credential");
    }
  }
  // Whether the offer asks for a transaction code from a credential issuer not in `trusted`.
  function needsTrust(offer, trusted) {
    const strip = (s) => String(s).replace(/\/$/, "");
    if (!offer.grants[PRE_AUTH].tx_code) return false;
    return !(trusted || []).some((u) => strip(u) === strip(offer.credential_issuer));
  }
  // One try at a deferred transaction: {credentials} or {pending: interval}.
  async function pollDeferred(tx) {
    const r = await fetchJson(tx.endpoint, {
      method: "POST", headers: { Authorization: `Bearer ${tx.token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ transaction_id: tx.transaction_id }),
    }, "deferred credential");
    if (r.status === 200 && r.body && Array.isArray(r.body.credentials)) return { credentials: r.body.credentials.map((c) => c.credential) };
    if (r.status === 202 || (r.status === 400 && r.body && r.body.error === "issuance_pending")) return { pending: (r.body && r.body.interval) || tx.interval || 1 };
    throw oauthError(r, "deferred credential");
  }

  // --- OpenID4VP ------------------------------------------------------------------------------
  function parseRequestUri(text) {
    text = (text || "").trim();
    if (!text.startsWith("openid4vp://")) throw new Error("expected an openid4vp:// URI (the officer's QR code)");
    const q = new URLSearchParams(text.slice(text.indexOf("?") + 1));
    const clientId = q.get("client_id"), requestUri = q.get("request_uri");
    if (!clientId || !requestUri) throw new Error("the request URI needs client_id and request_uri (a request by reference)");
    if (!clientId.startsWith(DID_PREFIX + "did:key:")) throw new Error(`client_id: expected ${DID_PREFIX}did:key:..., found ${clientId.slice(0, 80)}`);
    if (!/^https?:\/\//.test(requestUri)) throw new Error("request_uri: expected an http(s) URL");
    return { clientId, requestUri };
  }
  async function fetchRequest(text) {
    const { clientId, requestUri } = parseRequestUri(text);
    let r;
    try { r = await fetch(requestUri, { credentials: "omit", headers: { Accept: "application/oauth-authz-req+jwt" } }); } catch (e) { throw new Error(`cannot reach the verifier at ${requestUri}: ${e.message}`); }
    if (r.status === 404 || r.status === 410) throw new Error("the presentation request is unknown, expired or already answered: ask the officer for a new QR code");
    if (r.status !== 200) throw new Error(`the verifier answered HTTP ${r.status} for the request object`);
    const did = clientId.slice(DID_PREFIX.length);
    const { header, payload } = await verifyJwt((await r.text()).trim(), rawOfDidKey(did));
    if (header.kid && header.kid.split("#")[0] !== did) throw new Error("the request object is signed by another key than its client_id's");
    if (payload.client_id !== clientId) throw new Error("the request object's client_id is not the QR code's");
    if (payload.response_type !== "vp_token" || payload.response_mode !== "direct_post") throw new Error("not a vp_token request by direct_post");
    if (typeof payload.exp === "number" && payload.exp + 60 < Date.now() / 1000) throw new Error("the presentation request has expired: ask for a new one");
    if (!payload.nonce || !/^https?:\/\//.test(payload.response_uri || "") || !payload.dcql_query || !Array.isArray(payload.dcql_query.credentials)) {
      throw new Error("the request object lacks a nonce, a response_uri or a DCQL query");
    }
    return { clientId, requestUri, verifierDid: did, nonce: payload.nonce, state: payload.state, responseUri: payload.response_uri,
      dcql: payload.dcql_query, clientName: (payload.client_metadata || {}).client_name, claims: payload };
  }
  // What the holder should know before answering (the answers going to another host than the
  // request came from, or unencrypted off this computer): the serve process's answer, the rule
  // `wallet present` applies (wallet/oid4vp.py answer_warnings), never a copy of it here.
  async function answerWarnings(request) {
    const q = new URLSearchParams({ request_uri: request.requestUri, response_uri: request.responseUri });
    const r = await fetchJson(`answer-warnings?${q}`, { cache: "no-store" }, "this wallet's own server");
    if (r.status !== 200 || !r.body || !Array.isArray(r.body.warnings)) {
      throw new Error(`cannot check where the answers go (this wallet's server answered HTTP ${r.status}${r.body && r.body.error ? ": " + r.body.error : ""}): nothing was sent`);
    }
    return r.body.warnings;
  }
  function claimValues(doc, path) {
    let current = [doc];
    for (const step of path) {
      const next = [];
      for (const node of current) {
        if (step === null) { if (Array.isArray(node)) next.push(...node); }
        else if (typeof step === "number") { if (Array.isArray(node) && step >= 0 && step < node.length) next.push(node[step]); }
        else if (typeof step === "string" && node && typeof node === "object" && !Array.isArray(node) && step in node) next.push(node[step]);
      }
      current = next;
      if (!current.length) return [];
    }
    return current;
  }
  const typesOf = (c) => new Set(Array.isArray(c.type) ? c.type : [c.type]);
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  function queryMatches(q, c) {
    if ((q.format || "ldp_vc") !== "ldp_vc") return false;
    const tv = (q.meta || {}).type_values;
    if (tv && tv.length && !tv.some((t) => Array.isArray(t) && t.every((x) => typesOf(c).has(x)))) return false;
    const found = {};
    for (const claim of q.claims || []) {
      const values = claimValues(c, claim.path || []);
      const ok = values.length > 0 && (!claim.values || values.some((v) => claim.values.some((w) => same(v, w))));
      if (typeof claim.id === "string") found[claim.id] = ok; else if (!ok) return false;
    }
    if (Array.isArray(q.claim_sets) && q.claim_sets.length) return q.claim_sets.some((s) => s.every((i) => found[i]));
    return Object.values(found).every(Boolean);
  }
  // The wallet's credentials for a DCQL query (wallet/oid4vp.py match_dcql): {chosen, missing, requested}
  function matchDcql(dcql, credentials, holderDid) {
    const own = credentials.filter((c) => subjectOf(c).id === holderDid);
    const candidates = {}, requested = {};
    for (const q of dcql.credentials || []) {
      const hits = own.filter((c) => queryMatches(q, c));
      candidates[q.id] = q.multiple ? hits : hits.slice(0, 1);
      requested[q.id] = (q.claims || []).map((c) => c.path);
    }
    const chosen = {}, missing = [];
    const sets = dcql.credential_sets;
    if (!Array.isArray(sets) || !sets.length) {
      for (const [id, hits] of Object.entries(candidates)) { if (hits.length) chosen[id] = hits; else missing.push(id); }
      return { chosen, missing, requested };
    }
    for (const s of sets) {
      const options = (s.options || []).filter(Array.isArray);
      const ok = options.find((o) => o.every((i) => (candidates[i] || []).length));
      if (ok) ok.forEach((i) => { chosen[i] = candidates[i]; });
      else if (s.required !== false) missing.push(options.map((o) => o.join("+")).join(" or "));
    }
    return { chosen, missing, requested };
  }
  async function buildVpToken(chosen, holder, request, salt) {
    const token = {};
    const created = new Date();
    for (const [id, creds] of Object.entries(chosen)) {
      token[id] = [await createPresentation(creds, holder, { challenge: request.nonce, domain: request.clientId, salt, created })];
    }
    return token;
  }
  async function sendResponse(request, vpToken) {
    const form = new URLSearchParams({ vp_token: JSON.stringify(vpToken) });
    if (request.state) form.set("state", request.state);
    const r = await fetchJson(request.responseUri, { method: "POST", body: form }, "the verifier's response endpoint");
    if (r.status !== 200) throw oauthError(r, "the verifier refused the presentation");
    return r.body || {};
  }

  // --- validity of a held credential (wallet/inspect.py `check`, in the browser) ----------------
  // The issuer's eddsa-jcs-2022 signature, with the key the issuer's did:web document lists
  // (fetched at its did:web address); validFrom/validUntil; the anchor
  // proof's Merkle path to its root; the Bitstring Status List entries at the issuer (each
  // list's own signature checked too). Whether the root is on the ledger is the verifier's
  // check: the page reads no chain.
  const ANCHOR_TYPE = "TalentProofAnchor";
  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  function unhex(text, what) {
    if (typeof text !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(text)) throw new Error(`${what}: expected 0x and 64 hex digits`);
    return Uint8Array.from(text.slice(2).match(/../g), (h) => parseInt(h, 16));
  }
  function splitAnchor(c) {
    const signed = { ...c };
    if (!Array.isArray(c.proof)) return { signed, anchor: null };
    const anchors = c.proof.filter((p) => p && p.type === ANCHOR_TYPE);
    const rest = c.proof.filter((p) => !(p && p.type === ANCHOR_TYPE));
    if (!anchors.length) return { signed, anchor: null };
    if (anchors.length > 1) throw new Error(`expected at most one anchor proof, found ${anchors.length}`);
    if (rest.length === 1) signed.proof = rest[0]; else if (rest.length) signed.proof = rest; else delete signed.proof;
    return { signed, anchor: anchors[0] };
  }
  function selectProof(doc) {
    const p = doc.proof;
    if (!p || (Array.isArray(p) && !p.length)) throw new Error("the credential carries no proof");
    const list = (Array.isArray(p) ? p : [p]).filter((e) => !(e && e.type === ANCHOR_TYPE));
    if (list.length !== 1) throw new Error(`expected one Data Integrity proof, found ${list.length}`);
    const proof = list[0];
    if (!proof || typeof proof !== "object") throw new Error("proof: expected an object");
    if (proof.type !== "DataIntegrityProof") throw new Error(`proof type: expected DataIntegrityProof, found ${proof.type}`);
    if (proof.cryptosuite !== "eddsa-jcs-2022") throw new Error(`cryptosuite: expected eddsa-jcs-2022, found ${proof.cryptosuite}`);
    if (proof.proofPurpose !== "assertionMethod") throw new Error(`proofPurpose: expected assertionMethod, found ${proof.proofPurpose}`);
    if (typeof proof.verificationMethod !== "string") throw new Error("verificationMethod: expected a DID URL");
    if (proof["@context"] !== undefined) {
      const pc = [].concat(proof["@context"]), dc = [].concat(doc["@context"]);
      if (!same(dc.slice(0, pc.length), pc)) throw new Error("the document's @context does not start with the signed proof's @context");
    }
    return proof;
  }
  const issuerDid = (c) => (c.issuer && typeof c.issuer === "object" ? c.issuer.id : c.issuer);
  // The did:web document's URL (did:web method): https, except for a development host on this
  // machine (localhost), which TalentProof's issuer serves over http.
  function didWebUrl(did) {
    if (typeof did !== "string" || !did.startsWith("did:web:")) throw new Error(`expected a did:web issuer, found ${String(did).slice(0, 60)}`);
    const [host, ...segments] = did.slice("did:web:".length).split(":");
    const h = decodeURIComponent(host);
    const scheme = /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(h) ? "http" : "https";
    const path = segments.length ? segments.map(decodeURIComponent).join("/") : ".well-known";
    return `${scheme}://${h}/${path}/did.json`;
  }
  // Where the page reads the issuer's DID document: at the did:web address of the DID the
  // credential names. For TalentProof's institutions on the service's own DIDs that is the copy
  // their credential issuer serves (<issuer>/did.json). An institution with a DID of its own
  // (did:web:osl.com) whose address cannot be read: the copy at the credential issuer the
  // credential came from is read instead, for the signature and the status lists (a revocation
  // is still shown), but it never makes the credential "valid" - anyone delivering a credential
  // can serve a document under any DID's id listing their own key (a diploma mill's degree in
  // a university's name was listed valid so).
  const didDocumentUrl = (did) => didWebUrl(did);
  const deliveredCopyUrl = (receivedFrom) => receivedFrom.replace(/\/+$/, "") + "/did.json";
  function multikeyRaw(mb) {
    if (typeof mb !== "string" || !mb.startsWith("z")) throw new Error("publicKeyMultibase: expected base58btc (z...)");
    const bytes = b58decode(mb.slice(1));
    if (bytes.length !== 34 || bytes[0] !== 0xed || bytes[1] !== 0x01) throw new Error("publicKeyMultibase: not an Ed25519 Multikey");
    return bytes.slice(2);
  }
  function keyInDidDocument(doc, vm) {
    const did = vm.split("#")[0];
    for (const entry of (doc && doc.verificationMethod) || []) {
      const id = typeof entry.id === "string" && entry.id.startsWith("#") ? did + entry.id : entry.id;
      if (id === vm) {
        if (entry.type !== "Multikey" && entry.type !== "Ed25519VerificationKey2020") throw new Error(`${vm}: expected a Multikey, found ${entry.type}`);
        return multikeyRaw(entry.publicKeyMultibase);
      }
    }
    return null;
  }
  async function verifySignature(doc, proof, raw) {
    const options = { ...proof };
    delete options.proofValue;
    const unsecured = { ...doc };
    delete unsecured.proof;
    const value = proof.proofValue;
    if (typeof value !== "string" || !value.startsWith("z")) throw new Error("proofValue: expected multibase base58btc (z...)");
    const signature = b58decode(value.slice(1));
    if (signature.length !== 64) throw new Error(`proofValue: expected a 64-byte Ed25519 signature, found ${signature.length} bytes`);
    const data = concat(await sha256(enc.encode(canonicalize(options))), await sha256(enc.encode(canonicalize(unsecured))));
    const key = await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
    return crypto.subtle.verify({ name: "Ed25519" }, key, signature, data);
  }
  // RFC 9162 inclusion proof (credential/merkle.py root_from_inclusion_reference)
  async function anchorRoot(credentialHash, anchor) {
    const { leafIndex: index, treeSize: size, path } = anchor;
    if (!Number.isInteger(size) || size < 1) throw new Error(`tree size: expected a positive integer, found ${size}`);
    if (!Number.isInteger(index) || index < 0 || index >= size) throw new Error(`leaf index: expected 0 <= index < ${size}, found ${index}`);
    if (!Array.isArray(path)) throw new Error("path: expected a list of hashes");
    let fn = index, sn = size - 1;
    let r = await sha256(concat(new Uint8Array([0]), credentialHash));
    for (const [k, text] of path.entries()) {
      const p = unhex(text, `path[${k}]`);
      if (sn === 0) throw new Error(`the path has ${path.length} hashes, more than a tree of ${size} needs`);
      if (fn & 1 || fn === sn) {
        r = await sha256(concat(new Uint8Array([1]), p, r));
        if (!(fn & 1)) while (!(fn & 1) && fn !== 0) { fn >>= 1; sn >>= 1; }
      } else {
        r = await sha256(concat(new Uint8Array([1]), r, p));
      }
      fn >>= 1; sn >>= 1;
    }
    if (sn !== 0) throw new Error(`the path has ${path.length} hashes, too few for leaf ${index} of ${size}`);
    return r;
  }
  // Bit `index` of a Bitstring Status List encodedList (multibase base64url of GZIP'd bits).
  async function statusBit(encodedList, index) {
    if (typeof encodedList !== "string" || !encodedList.startsWith("u")) throw new Error("encodedList: expected multibase base64url (prefix u)");
    const gz = b64urlDecode(encodedList.slice(1));
    const stream = new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip"));
    let bits;
    try { bits = new Uint8Array(await new Response(stream).arrayBuffer()); } catch (e) { throw new Error("encodedList: not GZIP-compressed"); }
    if (index < 0 || index >= bits.length * 8) throw new Error(`status index ${index} outside the list of ${bits.length * 8} entries`);
    return Boolean(bits[index >> 3] & (0x80 >> (index % 8)));
  }
  async function fetchPublic(url, cache) {
    // no-store: a status list changes when the institution revokes; the browser's cache must
    // not answer for the issuer
    if (!cache.has(url)) cache.set(url, fetchJson(url, { cache: "no-store" }, "a public document"));
    return cache.get(url);
  }
  const SUMMARY_LABELS = {
    "signature-invalid": "signature invalid", "anchor-invalid": "anchor proof broken", revoked: "revoked",
    suspended: "suspended", expired: "expired", "not-yet-valid": "not yet valid",
    unchecked: "not checked (offline)", pending: "pending (not yet anchored)", valid: "valid",
  };
  // What the page can establish about a credential: {signature, issuerKey, dates, anchor,
  // status: {purpose: text}, summary, label, unconfirmedAt (the did:web address that could not
  // be read, when the label is "issuer's key not confirmed")}. `receivedFrom`: the credential issuer URL it came
  // from (its copy of the DID document is read only when the did:web address cannot be, and
  // never vouches: see `didDocumentUrl`); `online: false` checks nothing over the network;
  // `cache`: URL -> response promise.
  async function checkCredential(c, { receivedFrom, now, online = true, cache = new Map() } = {}) {
    const v = { signature: "not checked", issuerKey: "not checked", dates: "valid", anchor: "pending", status: {} };
    const did = issuerDid(c);
    let raw = null, offline = !online, signerVm = null, unconfirmed = false;
    let signed = null, anchor = null;
    try {
      ({ signed, anchor } = splitAnchor(c));
      const proof = selectProof(signed);
      const vm = proof.verificationMethod;
      signerVm = vm;
      if (vm.split("#")[0] !== did) throw new Error(`signed with a key of ${vm.split("#")[0]}, not of the issuer ${did}`);
      let doc = null, url = null;
      if (online) {
        url = didDocumentUrl(did);
        const r = await fetchPublic(url, cache).catch(() => null);
        if (r && r.status === 200 && r.body && typeof r.body === "object") doc = r.body;
        else {
          v.issuerKey = `not checked (offline: the issuer's DID document at ${url} could not be fetched${r ? `, HTTP ${r.status}` : ""})`;
          const copy = typeof receivedFrom === "string" && /^https?:\/\//.test(receivedFrom) ? deliveredCopyUrl(receivedFrom) : null;
          const rc = copy && copy !== url ? await fetchPublic(copy, cache).catch(() => null) : null;
          if (rc && rc.status === 200 && rc.body && typeof rc.body === "object") {
            [doc, unconfirmed, url] = [rc.body, true, copy];
          }
        }
      }
      if (doc) {
        if (doc.id !== did) throw new Error(`the DID document at ${url} is ${doc.id}'s, not the issuer ${did}'s`);
        raw = keyInDidDocument(doc, vm);
        if (!raw) throw new Error(`the key ${vm.split("#")[1] || vm} is not in the issuer's DID document (${url})`);
        v.issuerKey = unconfirmed
          ? `not confirmed: ${did}'s address ${didDocumentUrl(did)} could not be read; only the credential issuer it came from (${new URL(url).host}) lists the key`
          : `listed in ${did}'s DID document (${new URL(url).host})`;
      } else {
        offline = true;
        const frag = vm.split("#")[1] || "";
        if (!frag.startsWith("z6Mk")) throw new Error("offline, and the verification method does not name its key");
        raw = multikeyRaw(frag);
        if (!online) v.issuerKey = "not checked (offline)";
      }
      if (!(await verifySignature(signed, proof, raw))) {
        raw = null;
        throw new Error(`the signature does not verify: the credential was altered after signing or not signed by ${vm}`);
      }
      v.signature = "valid";
    } catch (e) {
      raw = null;
      v.signature = `invalid (${e.message})`;
    }
    if (v.signature === "valid" && anchor) {
      try {
        const root = await anchorRoot(await sha256(enc.encode(canonicalize(signed))), anchor);
        if (hex(root) !== hex(unhex(anchor.merkleRoot, "merkleRoot"))) {
          throw new Error(`the inclusion path leads to 0x${hex(root)}, not to the anchored root ${anchor.merkleRoot}`);
        }
        v.anchor = "anchored";
      } catch (e) {
        v.anchor = `broken anchor proof (${e.message})`;
      }
    }
    const when = now || new Date();
    if (typeof c.validUntil === "string" && Date.parse(c.validUntil) < when.getTime()) v.dates = `expired ${c.validUntil}`;
    else if (typeof c.validFrom === "string" && Date.parse(c.validFrom) > when.getTime()) v.dates = `not yet valid (from ${c.validFrom})`;
    else if ((c.validUntil && isNaN(Date.parse(c.validUntil))) || (c.validFrom && isNaN(Date.parse(c.validFrom)))) v.dates = "unreadable validity dates";
    const entries = [].concat(c.credentialStatus || []).filter((e) => e && typeof e === "object");
    for (const entry of entries) {
      const purpose = String(entry.statusPurpose);
      v.status[purpose] = !raw ? "not checked (the credential's signature is invalid)"
        : offline ? "not checked (offline)" : await listStatus(entry, did, signerVm, raw, cache, when);
    }
    const staleList = Object.values(v.status).find((s) => s.startsWith("not confirmed"));
    const unchecked = offline || unconfirmed || !!staleList || Object.values(v.status).some((s) => s.startsWith("not checked"));
    v.summary = v.signature !== "valid" ? "signature-invalid"
      : !["anchored", "pending"].includes(v.anchor) ? "anchor-invalid"
      : v.status.revocation === "set" ? "revoked"
      : v.status.suspension === "set" ? "suspended"
      : v.dates.startsWith("expired") ? "expired"
      : v.dates !== "valid" ? "not-yet-valid"
      : unchecked ? "unchecked"
      : v.anchor === "anchored" ? "valid" : "pending";
    v.label = v.summary === "unchecked" && unconfirmed && !offline ? "issuer's key not confirmed"
      : v.summary === "unchecked" && staleList && !offline ? "status not confirmed (the issuer's status list is not current)"
      : SUMMARY_LABELS[v.summary];
    // the issuer's own address that could not be read, for the page to explain the label
    if (v.label === "issuer's key not confirmed") v.unconfirmedAt = didDocumentUrl(did);
    return v;
  }
  // How old a status list credential's validFrom may be for its bits to count (seconds): the
  // issuer signs each list when it is read, and while its ledger is unreachable serves the last
  // read up to 300 s, which a cache may keep for the list's ttl (60 s) more. An older list,
  // genuinely signed, may be one replayed from before a revocation: "not confirmed", never
  // "clear". Twin of wallet/inspect.py's STATUS_LIST_MAX_AGE_S and status_list_dates.
  const STATUS_LIST_MAX_AGE_S = 360, STATUS_LIST_CLOCK_SKEW_S = 60;
  function statusListDates(list, when) {
    const start = list.validFrom, until = list.validUntil;
    if (typeof start !== "string") return "not confirmed (the status list has no validFrom: its age is unknown)";
    const begins = Date.parse(start), ends = typeof until === "string" ? Date.parse(until) : null;
    if (isNaN(begins) || (ends !== null && isNaN(ends))) return "not confirmed (the status list's validity dates are unreadable)";
    if (until !== undefined && until !== null && ends === null) return "not confirmed (the status list's validUntil is not a date)";
    if (ends !== null && ends < when.getTime()) return `not confirmed (the status list expired ${until})`;
    const age = (when.getTime() - begins) / 1000;
    if (age < -STATUS_LIST_CLOCK_SKEW_S) return `not confirmed (the status list is valid only from ${start})`;
    if (age > STATUS_LIST_MAX_AGE_S) {
      return `not confirmed (the status list is ${Math.floor(age / 60)} minutes old, signed ${start}; `
        + `a list older than ${Math.floor(STATUS_LIST_MAX_AGE_S / 60)} minutes may be one replayed from before a revocation)`;
    }
    return null;
  }
  async function listStatus(entry, did, signerVm, raw, cache, when) {
    const url = entry.statusListCredential;
    const index = Number(entry.statusListIndex);
    if (!Number.isInteger(index) || entry.statusListIndex === undefined) return "not checked (no statusListIndex)";
    if (typeof url !== "string" || !/^https?:\/\//.test(url)) return "not checked (no statusListCredential URL)";
    const r = await fetchPublic(url, cache).catch((e) => ({ error: e.message }));
    if (r.error) return `not checked (offline: cannot reach ${url})`;
    if (r.status !== 200 || !r.body || typeof r.body !== "object") return `not checked (HTTP ${r.status} from ${url})`;
    try {
      const list = r.body;
      const proof = selectProof(list);
      const lvm = proof.verificationMethod, frag = lvm.split("#")[1] || "";
      // the list must be signed by the key that signed the credential (as wallet/inspect.py asks)
      const sameKey = lvm === signerVm || (frag.startsWith("z6Mk") && hex(multikeyRaw(frag)) === hex(raw));
      if (lvm.split("#")[0] !== did || !sameKey) {
        return `not checked (the list at ${url} is not signed by the credential's issuer key)`;
      }
      if (!(await verifySignature(list, proof, raw))) return `not checked (the list at ${url} has an invalid signature)`;
      if (issuerDid(list) !== did) return `not checked (the list at ${url} is issued by ${issuerDid(list)}, not ${did})`;
      const stale = statusListDates(list, when);
      if (stale) return stale;
      return (await statusBit((list.credentialSubject || {}).encodedList, index)) ? "set" : "clear";
    } catch (e) {
      return `not checked (unreadable status list: ${e.message})`;
    }
  }

  // --- text a credential, an issuer or a verifier states, as the page shows it ---------------
  // Control (Cc), format (Cf: bidi overrides and isolates, zero-width) and line or paragraph
  // separator characters shown escaped (\u202e, \u200b, \x1b), as the verifier's CLI and page
  // print them: applied by the browser, they could reverse the words after a name or make
  // "HS\u200bBC" look like "HSBC". Twin of credential/text.py's printable (checked to agree by
  // tests/security/test_page_text_isolation.py).
  const HIDDEN_CHAR = /([\p{Cc}\p{Cf}\p{Zl}\p{Zp}])/u; // captured: split keeps it
  const NAMED_ESCAPE = { "\t": "\\t", "\n": "\\n", "\r": "\\r" };
  function escapeChar(ch) {
    if (NAMED_ESCAPE[ch]) return NAMED_ESCAPE[ch];
    const cp = ch.codePointAt(0);
    if (cp < 0x100) return `\\x${cp.toString(16).padStart(2, "0")}`;
    if (cp < 0x10000) return `\\u${cp.toString(16).padStart(4, "0")}`;
    return `\\U${cp.toString(16).padStart(8, "0")}`;
  }
  // ``text`` in pieces: [plain, hidden, plain, hidden, ...], each hidden one escaped
  function printableParts(text) {
    return String(text).split(HIDDEN_CHAR).map((p, i) => (i % 2 ? escapeChar(p) : p));
  }
  function printable(text) { return printableParts(text).join(""); }

  // --- what a credential says -----------------------------------------------------------------
  function subjectOf(c) {
    const s = c && c.credentialSubject;
    const one = Array.isArray(s) ? s[0] : s;
    return one && typeof one === "object" ? one : {};
  }
  function kindOf(c) {
    for (const t of typesOf(c)) if (KINDS[t]) return KINDS[t];
    return "credential";
  }
  function describe(c) {
    const s = subjectOf(c);
    if (s.degree) {
      const d = s.degree, inst = d.institution && typeof d.institution === "object" ? d.institution.name : d.institution;
      return `${d.level} in ${d.fieldOfStudy}, ${inst}, awarded ${d.awardDate}` + (d.honours ? ` (${d.honours})` : "");
    }
    if (s.employment) {
      const e = s.employment, emp = e.employer && typeof e.employer === "object" ? e.employer.name : e.employer;
      return `${e.role} (${e.seniority}) at ${emp}, ${e.startDate} to ${e.endDate || "present"}`;
    }
    if (s.achievement) return `${s.achievement.name} (${s.achievement.achievementType})`;
    return String(c.name || c.id || "?");
  }
  const issuerOf = (c) => (c.issuer && typeof c.issuer === "object" ? (c.issuer.name || c.issuer.id) : String(c.issuer));
  const isAnchored = (c) => Array.isArray(c.proof) && c.proof.some((p) => p && p.type === "TalentProofAnchor");
  // One signed credential, its anchor proof aside (wallet/store.py same_credential)
  function signedPart(c) {
    const kept = (Array.isArray(c.proof) ? c.proof : [c.proof]).filter((p) => !(p && typeof p === "object" && p.type === "TalentProofAnchor"));
    return { ...c, proof: kept.length === 1 ? kept[0] : kept };
  }
  const sameCredential = (a, b) => canonicalize(signedPart(a)) === canonicalize(signedPart(b));
  // Where a received credential goes among the held entries ({id, credential}), as
  // wallet/store.py add_credential decides: the same signed credential is kept once (its
  // anchored copy over an unanchored one: {skip: true} when the held copy is anchored and this
  // one is not); another credential under a held one's id is kept beside it under a key of its
  // own, never over it (any issuer can write the id of a credential the holder holds).
  function storageKey(held, c) {
    const same = c.id ? held.find((e) => e.credential && sameCredential(e.credential, c)) : undefined;
    if (same) return isAnchored(same.credential) && !isAnchored(c) ? { skip: true, key: same.id } : { skip: false, key: same.id };
    const taken = new Set(held.map((e) => e.id));
    let key = c.id || crypto.randomUUID();
    while (taken.has(key)) key = `${c.id}#${crypto.randomUUID()}`;
    return { skip: false, key };
  }

  root.TalentProofWallet = {
    canonicalize, b58encode, b58decode, b64url, b64urlDecode, didKey, multibase, verificationMethod, rawOfDidKey,
    generateHolderKey, newSalt, commitIdentityDocument, normalizeDocumentNumber, DOCUMENT_TYPES,
    signDataIntegrity, createPresentation, signJwt, verifyJwt,
    parseOfferUri, resolveOffer, acceptOffer, needsTrust, pollDeferred,
    parseRequestUri, fetchRequest, answerWarnings, claimValues, matchDcql, buildVpToken, sendResponse,
    subjectOf, kindOf, describe, issuerOf, isAnchored, sameCredential, storageKey, sleep, printable, printableParts,
    splitAnchor, didWebUrl, didDocumentUrl, anchorRoot, statusBit, statusListDates, checkCredential, SUMMARY_LABELS,
  };
})(typeof self !== "undefined" ? self : this);
