// TalentProof browser wallet, the page: the key and credentials in IndexedDB, offers received,
// requests answered on consent. The protocols are in core.js (window.TalentProofWallet).
"use strict";

(function () {
  const W = window.TalentProofWallet;
  const $ = (id) => document.getElementById(id);

  // --- storage: one IndexedDB database, the key is a non-extractable CryptoKey ---------------
  const DB = "talentproof-wallet";
  function db() {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = () => {
        const d = req.result;
        d.createObjectStore("holder");
        d.createObjectStore("credentials", { keyPath: "id" });
        d.createObjectStore("pending", { keyPath: "transaction_id" });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  async function tx(store, mode, fn) {
    const d = await db();
    return new Promise((resolve, reject) => {
      const t = d.transaction(store, mode);
      const r = fn(t.objectStore(store));
      t.oncomplete = () => { d.close(); resolve(r && r.result); };
      t.onerror = () => { d.close(); reject(t.error); };
    });
  }
  const getHolder = () => tx("holder", "readonly", (s) => s.get("holder"));
  const putHolder = (h) => tx("holder", "readwrite", (s) => s.put(h, "holder"));
  const allCredentials = () => tx("credentials", "readonly", (s) => s.getAll());
  const putCredential = (entry) => tx("credentials", "readwrite", (s) => s.put(entry));
  const allPending = () => tx("pending", "readonly", (s) => s.getAll());
  const putPending = (p) => tx("pending", "readwrite", (s) => s.put(p));
  const dropPending = (id) => tx("pending", "readwrite", (s) => s.delete(id));

  let holder = null; // {privateKey: CryptoKey, publicKey: Uint8Array, salt}
  let request = null; // the verified presentation request being answered
  let matched = null;
  let warnings = []; // where the request's answers go that the holder must confirm (answerWarnings)

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v; else node.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(typeof c === "string" ? shown(c) : c);
    return node;
  }
  // ``text`` as nodes, its control and format characters escaped and marked (W.printable)
  function shown(text) {
    const parts = W.printableParts(text);
    if (parts.length === 1) return document.createTextNode(parts[0]);
    const frag = document.createDocumentFragment();
    parts.forEach((part, i) => {
      if (i % 2 === 0) { if (part) frag.append(document.createTextNode(part)); return; }
      const mark = document.createElement("span");
      mark.className = "escaped";
      mark.textContent = part;
      frag.append(mark);
    });
    return frag;
  }
  // text a credential, an issuer or a verifier states, set apart from the words around it: a
  // right-to-left name cannot move them (<bdi>: its own direction, isolated)
  function untrusted(text) { return el("bdi", { class: "untrusted" }, String(text)); }
  function setText(node, ...parts) {
    node.replaceChildren(...parts.filter((p) => p !== null && p !== undefined).map((p) => (typeof p === "string" ? shown(p) : p)));
  }
  function status(id, text, kind) {
    const node = $(id);
    setText(node, text);
    node.className = "status" + (kind ? " " + kind : "");
    node.dataset.state = kind || "working";
  }

  // --- key ------------------------------------------------------------------------------------
  function showKey() {
    const has = Boolean(holder);
    $("key-box").hidden = !has;
    $("key-create").hidden = has;
    $("key-status").textContent = has ? "Your key was made in this browser and cannot be copied out of it." : "No key in this browser yet.";
    if (has) $("did").textContent = W.didKey(holder.publicKey);
    for (const id of ["commit", "accept", "open-request"]) $(id).disabled = !has;
  }
  async function createKey() {
    const key = await W.generateHolderKey();
    holder = { ...key, salt: W.newSalt() };
    await putHolder(holder);
    showKey();
  }

  async function makeCommitment() {
    try {
      const obj = await W.commitIdentityDocument($("doc-type").value, $("doc-country").value.trim().toUpperCase(), $("doc-number").value, holder.salt);
      $("commitment").textContent = JSON.stringify(obj, null, 2);
      $("commitment").hidden = false;
    } catch (e) {
      $("commitment").textContent = e.message;
      $("commitment").hidden = false;
    }
  }

  // --- credentials ----------------------------------------------------------------------------
  function validUntil(c) { return c.validUntil ? `valid until ${c.validUntil.slice(0, 10)}` : "no expiry date"; }
  // what may be presented: not revoked, suspended, expired, not yet valid or broken (a pending
  // or unchecked one the verifier judges itself)
  const USABLE = ["valid", "pending", "unchecked"];
  const STATUS_WORDS = { clear: { revocation: "not revoked", suspension: "not suspended" }, set: { revocation: "REVOKED", suspension: "SUSPENDED" } };
  function statusText(purpose, s) { return (STATUS_WORDS[s] || {})[purpose] || `${purpose}: ${s}`; }
  // one line of what was found, then the details of each check
  function checkLine(v) {
    const parts = [v.signature === "valid" ? "signature valid" : "signature invalid"];
    for (const [purpose, s] of Object.entries(v.status)) parts.push(s.startsWith("not checked") ? `${purpose} not checked` : statusText(purpose, s));
    parts.push(v.dates === "valid" ? "in its validity dates" : v.dates);
    return parts.join(" · ");
  }
  function checkDetails(v) {
    const rows = [
      ["Issuer's signature", v.signature === "valid" ? "valid (eddsa-jcs-2022, checked in this browser)" : v.signature],
      ["Issuer's key", v.issuerKey],
      ["Validity dates", v.dates],
      ...Object.entries(v.status).map(([purpose, s]) => [`Status list (${purpose})`, s === "clear" || s === "set" ? `${statusText(purpose, s)} (the issuer's list, its signature checked)` : s]),
      ["Ledger anchor", v.anchor === "anchored" ? "its Merkle path leads to the anchored root" : v.anchor === "pending" ? "not anchored yet" : v.anchor],
    ];
    const dl = el("dl", {});
    for (const [k, text] of rows) dl.append(el("dt", {}, k), el("dd", {}, untrusted(text)));
    return el("details", { class: "checks" }, el("summary", {}, "What was checked"), dl,
      el("p", { class: "muted small" }, "Not checked here: whether that root is on the ledger and whether the institution is accredited. The page reads no chain; the verifier checks both."));
  }
  function showValidity(li, v) {
    li.className = `credential ${v.summary}`;
    li.dataset.state = v.summary;
    li.querySelector(".badge").textContent = v.label;
    setText(li.querySelector(".checked"), checkLine(v));
    // a key the wallet could not confirm: what it means for the applicant, in view (the
    // reason alone sits folded under "What was checked")
    setText(li.querySelector(".note"), ...(v.unconfirmedAt ? [
      "What this means: the signature is valid, but this wallet could not confirm that the key is the issuer's. It trusts an issuer's key only from the issuer's own address, ",
      untrusted(v.unconfirmedAt),
      ", which could not be read, and never from whoever delivered the credential. You can still share it: the verifier checks the issuer's key on the ledger, and refuses the credential if that issuer did not register the key.",
    ] : []));
    li.querySelector(".checks-slot").replaceChildren(checkDetails(v));
  }
  function credentialItem(entry, extra) {
    const c = entry.credential;
    return el("li", { class: "credential checking", "data-kind": W.kindOf(c), "data-state": "checking", "data-id": c.id || "" },
      el("div", {}, el("span", { class: "kind" }, W.kindOf(c)), el("span", { class: "badge" }, "checking…")),
      el("div", { class: "says" }, untrusted(W.describe(c))),
      el("div", { class: "meta" }, untrusted(W.subjectOf(c).name || ""), " · issued by ", untrusted(W.issuerOf(c)), ` · ${validUntil(c)}`),
      el("div", { class: "checked meta" }, ""),
      el("p", { class: "note" }),
      el("div", { class: "checks-slot" }),
      extra || null);
  }
  let checking = 0; // the latest list's checks; an older render's results are dropped
  async function renderList() {
    const entries = (await allCredentials()).sort((a, b) => (b.received || "").localeCompare(a.received || ""));
    const pending = await allPending();
    const ul = $("credentials");
    ul.replaceChildren();
    delete ul.dataset.checked;
    for (const p of pending) {
      ul.append(el("li", { class: "credential pending", "data-state": "waiting" },
        el("div", {}, el("span", { class: "kind" }, "on its way"), el("span", { class: "badge" }, "being anchored")),
        el("div", { class: "meta" }, "from ", untrusted(p.issuerName || p.issuer), ": the institution signed it; it arrives once anchored on the ledger")));
    }
    const items = [];
    for (const entry of entries) {
      const dl = el("button", { type: "button" }, "Download JSON");
      dl.addEventListener("click", () => download(entry.credential));
      const qr = el("button", { type: "button", class: "show-qr" }, "Offline QR code");
      qr.addEventListener("click", () => showQr(entry.credential));
      const li = credentialItem(entry, el("div", { class: "actions" }, qr, dl));
      ul.append(li);
      items.push([li, entry]);
    }
    $("empty").hidden = entries.length + pending.length > 0;
    const run = ++checking;
    const cache = new Map(); // one fetch of each DID document and status list per pass
    await Promise.all(items.map(async ([li, entry]) => {
      const v = await W.checkCredential(entry.credential, { receivedFrom: entry.issuer, online: navigator.onLine !== false, cache });
      if (run === checking) showValidity(li, v);
    }));
    if (run === checking) ul.dataset.checked = "true";
  }
  function download(c) {
    const blob = new Blob([JSON.stringify(c, null, 2)], { type: "application/json" });
    saveBlob(blob, `credential-${W.kindOf(c)}.json`);
  }
  function saveBlob(blob, name) {
    const a = el("a", { href: URL.createObjectURL(blob), download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }
  // Only credentials about this wallet's key (credentialSubject.id its did:key, the key its
  // proof proved): another holder's credential can never be presented (the verifier's check 10)
  // and is not kept to be listed as valid - the twin of wallet/oid4vci.py _bound_to_me.
  async function store(credentials, issuer) {
    const me = W.didKey(holder.publicKey);
    for (const c of credentials) {
      const s = c && c.credentialSubject;
      const about = (Array.isArray(s) ? s : [s]).map((x) => (x && typeof x === "object" ? x.id : undefined));
      if (about.length !== 1 || about[0] !== me) {
        throw new Error(`the issuer sent a credential about ${about.map(String).join(", ").slice(0, 200) || "no one"}, not this wallet's key ${me}: not stored`);
      }
    }
    for (const c of credentials) {
      const { skip, key } = W.storageKey(await allCredentials(), c);
      if (!skip) await putCredential({ id: key, credential: c, received: new Date().toISOString(), issuer });
    }
  }

  // --- the offline QR code: made by `talentproof wallet serve` on this computer ---------------
  let qrBlob = null;
  async function showQr(c) {
    const view = $("qr-view");
    $("qr-image").removeAttribute("src");
    $("qr-image").hidden = true;
    $("qr-save").hidden = true;
    setText($("qr-what"), `${W.kindOf(c)}: `, untrusted(W.describe(c)));
    status("qr-status", "Making the QR code on this computer…");
    view.hidden = false;
    $("qr-close").focus();
    try {
      let r;
      try {
        r = await fetch("qr", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(c), credentials: "omit" });
      } catch (e) {
        throw new Error(`the wallet's local server (talentproof wallet serve) cannot be reached: ${e.message}`);
      }
      if (r.status !== 200) {
        const text = await r.text();
        let why = text;
        try { why = JSON.parse(text).error || text; } catch (e) { /* plain text */ }
        throw new Error(r.status === 404 || r.status === 501 ? "open this page with `talentproof wallet serve`: it makes the offline QR code on this computer" : `no QR code: ${why}`);
      }
      qrBlob = await r.blob();
      if (qrBlob.type !== "image/png") throw new Error(`no QR code: the local server answered ${qrBlob.type}, expected image/png`);
      const img = $("qr-image");
      if (img.src) URL.revokeObjectURL(img.src);
      await new Promise((ok, ko) => { img.onload = ok; img.onerror = () => ko(new Error("the QR image cannot be shown")); img.src = URL.createObjectURL(qrBlob); });
      img.hidden = false;
      $("qr-save").hidden = false;
      $("qr-save").dataset.name = `credential-${W.kindOf(c)}-qr.png`;
      status("qr-status", `QR version ${r.headers.get("X-QR-Version")}, ${r.headers.get("X-QR-Characters")} characters: the whole credential, readable by a verifier without a network.`, "ok");
    } catch (e) {
      status("qr-status", e.message, "error");
    }
  }
  function closeQr() {
    $("qr-view").hidden = true;
    const img = $("qr-image");
    if (img.src) URL.revokeObjectURL(img.src);
    img.removeAttribute("src");
    qrBlob = null;
  }

  // --- receive --------------------------------------------------------------------------------
  // The credential issuers the holder confirmed as its institutions' addresses: a transaction
  // code goes to no other (OpenID4VCI 1.0 section 13.4.2; W.acceptOffer refuses the rest).
  const TRUSTED_KEY = "talentproof-trusted-issuers";
  function trustedIssuers() {
    try {
      const list = JSON.parse(localStorage.getItem(TRUSTED_KEY) || "[]");
      return Array.isArray(list) ? list.filter((u) => typeof u === "string") : [];
    } catch (e) { return []; }
  }
  let toTrust = null;  // the issuer shown in #offer-trust, confirmed by #offer-trust-yes
  function trustShown() {
    if (toTrust) localStorage.setItem(TRUSTED_KEY, JSON.stringify([...trustedIssuers(), toTrust]));
    toTrust = null;
    $("offer-trust").hidden = true;
    return accept();
  }
  async function accept() {
    const btn = $("accept");
    btn.disabled = true;
    $("offer-trust").hidden = true;
    toTrust = null;
    try {
      status("offer-status", "Reading the offer…");
      const offer = await W.resolveOffer($("offer-uri").value);
      if (W.needsTrust(offer, trustedIssuers())) {
        // the holder sees the address before the code goes anywhere
        toTrust = String(offer.credential_issuer).replace(/\/$/, "");
        setText($("offer-trust-text"), "This offer comes from ", untrusted(toTrust),
          ", an address you have not received from before. Send your transaction code there only if it is the address the institution gave you with the code; if not, do not use this offer.");
        $("offer-trust").hidden = false;
        status("offer-status", "Nothing was sent: confirm the institution's address first.");
        return;
      }
      status("offer-status", `Asking ${offer.credential_issuer} for the credential…`);
      const got = await W.acceptOffer(offer, $("tx-code").value.trim(), holder, trustedIssuers());
      if (got.credentials) {
        await store(got.credentials, offer.credential_issuer);
        status("offer-status", `Received from ${got.issuerName}.`, "ok");
      } else {
        await putPending(got.transaction);
        await renderList();
        status("offer-status", `Signed by ${got.issuerName}; waiting for it to be anchored on the ledger…`);
        await finishPending(got.transaction);
      }
      $("offer-uri").value = "";
      $("tx-code").value = "";
    } catch (e) {
      status("offer-status", e.message, "error");
    } finally {
      btn.disabled = false;
      await renderList();
    }
  }
  async function finishPending(t) {
    for (;;) {
      let r;
      try {
        r = await W.pollDeferred(t);
      } catch (e) {
        // refused for good (unknown transaction, expired token): stop waiting for it
        if (e.status >= 400 && e.status < 500) await dropPending(t.transaction_id);
        throw e;
      }
      if (r.credentials) {
        try {
          await store(r.credentials, t.issuer);
        } finally {
          await dropPending(t.transaction_id); // kept or refused for good
        }
        status("offer-status", `Received from ${t.issuerName}, anchored.`, "ok");
        return;
      }
      await W.sleep(Math.min(Math.max(r.pending, 1), 30) * 1000);
    }
  }
  async function resumePending() {
    for (const t of await allPending()) {
      finishPending(t).then(renderList).catch((e) => status("offer-status", `${t.issuerName}: ${e.message}`, "error"));
    }
  }

  // --- present --------------------------------------------------------------------------------
  // Share stays disabled while a warning is not confirmed (and send() checks it again)
  const confirmed = () => !warnings.length || $("consent-confirm").checked;
  function updateSend() { $("send").disabled = !matched || !Object.keys(matched.chosen).length || !confirmed(); }
  async function openRequest() {
    $("consent").hidden = true;
    request = null;
    matched = null;
    warnings = [];
    try {
      status("present-status", "Reading the request…");
      const asked = await W.fetchRequest($("request-uri").value);
      warnings = await W.answerWarnings(asked);
      request = asked;
      // each credential checked first: a revoked, suspended, expired or broken one is not offered
      status("present-status", "Checking your credentials…");
      const cache = new Map();
      const checked = await Promise.all((await allCredentials()).map(async (e) => [e.credential,
        await W.checkCredential(e.credential, { receivedFrom: e.issuer, online: navigator.onLine !== false, cache })]));
      const validity = new Map(checked);
      const usable = checked.filter(([, v]) => USABLE.includes(v.summary)).map(([c]) => c)
        .sort((a, b) => Number(W.isAnchored(b)) - Number(W.isAnchored(a)));
      const held = checked.filter(([, v]) => !USABLE.includes(v.summary));
      matched = W.matchDcql(request.dcql, usable, W.didKey(holder.publicKey));
      const host = new URL(request.responseUri).host;
      setText($("consent-who"), untrusted(request.clientName || "A verifier"), " at ", untrusted(host), " (", untrusted(`${request.verifierDid.slice(0, 24)}…`), ") asks for:");
      const ul = $("consent-list");
      ul.replaceChildren();
      for (const [qid, list] of Object.entries(matched.chosen)) {
        const paths = (matched.requested[qid] || []).map((p) => p.filter((s) => typeof s === "string").join(".")).join(", ");
        for (const c of list) {
          const li = credentialItem({ credential: c }, el("div", { class: "claims" }, `sent whole, as issued; the verifier reads: ${paths}`));
          showValidity(li, validity.get(c));
          ul.append(li);
        }
      }
      $("consent-held").hidden = !held.length;
      setText($("consent-held"), held.length ? `Not offered: ${held.map(([c, v]) => `${W.kindOf(c)} (${v.label})`).join(", ")}.` : "");
      const missing = $("consent-missing");
      missing.hidden = !matched.missing.length;
      setText(missing, ...(matched.missing.length ? ["You have no credential for: ", untrusted(matched.missing.join("; ")), ". The officer will see what is missing."] : []));
      $("consent-warning-list").replaceChildren(...warnings.map((w) => el("li", {}, w.charAt(0).toUpperCase() + w.slice(1) + ".")));
      $("consent-confirm").checked = false;
      setText($("consent-confirm-text"), "I trust ", untrusted(host), " with these credentials and my document salt: let me share them there.");
      $("consent-warning").hidden = !warnings.length;
      updateSend();
      $("consent").hidden = false;
      $("consent").scrollIntoView({ block: "nearest" });
      status("present-status", "");
    } catch (e) {
      status("present-status", e.message, "error");
    }
  }
  async function send() {
    if (!request || !confirmed()) {
      status("present-status", "Not sent: confirm where the answers go first (the warning above).", "error");
      return;
    }
    $("send").disabled = true;
    try {
      status("present-status", "Signing and sending…");
      const token = await W.buildVpToken(matched.chosen, holder, request, holder.salt);
      await W.sendResponse(request, token);
      $("consent").hidden = true;
      $("request-uri").value = "";
      status("present-status", "Sent. The verdict is on the officer's screen.", "ok");
    } catch (e) {
      status("present-status", e.message, "error");
      updateSend();
    }
  }

  // --- QR: camera or image --------------------------------------------------------------------
  // The one QR code of a picture. jsQR reads one code, whichever it finds (often the smaller of
  // two): an attacker's code beside the officer's or the institution's would be answered in
  // silence. So the code found is painted over and the picture read again: a second, different
  // code refuses the picture (the CLI's rule, wallet/scan.py); the same code twice is one.
  function decodeImageData(data) {
    const read = (d) => jsQR(d.data, d.width, d.height, { inversionAttempts: "attemptBoth" });
    const code = read(data);
    if (!code) return null;
    const corners = ["topLeftCorner", "topRightCorner", "bottomRightCorner", "bottomLeftCorner"].map((k) => code.location[k]);
    const xs = corners.map((p) => p.x), ys = corners.map((p) => p.y);
    const margin = Math.ceil(0.15 * Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys)));
    const x0 = Math.max(0, Math.floor(Math.min(...xs)) - margin), x1 = Math.min(data.width, Math.ceil(Math.max(...xs)) + margin);
    const y0 = Math.max(0, Math.floor(Math.min(...ys)) - margin), y1 = Math.min(data.height, Math.ceil(Math.max(...ys)) + margin);
    const rest = new Uint8ClampedArray(data.data);
    for (let y = y0; y < y1; y++) rest.fill(255, (y * data.width + x0) * 4, (y * data.width + x1) * 4);
    const other = read({ data: rest, width: data.width, height: data.height });
    if (other && other.data !== code.data) {
      throw new Error("the picture holds 2 different QR codes: show or photograph only the one you mean to answer");
    }
    return code.data;
  }
  function fromCanvas(source, w, h) {
    const canvas = $("scan-canvas");
    const scale = Math.min(1, 1600 / Math.max(w, h));
    canvas.width = Math.round(w * scale);
    canvas.height = Math.round(h * scale);
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(source, 0, 0, canvas.width, canvas.height);
    return decodeImageData(ctx.getImageData(0, 0, canvas.width, canvas.height));
  }
  async function scanFile(file, target) {
    const bitmap = await createImageBitmap(file);
    const text = fromCanvas(bitmap, bitmap.width, bitmap.height);
    bitmap.close();
    if (!text) throw new Error("no QR code found in that image");
    $(target).value = text;
    $(target).dispatchEvent(new Event("scanned"));
  }
  let stream = null;
  function stopCamera() {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    $("scanner").hidden = true;
  }
  async function scanCamera(target) {
    const video = $("camera");
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    } catch (e) {
      throw new Error(`no camera (${e.message}): choose a QR image instead`);
    }
    $("scanner").hidden = false;
    video.srcObject = stream;
    await video.play();
    while (stream) {
      if (video.readyState >= 2 && video.videoWidth) {
        const text = fromCanvas(video, video.videoWidth, video.videoHeight);
        if (text) {
          $(target).value = text;
          $(target).dispatchEvent(new Event("scanned"));
          stopCamera();
          return;
        }
      }
      await new Promise((r) => requestAnimationFrame(r));
    }
  }
  function wireScanners() {
    for (const box of document.querySelectorAll(".scan")) {
      const target = box.dataset.target;
      const statusId = target === "offer-uri" ? "offer-status" : "present-status";
      box.querySelector(".scan-camera").addEventListener("click", () => scanCamera(target).catch((e) => { stopCamera(); status(statusId, e.message, "error"); }));
      box.querySelector(".scan-file").addEventListener("change", (ev) => {
        const file = ev.target.files[0];
        if (file) scanFile(file, target).then(() => status(statusId, "QR code read.")).catch((e) => status(statusId, e.message, "error"));
        ev.target.value = "";
      });
    }
    $("scanner-stop").addEventListener("click", stopCamera);
    // a scanned or pasted request opens by itself (no typing beyond the transaction code);
    // a scanned or pasted offer moves on to its transaction code (typing is left alone)
    const whole = (ev) => ev.type === "scanned" || ev.inputType === "insertFromPaste";
    for (const type of ["scanned", "input"]) {
      $("request-uri").addEventListener(type, (ev) => {
        if (whole(ev) && holder && $("request-uri").value.trim().startsWith("openid4vp://")) openRequest();
      });
      $("offer-uri").addEventListener(type, (ev) => { if (whole(ev) && $("offer-uri").value.trim()) $("tx-code").focus(); });
    }
  }

  async function start() {
    if (!window.isSecureContext || !crypto.subtle) {
      $("key-status").textContent = "This page needs a secure context (open it at http://127.0.0.1 or https).";
      return;
    }
    holder = (await getHolder()) || null;
    showKey();
    $("key-create").addEventListener("click", () => createKey().catch((e) => { $("key-status").textContent = `Cannot make an Ed25519 key here: ${e.message}`; }));
    $("commit").addEventListener("click", makeCommitment);
    $("accept").addEventListener("click", accept);
    $("offer-trust-yes").addEventListener("click", trustShown);
    $("open-request").addEventListener("click", openRequest);
    $("send").addEventListener("click", send);
    $("consent-confirm").addEventListener("change", updateSend);
    $("recheck").addEventListener("click", () => renderList());
    $("qr-close").addEventListener("click", closeQr);
    $("qr-save").addEventListener("click", () => { if (qrBlob) saveBlob(qrBlob, $("qr-save").dataset.name); });
    document.addEventListener("keydown", (ev) => { if (ev.key === "Escape" && !$("qr-view").hidden) closeQr(); });
    $("decline").addEventListener("click", () => { $("consent").hidden = true; request = null; status("present-status", "Declined: nothing was sent."); });
    wireScanners();
    await renderList();
    resumePending();
    document.body.dataset.ready = "true";
  }
  start();
})();
