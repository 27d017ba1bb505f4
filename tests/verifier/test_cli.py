"""`talentproof verify` end to end: QR images and photos, QR text, JSON, folders, exit codes."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image, ImageFilter
from typer.testing import CliRunner

from talentproof.cli import app
from talentproof.credential.qr import encode_payload, render_png
from tests.chainkit import BADGE, DEGREE, EMPLOYMENT, holder, issue

pytestmark = pytest.mark.integration
runner = CliRunner()


@pytest.fixture(scope="module")
def env(vchain, tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    record = d / "deployment.json"
    vchain.deployment.save(record)
    hk = holder()
    s = hk.public_key.did_key
    creds = {
        "degree": issue(
            vchain, vchain.issuers["University of Hong Kong"], DEGREE, s, level="master"
        ),
        "employment": issue(vchain, vchain.issuers["HSBC"], EMPLOYMENT, s, start="2015-03-01"),
        "badge": issue(vchain, vchain.issuers["HKIB"], BADGE, s),
    }
    for name, doc in creds.items():
        (d / f"{name}.json").write_text(json.dumps(doc))
    return {"dir": d, "record": str(record), "rpc": vchain.rpc_url, "creds": creds, "holder": hk}


def run(env, *args):
    result = runner.invoke(
        app, ["verify", "--rpc", env["rpc"], "--trust", env["record"], *map(str, args)]
    )
    return result


def test_json_file_valid_exit_0_with_a_mark_per_check(env):
    r = run(env, env["dir"] / "degree.json")
    assert r.exit_code == 0, r.output
    assert r.output.count("✓") >= 9
    assert "Result: VALID" in r.output
    assert "read at block" in r.output


def test_qr_text_payload_argument(env):
    text = encode_payload(env["creds"]["degree"])
    r = run(env, text, "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["verdict"] == "valid"
    assert data["credentials"][0]["source"] == "QR payload"


def test_qr_png_screenshot(env, tmp_path):
    png = render_png(encode_payload(env["creds"]["badge"]), scale=6)
    # a screenshot: the code inside a larger white page
    code = Image.open(io.BytesIO(png)).convert("RGB")
    page = Image.new("RGB", (1000, 1000), "white")
    page.paste(code, (120, 80))
    f = tmp_path / "screenshot.png"
    page.save(f)
    r = run(env, f)
    assert r.exit_code == 0, r.output
    assert "OpenBadgeCredential" in r.output


def test_qr_jpeg_phone_photo(env, tmp_path):
    png = render_png(encode_payload(env["creds"]["employment"]), scale=5)
    img = Image.open(io.BytesIO(png)).convert("RGB")
    img = img.rotate(4, expand=True, fillcolor="white").filter(ImageFilter.GaussianBlur(0.8))
    img = img.resize((int(img.width * 1.3), int(img.height * 1.3)))
    f = tmp_path / "photo.jpg"
    img.save(f, quality=70)
    r = run(env, f)
    assert r.exit_code == 0, r.output


def test_application_meets_profession(env):
    d = env["dir"]
    r = run(
        env,
        d / "degree.json",
        d / "employment.json",
        d / "badge.json",
        "--profession",
        "hk-dlt-expert",
    )
    assert r.exit_code == 0, r.output
    assert "Talent List: MEETS" in r.output
    assert "✓ 11." in r.output


def test_application_not_meeting_profession_exits_4(env):
    d = env["dir"]
    r = run(env, d / "degree.json", "--profession", "hk-dlt-expert", "--json")
    assert r.exit_code == 4, r.output
    data = json.loads(r.output)
    assert data["verdict"] == "valid"
    assert data["outcome"]["code"] == "VALID_NOT_MET"
    assert data["profession"]["met"] is False
    crit = {c["id"]: c for c in data["profession"]["criteria"]}
    assert crit["degree"]["met"] is True
    assert crit["notable-firm-experience"]["met"] is False


def test_tampered_credential_exit_1(env, tmp_path):
    doc = json.loads((env["dir"] / "degree.json").read_text())
    doc["credentialSubject"]["degree"]["fieldOfStudy"] = "Medicine"
    f = tmp_path / "tampered.json"
    f.write_text(json.dumps(doc))
    r = run(env, f)
    assert r.exit_code == 1
    assert "✗  3. Issuer's signature" in r.output
    assert "Result: INVALID" in r.output


def test_garbage_qr_text_is_not_verifiable_not_a_crash(env):
    r = run(env, "TP1:NOT-A-REAL-PAYLOAD")
    assert r.exit_code == 3
    assert "✗  1. Readable credential" in r.output
    assert "Result: NOT VERIFIABLE: Could not read QR payload" in r.output
    # the input's own heading agrees with the result (it said INVALID)
    assert "QR payload: NOT VERIFIABLE (could not be read)" in r.output, r.output
    assert "QR payload: INVALID" not in r.output


def test_chain_unreachable_exit_3(env):
    r = runner.invoke(
        app,
        [
            "verify",
            "--rpc",
            "http://127.0.0.1:9",
            "--trust",
            env["record"],
            str(env["dir"] / "degree.json"),
        ],
    )
    assert r.exit_code == 3, r.output
    assert "CANNOT BE CONFIRMED" in r.output


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["/nonexistent/file.json"], "expected a QR image"),
        (["{degree}", "--as-of", "yesterday"], "--as-of"),
        # a date-time whose UTC time is beyond year 9999 (a traceback while rendering before)
        (["{degree}", "--as-of", "9999-12-31T23:59:59-14:00"], "--as-of"),
        (["{degree}", "--as-of", "0001-01-01T00:00:00+14:00"], "--as-of"),
        (["{degree}", "--profession", "astronaut"], "astronaut"),
        (["{degree}", "--policy", "/nonexistent.yaml", "--profession", "x"], "policy file"),
        (["{degree}", "--receipt", "r.json"], "--receipt-key"),
    ],
)
def test_usage_errors_exit_2_with_one_line(env, args, needle):
    args = [a.replace("{degree}", str(env["dir"] / "degree.json")) for a in args]
    r = run(env, *args)
    assert r.exit_code == 2, r.output
    assert needle in r.output
    assert "Traceback" not in r.output


def test_bad_rpc_url_exit_2(env):
    r = runner.invoke(
        app,
        ["verify", "--rpc", "not-a-url", "--trust", env["record"], str(env["dir"] / "degree.json")],
    )
    assert r.exit_code == 2 and "--rpc" in r.output and "Traceback" not in r.output


def test_bad_trust_record_exit_2(env, tmp_path):
    f = tmp_path / "nodeploy.json"
    f.write_text("{}")
    r = runner.invoke(
        app, ["verify", "--rpc", env["rpc"], "--trust", str(f), str(env["dir"] / "degree.json")]
    )
    assert r.exit_code == 2
    assert "deployment record" in r.output


def test_folder_bulk_with_summary(env, tmp_path, vchain):
    folder = tmp_path / "folder"
    folder.mkdir()
    for name in ("degree", "employment", "badge"):
        (folder / f"{name}.json").write_text((env["dir"] / f"{name}.json").read_text())
    bad = json.loads((env["dir"] / "degree.json").read_text())
    bad["validUntil"] = "2000-01-01T00:00:00Z"
    (folder / "z_tampered.json").write_text(json.dumps(bad))
    (folder / "qr.png").write_bytes(render_png(encode_payload(env["creds"]["degree"])))
    r = run(env, folder)
    assert r.exit_code == 1, r.output
    assert "5 files at block" in r.output
    assert "4 valid, 1 invalid, 0 not verifiable" in r.output
    assert "✗ z_tampered.json" in r.output and r.output.count("[VALID]") == 4
    ok = run(env, folder, "--json", "--workers", "1")
    data = json.loads(ok.output)
    assert data["summary"]["valid"] == 4 and data["summary"]["invalid"] == 1
    assert data["summary"]["outcomes"] == {"VALID": 4, "INVALID": 1, "NOT_VERIFIABLE": 0}
    (folder / "z_tampered.json").unlink()
    assert run(env, folder).exit_code == 0


def test_folder_names_what_it_skipped_and_counts_one_file(env, tmp_path):
    """A folder verification reads its own files with known suffixes only; what it leaves out
    (other suffixes, subfolders) is named, so an officer who put a credential in as
    ``degree.pdf`` or in a subfolder learns it was not verified instead of reading "1 file"
    as the whole folder."""
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "degree.json").write_text((env["dir"] / "degree.json").read_text())
    (folder / "employment.pdf").write_text((env["dir"] / "employment.json").read_text())
    (folder / "more").mkdir()
    (folder / "more" / "badge.json").write_text((env["dir"] / "badge.json").read_text())
    r = run(env, folder)
    assert r.exit_code == 0, r.output
    assert "1 file at block" in r.output, r.output
    assert "not read: 2 entries (employment.pdf, more/)" in r.output, r.output
    data = json.loads(run(env, folder, "--json").output)
    assert data["summary"]["total"] == 1
    assert data["summary"]["skipped"] == ["employment.pdf", "more/"]
    (folder / "employment.pdf").unlink()
    (folder / "more" / "badge.json").unlink()
    (folder / "more").rmdir()
    r = run(env, folder)
    assert "not read" not in r.output, r.output
    assert json.loads(run(env, folder, "--json").output)["summary"]["skipped"] == []


def test_folder_with_chain_down_exit_3_and_empty_folder_exit_2(env, tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    r = runner.invoke(app, ["verify", "--rpc", env["rpc"], "--trust", env["record"], str(folder)])
    assert r.exit_code == 2 and "holds no" in r.output
    (folder / "degree.json").write_text((env["dir"] / "degree.json").read_text())
    r = runner.invoke(
        app, ["verify", "--rpc", "http://127.0.0.1:9", "--trust", env["record"], str(folder)]
    )
    assert r.exit_code == 3 and "chain could not be read" in r.output


def test_missing_file_is_named_as_missing(env, tmp_path):
    r = run(env, tmp_path / "scan-of-degree.png")
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and "scan-of-degree.png: no such file or folder" in lines[0]


def test_image_file_that_is_not_an_image_is_a_usage_error(env, tmp_path):
    bad = tmp_path / "degree.png"
    bad.write_bytes(b"<html>the download failed</html>" + bytes(range(256)))
    r = run(env, bad)
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and "degree.png: not a PNG or JPEG image" in lines[0]
    # a real image without a TalentProof QR code is still a credential that cannot be read
    blank = tmp_path / "blank.png"
    Image.new("RGB", (200, 200), "white").save(blank)
    r = run(env, blank)
    assert r.exit_code == 3 and "✗  1. Readable credential" in r.output
    assert r.output.startswith("NOT VERIFIABLE: Could not read ")


def test_chain_unreachable_ends_with_one_error_line_naming_the_rpc(env):
    r = runner.invoke(
        app,
        [
            "verify",
            "--rpc",
            "http://127.0.0.1:9",
            "--trust",
            env["record"],
            str(env["dir"] / "degree.json"),
        ],
    )
    assert r.exit_code == 3
    errors = [line for line in r.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "http://127.0.0.1:9" in errors[0] and "--rpc" in errors[0]


@pytest.mark.parametrize("option", [["--profession", "hk-dlt-expert"], ["--challenge", "abc"]])
def test_folder_refuses_per_application_options(env, tmp_path, option):
    folder = tmp_path / "apps"
    folder.mkdir()
    (folder / "degree.json").write_text((env["dir"] / "degree.json").read_text())
    r = run(env, folder, *option)
    assert r.exit_code == 2, r.output
    assert option[0] in r.output and "credential by credential" in r.output


def test_default_deployment_record_missing_says_where_it_looked(env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TALENTPROOF_DEPLOYMENT", raising=False)
    r = runner.invoke(app, ["verify", "--rpc", env["rpc"], str(env["dir"] / "degree.json")])
    assert r.exit_code == 2, r.output
    assert str(tmp_path / "data" / "deployment.json") in r.output and "--deployment" in r.output
