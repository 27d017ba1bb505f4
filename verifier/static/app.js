// TalentProof verifier page: upload or scan QR codes, show every check and criterion.
"use strict";

const MARK = { pass: "\u2713", fail: "\u2717", error: "!", skipped: "\u2013" };
const VERDICT = {
  valid: "VALID",
  invalid: "INVALID",
  error: "CANNOT BE CONFIRMED: the ledger could not be read",
};
const scanned = [];

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return node;
}

function evidenceText(evidence) {
  const keys = ["issuerName", "keyId", "blockNumber", "anchorBlock", "confirmations", "field", "expected"];
  const parts = keys.filter((k) => evidence && evidence[k] !== undefined && evidence[k] !== null)
    .map((k) => `${k}: ${evidence[k]}`);
  return parts.join(" \u00b7 ");
}

function renderCheck(c) {
  const ev = evidenceText(c.evidence);
  return el("li", { class: `check ${c.status}`, "data-check": c.id, "data-status": c.status },
    el("span", { class: "mark" }, MARK[c.status] || "?"),
    el("strong", {}, `${c.number}. ${c.title}: `),
    el("span", { class: "message" }, c.message),
    ev ? el("div", { class: "evidence" }, ev) : null);
}

function renderCriterion(c) {
  const li = el("li", { class: `criterion ${c.met ? "met" : "unmet"}`, "data-criterion": c.id, "data-met": String(c.met) },
    el("span", { class: "mark" }, c.met ? MARK.pass : MARK.fail),
    el("strong", {}, `${c.title}: `),
    el("span", { class: "reason" }, c.reason),
    c.evidence && c.evidence.length ? el("div", { class: "evidence" }, `evidence: ${c.evidence.join(", ")}`) : null);
  if (c.anyOf) {
    const ul = el("ul", { class: "criteria" });
    c.anyOf.forEach((ch) => ul.append(renderCriterion(ch)));
    li.append(ul);
  }
  return li;
}

function renderReport(report) {
  const out = document.getElementById("result");
  out.replaceChildren();
  out.append(el("div", { class: `verdict ${report.verdict}`, id: "verdict", "data-verdict": report.verdict },
    VERDICT[report.verdict] || report.verdict));
  if (report.chain) {
    out.append(el("p", { class: "muted", id: "chain" },
      `Ledger read at block ${report.chain.blockNumber} (${report.chain.blockHash}) on chain ${report.chain.chainId}, registry ${report.chain.registry}.`));
  }
  if (report.profession) {
    const p = report.profession;
    const card = el("div", { class: "card profession", id: "profession-result", "data-met": String(p.met) },
      el("h2", {}, `Talent List: ${p.met ? "MEETS" : "DOES NOT MEET"} \u201c${p.name}\u201d`),
      el("p", { class: "muted" }, `as of ${p.asOf}`));
    const ul = el("ul", { class: "criteria" });
    p.criteria.forEach((c) => ul.append(renderCriterion(c)));
    card.append(ul);
    out.append(card);
  }
  report.credentials.forEach((r, i) => {
    const card = el("div", { class: "card credential", "data-verdict": r.verdict, id: `credential-${i}` },
      el("h2", {}, `${r.kind || "Credential"} \u2014 ${VERDICT[r.verdict] || r.verdict}`),
      el("p", { class: "muted" }, [r.source, r.issuerName ? `issued by ${r.issuerName}` : null, r.subject ? `applicant ${r.subject}` : null].filter(Boolean).join(" \u00b7 ")));
    const ol = el("ol", { class: "checks" });
    r.checks.forEach((c) => ol.append(renderCheck(c)));
    card.append(ol);
    out.append(card);
  });
  if (report.checks && report.checks.length) {
    const card = el("div", { class: "card application" }, el("h2", {}, "Application"));
    const ol = el("ol", { class: "checks" });
    report.checks.forEach((c) => ol.append(renderCheck(c)));
    card.append(ol);
    out.append(card);
  }
  if (report.receipt) {
    out.append(el("p", { class: "muted", id: "receipt" }, `Signed receipt by ${report.receipt.signature.keyId}.`));
  }
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

async function newChallenge() {
  const res = await fetch("/api/v1/challenges", { method: "POST" });
  const data = await res.json();
  document.getElementById("challenge").textContent = data.challenge;
  document.getElementById("challenge-box").hidden = false;
}

async function submit(event) {
  event.preventDefault();
  const files = document.getElementById("files").files;
  if (!files.length && !scanned.length) {
    showProblem("Choose at least one QR image, or scan a QR code with the camera.");
    return;
  }
  const form = new FormData();
  for (const f of files) form.append("files", f, f.name);
  scanned.forEach((p) => form.append("payloads", p));
  const profession = document.getElementById("profession").value;
  if (profession) form.append("profession", profession);
  const asOf = document.getElementById("as-of").value;
  if (asOf) form.append("asOf", asOf);
  if (document.getElementById("bound").checked) {
    form.append("challenge", document.getElementById("challenge").textContent);
  }
  document.getElementById("result").replaceChildren(el("p", { class: "muted", id: "working" }, "Verifying\u2026"));
  try {
    const res = await fetch("/api/v1/verify/image", { method: "POST", body: form });
    const data = await res.json();
    if (!res.ok) {
      showProblem(typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail));
      return;
    }
    renderReport(data);
  } catch (e) {
    showProblem(`The verifier service could not be reached: ${e}`);
  }
}

async function startCamera() {
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
  const timer = setInterval(async () => {
    try {
      const codes = await detector.detect(video);
      const code = codes.find((c) => c.rawValue);
      if (code) {
        clearInterval(timer);
        stream.getTracks().forEach((t) => t.stop());
        video.hidden = true;
        scanned.push(code.rawValue);
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
document.getElementById("bound").addEventListener("change", (e) => {
  if (e.target.checked) newChallenge();
  else document.getElementById("challenge-box").hidden = true;
});
loadProfessions();
