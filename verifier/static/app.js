// TalentProof verifier page: upload or scan QR codes, show every check and criterion.
"use strict";

const MARK = { pass: "\u2713", fail: "\u2717", error: "!", skipped: "\u2013" };
const VERDICT = {
  valid: "VALID",
  invalid: "INVALID",
  error: "NOT VERIFIABLE: the ledger could not be read",
};
const scanned = [];

// Control (Cc: ESC, newline), format (Cf: bidi overrides and isolates, zero-width) and line or
// paragraph separator characters in text a credential, a file name or the ledger states are
// shown escaped (\u202e, \u200b, \x1b), as the CLI prints them: applied by the browser, they
// could reverse the words after a name or make "HS\u200bBC" look like "HSBC". Twin of
// credential/text.py's printable (tests/security/test_page_text_isolation.py: the two agree).
// (captured: split keeps each hidden character, at the odd places)
const HIDDEN_CHAR = /([\p{Cc}\p{Cf}\p{Zl}\p{Zp}])/u;
const NAMED_ESCAPE = { "\t": "\\t", "\n": "\\n", "\r": "\\r" };

function escapeChar(ch) {
  if (NAMED_ESCAPE[ch]) return NAMED_ESCAPE[ch];
  const cp = ch.codePointAt(0);
  if (cp < 0x100) return `\\x${cp.toString(16).padStart(2, "0")}`;
  if (cp < 0x10000) return `\\u${cp.toString(16).padStart(4, "0")}`;
  return `\\U${cp.toString(16).padStart(8, "0")}`;
}

function printable(text) {
  return String(text).split(HIDDEN_CHAR).map((p, i) => (i % 2 ? escapeChar(p) : p)).join("");
}

// ``text`` as nodes: its hidden characters escaped and marked (class "escaped").
function shown(text) {
  const parts = String(text).split(HIDDEN_CHAR);
  if (parts.length === 1) return document.createTextNode(parts[0]);
  const frag = document.createDocumentFragment();
  parts.forEach((part, i) => {
    if (i % 2 === 0) {
      if (part) frag.append(document.createTextNode(part));
    } else {
      const mark = document.createElement("span");
      mark.className = "escaped";
      mark.title = `hidden character U+${part.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
      mark.textContent = escapeChar(part);
      frag.append(mark);
    }
  });
  return frag;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    if (typeof c !== "string") node.append(c);
    else if (tag === "option") node.append(printable(c));
    else node.append(shown(c));
  }
  return node;
}

// Text a credential, a file name or the ledger states, set apart from the words around it: a
// right-to-left name cannot move them (<bdi>: its own direction, isolated).
function untrusted(text) {
  return el("bdi", { class: "untrusted" }, String(text));
}

// A time as an officer reads it, with its zone: "7 Dec 2026, 14:35:18 UTC" (an ISO text, or
// UNIX seconds as the chain gives them); "" when there is none, the text itself when unreadable.
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function readableTime(value) {
  if (value === null || value === undefined || value === "" || value === 0) return "";
  const d = typeof value === "number" ? new Date(value * 1000) : new Date(String(value));
  if (Number.isNaN(d.getTime())) return String(value);
  const two = (n) => String(n).padStart(2, "0");
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}, ` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} UTC`;
}

// The evidence a check shows, in words: [member, words before the value, words after it].
const EVIDENCE = [
  ["issuerName", "issuer ", ""],
  ["keyId", "signing key ", ""],
  ["anchorBlock", "anchored in block ", ""],
  ["blockNumber", "latest block ", ""],
  ["confirmations", "", " confirmation(s)"],
  ["field", "field ", ""],
  ["expected", "expected ", ""],
];

function evidenceOf(evidence) {
  const present = EVIDENCE.filter(([k]) => evidence && evidence[k] !== undefined && evidence[k] !== null);
  if (!present.length) return null;
  const div = el("div", { class: "evidence" });
  present.forEach(([k, before, after], i) => div.append(i ? " \u00b7 " : "", before, untrusted(evidence[k]), after));
  return div;
}

function renderCheck(c) {
  return el("li", { class: `check ${c.status}`, "data-check": c.id, "data-status": c.status },
    el("span", { class: "mark" }, MARK[c.status] || "?"),
    el("strong", {}, `${c.number}. ${c.title}: `),
    el("span", { class: "message" }, c.message),
    evidenceOf(c.evidence));
}

function renderCriterion(c) {
  const li = el("li", { class: `criterion ${c.met ? "met" : "unmet"}`, "data-criterion": c.id, "data-met": String(c.met) },
    el("span", { class: "mark" }, c.met ? MARK.pass : MARK.fail),
    el("strong", {}, `${c.title}: `),
    el("span", { class: "reason" }, c.reason),
    c.evidence && c.evidence.length ? el("div", { class: "evidence" }, "evidence: ", untrusted(c.evidence.join(", "))) : null);
  if (c.anyOf) {
    const ul = el("ul", { class: "criteria" });
    c.anyOf.forEach((ch) => ul.append(renderCriterion(ch)));
    li.append(ul);
  }
  return li;
}

const OUTCOME_CLASS = {
  VALID_MEETS: "valid",
  VALID: "valid",
  VALID_NOT_MET: "not-met",
  INVALID: "invalid",
  NOT_VERIFIABLE: "not-verifiable",
};
const KIND = {
  DegreeCredential: "Degree",
  EmploymentCredential: "Employment",
  OpenBadgeCredential: "Training or skill (Open Badge)",
};

function subjectOf(claims) {
  return claims && typeof claims === "object" ? claims : {};
}

function nameOf(v) {
  return v && typeof v === "object" ? v.name || "" : v || "";
}

// What a credential states, as label/value rows: shown with or without a profession.
function claimRows(cred) {
  const s = subjectOf(cred);
  if (s.degree) {
    const d = s.degree;
    return [["Degree", `${d.level || "?"} in ${d.fieldOfStudy || "?"}`], ["Institution", nameOf(d.institution)],
      ["Awarded", d.awardDate || "?"]];
  }
  if (s.employment) {
    const e = s.employment;
    return [["Employer", nameOf(e.employer)], ["Role", `${e.role || "?"}${e.seniority ? ` (${e.seniority})` : ""}`],
      ["Dates", `${e.startDate || "?"} to ${e.endDate || "present"}`],
      ["Domains", (e.domains || []).join(", ")]];
  }
  if (s.achievement) {
    const a = s.achievement;
    const skills = (a.alignment || []).map((x) => x.targetName).filter(Boolean);
    return [["Badge", a.name || "?"], ["Type", a.achievementType || ""], ["Skills", skills.join(", ")],
      ["Issued", String(s.validFrom || "").slice(0, 10)]];
  }
  return [];
}

function rowsList(rows, cls) {
  const dl = el("dl", { class: cls });
  rows.filter(([, v]) => v).forEach(([k, v]) => dl.append(el("dt", {}, k), el("dd", {}, untrusted(v))));
  return dl;
}

function renderPerson(person, confirmed) {
  if (!person) {
    return el("div", { class: "card person", id: "person" },
      el("p", { class: "problem" }, "The credentials name no person: check the applicant's identity by other means."));
  }
  const doc = [person.documentType, person.issuingCountry].filter(Boolean).join(", ");
  let state = "not checked: compare the name and date of birth with the travel document";
  let cls = "unchecked";
  if (person.documentChecked) {
    state = person.documentMatches ? "matches the document shown" : "does NOT match the document shown";
    cls = person.documentMatches ? "match" : "mismatch";
  }
  return el("div", { class: "card person", id: "person", "data-confirmed": String(confirmed) },
    confirmed ? null : el("div", { class: "person-note muted", id: "person-note" },
      "As the credentials state it (not confirmed: see the verdict)"),
    el("div", { class: "person-name", id: "person-name" }, untrusted(person.name || "?")),
    el("div", { class: "person-dob", id: "person-dob" }, "Born ", untrusted(person.birthDate || "?")),
    el("div", { class: `person-doc ${cls}`, id: "person-doc" }, "Identity document",
      doc ? " (" : null, doc ? untrusted(doc) : null, doc ? ")" : null, `: ${state}`));
}

// Whether an input could not be read at all (NOT VERIFIABLE, not INVALID): the service decides
// it (report.py CredentialReport.unreadable, as the CLI's heading); a text that was read but is
// no TalentProof payload fails check 1 too, and is INVALID.
function isUnreadable(r) {
  return r.unreadable === true;
}

// Whether a credential was read (check 1 passed): the applicant is shown, as the CLI shows it.
function wasRead(r) {
  return r.checks.some((c) => c.id === "parse" && c.status === "pass");
}

function renderReport(report) {
  const out = document.getElementById("result");
  out.replaceChildren();
  const o = report.outcome || { code: report.verdict, label: VERDICT[report.verdict] || report.verdict, reason: "" };
  out.append(el("div", { class: `verdict ${OUTCOME_CLASS[o.code] || report.verdict}`, id: "verdict",
    "data-verdict": report.verdict, "data-outcome": o.code, role: "status" },
  el("div", { class: "verdict-label", id: "verdict-label" }, o.label),
  el("div", { class: "verdict-reason", id: "verdict-reason" }, o.reason)));
  const anyRead = Boolean(report.person) || report.credentials.some(wasRead);
  if (anyRead) out.append(renderPerson(report.person, ["VALID", "VALID_MEETS", "VALID_NOT_MET"].includes(o.code)));
  // the report's one time (render.py checked_at, as the CLI says it): checked now, at the wall
  // clock (check 8 names the ledger block it read), or as of an explicit as-of time
  const at = readableTime(report.asOf);
  const times = [report.chainAsOf ? `Checked as of ${at} (validity and status)` : `Checked at ${at}`];
  if (report.applicationDate) times.push(`facts as of the application date ${report.applicationDate}`);
  out.append(el("p", { class: "muted", id: "times" }, `${times.join("; ")}.`));
  if (report.profession) {
    const p = report.profession;
    const card = el("div", { class: "card profession", id: "profession-result", "data-met": String(p.met) },
      el("h2", {}, `Talent List: ${p.met ? "MEETS" : "DOES NOT MEET"} \u201c${p.name}\u201d`),
      el("p", { class: "muted" }, `facts as of ${p.applicationDate || p.asOf}`));
    const ul = el("ul", { class: "criteria" });
    p.criteria.forEach((c) => ul.append(renderCriterion(c)));
    card.append(ul);
    out.append(card);
  }
  report.credentials.forEach((r, i) => {
    const unreadable = isUnreadable(r);
    const title = unreadable
      ? `Could not read this ${/\.(png|jpe?g)$/i.test(r.source) ? "image" : "input"}`
      : `${KIND[r.kind] || r.kind || "Credential"} \u2014 ${VERDICT[r.verdict] || r.verdict}`;
    const card = el("div", { class: `card credential ${unreadable ? "unreadable" : r.verdict}`, "data-verdict": r.verdict,
      "data-unreadable": String(unreadable), id: `credential-${i}` },
    el("h2", {}, title),
    el("p", { class: "muted" }, untrusted(r.source || ""),
      r.issuerName ? " \u00b7 issued by " : null, r.issuerName ? untrusted(r.issuerName) : null,
      r.issuerName && r.issuerDid ? " (" : null, r.issuerName && r.issuerDid ? untrusted(r.issuerDid) : null,
      r.issuerName && r.issuerDid ? ")" : null));
    const rows = claimRows(r.claims);
    if (rows.length) card.append(rowsList(rows, "claims"));
    const ol = el("ol", { class: "checks" });
    r.checks.forEach((c) => ol.append(renderCheck(c)));
    const details = el("details", { class: "check-list" }, el("summary", {}, "Checks"), ol);
    if (r.verdict !== "valid") details.open = true;
    card.append(details);
    out.append(card);
  });
  if (report.checks && report.checks.length) {
    const card = el("div", { class: "card application" }, el("h2", {}, "Application"));
    const ol = el("ol", { class: "checks" });
    report.checks.forEach((c) => ol.append(renderCheck(c)));
    card.append(ol);
    out.append(card);
  }
  if (report.chain) {
    out.append(el("p", { class: "muted", id: "chain" },
      `Ledger read at block ${report.chain.blockNumber}` +
      (report.chain.blockTimestamp ? `, sealed ${readableTime(report.chain.blockTimestamp)}` : "") +
      ` (block hash ${report.chain.blockHash}), on chain ${report.chain.chainId}, registry ${report.chain.registry}.`));
  }
  if (report.receipt) {
    out.append(el("p", { class: "muted", id: "receipt" }, `Signed receipt by ${report.receipt.signature.keyId}.`));
  }
  const top = document.getElementById("verdict");
  if (top && top.scrollIntoView) top.scrollIntoView({ block: "start" });
}

function showProblem(text) {
  const out = document.getElementById("result");
  out.replaceChildren(el("p", { class: "problem", id: "problem" }, text));
}

async function loadProfessions() {
  try {
    const res = await fetch("/api/v1/professions");
    const list = await res.json();
    const sel = document.getElementById("profession");
    list.forEach((p) => sel.append(el("option", { value: p.id }, p.name)));
  } catch (e) {
    /* the page still verifies without a profession list */
  }
}

/** The officer's date today (the browser's time zone), as the date input writes it. */
function localToday() {
  const d = new Date();
  const two = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
}

async function newChallenge() {
  const res = await fetch("/api/v1/challenges", { method: "POST" });
  const data = await res.json();
  if (!res.ok) {  // e.g. 429: too many challenges from this address, or the store is full
    showProblem(typeof data.detail === "string" ? data.detail : "No challenge could be issued.");
    return;
  }
  document.getElementById("challenge").textContent = data.challenge;
  document.getElementById("challenge-box").hidden = false;
}

// What the result area shows is the answer to the officer's latest action: each verification
// or wallet request takes a number, and an answer to an earlier one (a slower verification of
// the previous applicant) is dropped instead of replacing the verdict of the one at the counter.
let latestAction = 0;

// What was typed for this applicant (the travel-document number, the application date, the
// as-of date), taken off its field for this verification or wallet request: the next applicant's
// is typed for them, never the previous one's document matched nor their dates taken as the
// frame of the facts or of the status (a revocation after applicant 1's as-of read VALID).
function takeField(id) {
  const field = document.getElementById(id);
  const value = field.value.trim();
  field.value = "";
  return value;
}

async function submit(event) {
  event.preventDefault();
  const mine = ++latestAction;
  const files = document.getElementById("files").files;
  if (!files.length && !scanned.length) {
    showProblem("Choose at least one QR image, or scan a QR code with the camera.");
    return;
  }
  // the officer verifies what is in hand: a wallet request still waiting and a camera still
  // scanning are dropped (it would read whatever passes it next into the next verification)
  stopWallet();
  stopCamera();
  document.getElementById("wallet-box").hidden = true;
  const form = new FormData();
  for (const f of files) form.append("files", f, f.name);
  scanned.forEach((p) => form.append("payloads", p));
  // the codes scanned and the files chosen were this verification's: the next one (the next
  // applicant's) sends only what is given for it, never an earlier applicant's again
  scanned.length = 0;
  document.getElementById("scanned").replaceChildren();
  document.getElementById("files").value = "";
  const profession = document.getElementById("profession").value;
  if (profession) form.append("profession", profession);
  const asOf = takeField("as-of");
  // the officer's today means now: the service reads a date as its 00:00 UTC (today's UTC date
  // as now), which away from UTC is a time to come or yesterday's (a day of revocations unseen)
  if (asOf && asOf !== localToday()) form.append("asOf", asOf);
  const applicationDate = takeField("application-date");
  if (applicationDate) form.append("applicationDate", applicationDate);
  const idNumber = takeField("id-number");
  if (idNumber) form.append("idNumber", idNumber);
  if (document.getElementById("bound").checked) {
    form.append("challenge", document.getElementById("challenge").textContent);
  }
  // advice fitted to this page (check 12 without a salt: request the wallet's presentation);
  // the service words it (messages.py SALT_ADVICE), the page only says who reads it
  form.append("surface", "page");
  document.getElementById("result").replaceChildren(el("p", { class: "muted", id: "working" }, "Verifying\u2026"));
  try {
    const res = await fetch("/api/v1/verify/image", { method: "POST", body: form });
    const data = await res.json();
    if (mine !== latestAction) return;  // the officer has moved on
    if (!res.ok) {
      showProblem(typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail));
      return;
    }
    renderReport(data);
  } catch (e) {
    if (mine === latestAction) showProblem(`The verifier service could not be reached: ${e}`);
  }
}

// A request to the applicant's wallet (OpenID4VP): show its QR code, poll until the verdict
// comes, then show it as any other verification; refused responses are listed as they come.
let walletPoll = null;
// The request the page waits for: the answer of any other (one the officer left by verifying
// the next applicant or making a new request) is never shown, even from a poll in flight.
let walletRequestId = null;

function stopWallet() {
  if (walletPoll) clearInterval(walletPoll);
  walletPoll = null;
  walletRequestId = null;
}

// The QR code and link of the request on the page: shown while it waits for a wallet, taken off
// once it is answered or expired (scanned again, it could only be refused).
function showWalletCode(shown) {
  document.getElementById("wallet-qr").hidden = !shown;
  document.getElementById("wallet-link").parentElement.hidden = !shown;
}

function walletStatus(text) {
  document.getElementById("wallet-status").replaceChildren(shown(text));
}

function showRefusals(refusals) {
  const ul = document.getElementById("wallet-refusals");
  ul.replaceChildren(...(refusals || []).map((r) =>
    el("li", { class: "refusal" }, "Refused a response: ", untrusted(r.error_description))));
}

async function pollWallet(id) {
  let data;
  try {
    const res = await fetch(`/oid4vp/requests/${encodeURIComponent(id)}`, { cache: "no-store" });
    data = await res.json();
    if (id !== walletRequestId) return;  // the officer moved on: not this applicant's answer
    if (!res.ok) {
      stopWallet();
      walletStatus(typeof data.detail === "string" ? data.detail : "The request is gone.");
      return;
    }
  } catch (e) {
    return;  // try again at the next tick
  }
  showRefusals(data.refusals);
  if (data.state === "answered") {
    stopWallet();
    showWalletCode(false);
    walletStatus("The wallet answered: the verdict is below.");
    renderReport(data.report);
  } else if (data.state === "expired") {
    stopWallet();
    showWalletCode(false);
    walletStatus("The request expired before a wallet answered: make a new one.");
  } else {
    walletStatus(`Waiting for the applicant's wallet (until ${readableTime(data.expiresAt)})\u2026`);
  }
}

async function requestFromWallet() {
  // a new action: the earlier request's box, its QR code and any verdict shown are left behind
  const mine = ++latestAction;
  stopWallet();
  stopCamera();
  document.getElementById("wallet-box").hidden = true;
  const profession = document.getElementById("profession").value;
  if (!profession) {
    showProblem("Choose a Talent List profession: the wallet is asked for what it needs.");
    return;
  }
  const body = { profession };
  const applicationDate = takeField("application-date");
  if (applicationDate) body.applicationDate = applicationDate;
  const idNumber = takeField("id-number");
  if (idNumber) body.idNumber = idNumber;
  document.getElementById("result").replaceChildren(el("p", { class: "muted", id: "working" }, "Making the request\u2026"));
  let res;
  let data;
  try {
    res = await fetch("/oid4vp/requests", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    data = await res.json();
  } catch (e) {
    if (mine === latestAction) showProblem(`The verifier service could not be reached: ${e}`);
    return;
  }
  if (mine !== latestAction) return;  // the officer has moved on
  if (!res.ok) {
    showProblem(typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail));
    return;
  }
  document.getElementById("result").replaceChildren();
  document.getElementById("wallet-qr").src = data.qr;
  document.getElementById("wallet-link").href = data.authorizationRequest;
  showWalletCode(true);
  document.getElementById("wallet-box").hidden = false;
  document.getElementById("wallet-box").dataset.requestId = data.id;
  showRefusals([]);
  walletStatus("Waiting for the applicant's wallet\u2026");
  walletRequestId = data.id;
  walletPoll = setInterval(() => pollWallet(data.id), 1500);
}

// Stops the camera scan in progress, if any (set by startCamera).
let stopCamera = () => {};

async function startCamera() {
  stopCamera();  // one scan at a time: a second click does not leave the first one running
  const status = document.getElementById("camera-status");
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices) {
    status.textContent = "This browser cannot scan with the camera; upload a picture instead.";
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  } catch (e) {
    status.textContent = `Camera not available: ${e.name}`;
    return;
  }
  const video = document.getElementById("camera");
  video.srcObject = stream;
  video.hidden = false;
  await video.play();
  const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
  status.textContent = "Point the camera at the QR code\u2026";
  let timer = null;
  stopCamera = () => {
    clearInterval(timer);
    stream.getTracks().forEach((t) => t.stop());
    video.hidden = true;
    status.textContent = "";
    delete status.dataset.refused;
    stopCamera = () => {};
  };
  timer = setInterval(async () => {
    try {
      const codes = await detector.detect(video);
      // every different code the frame shows: a sticker beside the applicant's code is a
      // second code, and the frame is refused rather than read as whichever came first (the
      // image upload's and the wallets' rule; the same code seen twice is one)
      const values = [...new Set(codes.map((c) => c.rawValue).filter((v) => v))];
      if (values.length > 1) {
        clearInterval(timer);
        stream.getTracks().forEach((t) => t.stop());
        video.hidden = true;
        status.textContent =
          `The camera saw ${values.length} different QR codes at once; nothing was scanned. ` +
          "Show one code at a time (a code beside another may be a substitute).";
        status.dataset.refused = "several-codes";
        return;
      }
      if (values.length === 1) {
        clearInterval(timer);
        stream.getTracks().forEach((t) => t.stop());
        video.hidden = true;
        delete status.dataset.refused;
        scanned.push(values[0]);
        document.getElementById("scanned").append(el("li", {}, `scanned QR code ${scanned.length}`));
        status.textContent = "Scanned. Scan another or press Verify.";
      }
    } catch (e) {
      /* keep scanning */
    }
  }, 300);
}

document.getElementById("verify-form").addEventListener("submit", submit);
document.getElementById("camera-start").addEventListener("click", startCamera);
document.getElementById("wallet-request").addEventListener("click", requestFromWallet);
document.getElementById("bound").addEventListener("change", (e) => {
  if (e.target.checked) newChallenge();
  else document.getElementById("challenge-box").hidden = true;
});
loadProfessions();
