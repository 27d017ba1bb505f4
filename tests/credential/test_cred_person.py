"""The person a credential names: the identity-document commitment, the schemas' person fields,
impossible facts (`claims`) and the salt a presentation discloses."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from talentproof.credential import claims, examples, model, person, types
from talentproof.credential.cli import load_holder_id_salt, register, write_holder_key
from talentproof.credential.errors import AlteredDocument, ImpossibleFact, SchemaValidationError
from talentproof.credential.keys import Ed25519SigningKey
from talentproof.credential.presentation import (
    create_presentation,
    presentation_salt,
    verify_presentation,
)

from ._cred_support import BUILDERS, WHEN

TODAY = date(2026, 12, 6)
SALT = examples.ID_SALT
RANDOM_LOOKING_SALT = (
    base64.urlsafe_b64encode(hashlib.sha256(b"salt").digest()).rstrip(b"=").decode()
)


def _did() -> str:
    return Ed25519SigningKey.from_seed(bytes(range(32))).public_key.did_key


# --- the commitment ------------------------------------------------------------------------------


def test_commitment_vector() -> None:
    """Computed independently of `person`: the documented construction, byte for byte."""
    key = bytes(range(32))
    assert base64.urlsafe_b64encode(key).rstrip(b"=").decode() == SALT
    msg = b"talentproof/identity-document/v1\x00HKID\x00HK\x00A1234567"
    digest = hmac.new(key, msg, hashlib.sha256).digest()
    expected = "hmac-sha256:" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert person.commit_identity_document("HKID", "HK", "A123456(7)", SALT) == expected
    assert expected == "hmac-sha256:598LiBI1TG-j48KAKyYjrfiof6zgBK1jLVDQnDysOdQ"
    assert examples.IDENTITY_DOCUMENT == {
        "documentType": "HKID",
        "issuingCountry": "HK",
        "commitment": expected,
    }
    assert person.COMMITMENT_RE.fullmatch(expected)


@pytest.mark.parametrize(
    "typed", ["A123456(7)", "a123456(7)", "A 123456 (7)", "A123456-7", " a1234567 ", "A/123.456(7)"]
)
def test_normalization_makes_typed_and_scanned_numbers_match(typed: str) -> None:
    assert person.normalize_document_number(typed) == "A1234567"
    assert person.identity_document_matches(examples.IDENTITY_DOCUMENT, typed, SALT)


@pytest.mark.parametrize(
    "bad", ["", "  ", "()-/.", "A12345*7", "A123456(7)\n", "Ａ1234567", "A1234567ß"]
)
def test_normalization_refuses_what_is_not_a_number(bad: str) -> None:
    with pytest.raises(ValueError, match="document number"):
        person.normalize_document_number(bad)
    assert not person.identity_document_matches(examples.IDENTITY_DOCUMENT, bad, SALT)


def test_new_salt_is_16_random_bytes() -> None:
    salts = {person.new_salt() for _ in range(20)}
    assert len(salts) == 20
    for salt in salts:
        assert len(salt) == 22 and "=" not in salt
        assert len(base64.urlsafe_b64decode(salt + "==")) == 16
        doc = {
            "documentType": "HKID",
            "issuingCountry": "HK",
            "commitment": person.commit_identity_document("HKID", "HK", "A123456(7)", salt),
        }
        assert person.identity_document_matches(doc, "A123456(7)", salt)


def test_salts_of_16_to_32_bytes_and_more_are_valid() -> None:
    # 32-byte salts (key files written before salts became 16 bytes) stay valid
    for n in (16, 24, 32, 48):
        salt = base64.urlsafe_b64encode(bytes(range(n))).rstrip(b"=").decode()
        doc = {
            "documentType": "HKID",
            "issuingCountry": "HK",
            "commitment": person.commit_identity_document("HKID", "HK", "A123456(7)", salt),
        }
        assert person.identity_document_matches(doc, "A123456(7)", salt)
    assert SALT == "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"  # 32 bytes, still the example
    short = base64.urlsafe_b64encode(bytes(15)).rstrip(b"=").decode()
    with pytest.raises(ValueError, match="at least 16 bytes"):
        person.commit_identity_document("HKID", "HK", "A123456(7)", short)


def test_what_does_not_match() -> None:
    doc = examples.IDENTITY_DOCUMENT
    other_salt = person.new_salt()
    assert person.identity_document_matches(doc, "A123456(7)", SALT)
    assert not person.identity_document_matches(doc, "A123456(8)", SALT)  # another number
    assert not person.identity_document_matches(doc, "A123456(7)", other_salt)  # another salt
    for key, value in (("documentType", "Passport"), ("issuingCountry", "CN")):
        assert not person.identity_document_matches({**doc, key: value}, "A123456(7)", SALT)
    # malformed inputs: False, never an exception
    for broken in (
        None,
        "x",
        {},
        {**doc, "commitment": "sha256:x"},
        {**doc, "commitment": doc["commitment"][:-1]},
        {**doc, "documentType": "Visa"},
        {**doc, "issuingCountry": "hk"},
        {**doc, "issuingCountry": None},
        {**doc, "commitment": 5},
    ):
        assert not person.identity_document_matches(broken, "A123456(7)", SALT)  # type: ignore[arg-type]
    for salt in ("", "AAAA", "not base64!", "A" * 21, None):
        assert not person.identity_document_matches(doc, "A123456(7)", salt)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("Visa", "HK", "A1234567", SALT), "documentType"),
        (("HKID", "hk", "A1234567", SALT), "issuingCountry"),
        (("HKID", "HKG", "A1234567", SALT), "issuingCountry"),
        (("HKID", "HK", "", SALT), "document number"),
        (("HKID", "HK", "A1234567", "AAAAAAAAAAAAAAAAAAAA"), "at least 16 bytes"),
        (("HKID", "HK", "A1234567", "AA=="), "salt"),
    ],
)
def test_commit_refuses_bad_arguments(args: tuple[str, str, str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        person.commit_identity_document(*args)


@pytest.mark.parametrize("kind", types.KINDS)
def test_the_number_never_appears_in_a_credential(kind: str) -> None:
    text = json.dumps(BUILDERS[kind](_did()))
    for spelling in ("A123456(7)", "A1234567", "123456", "a1234567"):
        assert spelling not in text
    assert examples.IDENTITY_DOCUMENT["commitment"] in text


@pytest.mark.parametrize("kind", types.KINDS)
def test_person_of_reads_the_subject(kind: str) -> None:
    doc = BUILDERS[kind](_did())
    expected = person.Person(
        "CHAN Tai Man", "1990-04-01", "HKID", "HK", examples.IDENTITY_DOCUMENT["commitment"]
    )
    assert person.person_of(doc) == expected
    assert person.person_of(doc["credentialSubject"]) == expected
    subject = {k: v for k, v in doc["credentialSubject"].items() if k != "identityDocument"}
    assert person.person_of({"credentialSubject": subject}) == person.Person(
        "CHAN Tai Man", "1990-04-01", None, None, None
    )
    assert person.person_of({"credentialSubject": {"id": "x"}}) is None
    assert person.person_of([]) is None  # type: ignore[arg-type]


# --- the schemas ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", types.KINDS)
@pytest.mark.parametrize("field", ["name", "birthDate", "identityDocument"])
def test_schemas_require_the_person(kind: str, field: str) -> None:
    doc = BUILDERS[kind](_did())
    del doc["credentialSubject"][field]
    with pytest.raises(SchemaValidationError) as info:
        model.validate_credential(doc)
    assert info.value.field == f"credentialSubject.{field}"


@pytest.mark.parametrize("kind", types.KINDS)
@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("name",), ""),
        (("name",), "x" * 201),
        (("name",), " CHAN"),
        (("name",), 5),
        (("name",), "CHAN\n"),
        (("name",), "CHAN\tTai Man"),
        (("name",), "CHAN\u2028"),
        (("birthDate",), "01/04/1990"),
        (("identityDocument", "documentType"), "Visa"),
        (("identityDocument", "issuingCountry"), "HKG"),
        (("identityDocument", "commitment"), "sha256:" + "A" * 43),
        (("identityDocument", "commitment"), "hmac-sha256:" + "A" * 42),
        (("identityDocument", "number"), "A1234567"),  # the number has no place in a credential
    ],
)
def test_schemas_refuse_malformed_person_fields(
    kind: str, path: tuple[str, ...], value: Any
) -> None:
    doc = BUILDERS[kind](_did())
    target = doc["credentialSubject"]
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    with pytest.raises(SchemaValidationError) as info:
        model.validate_credential(doc)
    assert info.value.field.startswith("credentialSubject." + path[0])


@pytest.mark.parametrize("name", ["CHAN Tai Man", "陳大文", "O'Brien-Smith, Mary Ann", "A"])
def test_names_as_on_travel_documents(name: str) -> None:
    doc = examples.degree(_did(), subject_name=name)
    assert model.validate_credential(doc) == "DegreeCredential"
    assert person.person_of(doc).name == name  # type: ignore[union-attr]


def test_builders_refuse_a_missing_or_bad_identity_document() -> None:
    with pytest.raises(SchemaValidationError, match="identityDocument"):
        examples.degree(_did(), identity_document={"documentType": "HKID"})
    with pytest.raises(TypeError):
        model.degree_credential(
            "did:web:hku.hk",
            _did(),
            "master",
            "CS",
            "HKU",
            "2020-06-30",
            id="urn:uuid:1",
            valid_from=WHEN,
        )  # type: ignore[call-arg]


# --- impossible facts ----------------------------------------------------------------------------


def _problems(subject: dict[str, Any]) -> list[str]:
    return [str(p) for p in claims.fact_problems({"credentialSubject": subject}, TODAY)]


def test_examples_have_no_fact_problems() -> None:
    for build in BUILDERS.values():
        assert claims.fact_problems(build(_did()), TODAY) == []


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        (
            {"degree": {"awardDate": "2023-02-30"}},
            "credentialSubject.degree.awardDate: 2023-02-30 is not a calendar date",
        ),
        (
            {"degree": {"awardDate": "2023-02-29"}},
            "credentialSubject.degree.awardDate: 2023-02-29 is not a calendar date",
        ),
        (
            {"degree": {"awardDate": "2099-06-30"}},
            "credentialSubject.degree.awardDate: expected a date on or before 2026-12-06, found "
            "2099-06-30",
        ),
        (
            {"degree": {"awardDate": "2026-12-07"}},
            "credentialSubject.degree.awardDate: expected a date on or before 2026-12-06, found "
            "2026-12-07",
        ),
        (
            {"employment": {"startDate": "2021-03-01", "endDate": "2020-01-31"}},
            "credentialSubject.employment.endDate: expected a date on or after the startDate "
            "2021-03-01, found 2020-01-31",
        ),
        (
            {"employment": {"startDate": "2027-01-01"}},
            "credentialSubject.employment.startDate: expected a date on or before 2026-12-06, found "
            "2027-01-01",
        ),
        (
            {"employment": {"startDate": "2021-03-01", "endDate": "2031-04-31"}},
            "credentialSubject.employment.endDate: 2031-04-31 is not a calendar date",
        ),
        (
            {"birthDate": "2030-01-01"},
            "credentialSubject.birthDate: expected a date on or before 2026-12-06, found 2030-01-01",
        ),
        (
            {"birthDate": "1899-12-31"},
            "credentialSubject.birthDate: expected a date on or after 1900-01-01, found 1899-12-31",
        ),
        (
            {"birthDate": "1990-04-01", "degree": {"awardDate": "1989-06-30"}},
            "credentialSubject.degree.awardDate: expected a date after the birthDate 1990-04-01, found "
            "1989-06-30",
        ),
        (
            {"birthDate": "1990-04-01", "employment": {"startDate": "1990-04-01"}},
            "credentialSubject.employment.startDate: expected a date after the birthDate 1990-04-01, "
            "found 1990-04-01",
        ),
        (
            {"activityStartDate": "2025-01-01T00:00:00Z", "activityEndDate": "2024-12-31"},
            "credentialSubject.activityEndDate: expected a date on or after the activityStartDate "
            "2025-01-01, found 2024-12-31",
        ),
        (
            {"degree": {"awardDate": 20200630}},
            "credentialSubject.degree.awardDate: expected a calendar date YYYY-MM-DD, found 20200630",
        ),
    ],
)
def test_impossible_facts_are_named(subject: dict[str, Any], expected: str) -> None:
    assert _problems(subject) == [expected]


def test_possible_facts_pass() -> None:
    assert _problems({"birthDate": "1990-04-01", "degree": {"awardDate": "2026-12-06"}}) == []
    assert _problems({"employment": {"startDate": "2020-02-29", "endDate": "2020-02-29"}}) == []
    assert _problems({"employment": {"startDate": "2020-01-01"}}) == []  # still employed
    assert _problems({"birthDate": "1900-01-01"}) == []


def test_subject_fact_problems_for_request_bodies() -> None:
    subject = {
        "birthDate": "1990-04-01",
        "degree": {"awardDate": "2023-02-30"},
        "employment": {"startDate": "2099-01-01"},
    }
    assert [p.field for p in claims.subject_fact_problems("DegreeCredential", subject, TODAY)] == [
        "credentialSubject.degree.awardDate"
    ]
    assert [
        p.field for p in claims.subject_fact_problems("EmploymentCredential", subject, TODAY)
    ] == ["credentialSubject.employment.startDate"]
    request = {"type": "DegreeCredential", "credentialSubject": subject}
    assert len(claims.fact_problems(request, TODAY)) == 2
    assert claims.fact_problems("x", TODAY) == []  # type: ignore[arg-type]


def test_fact_problems_is_all_of_them_in_document_order() -> None:
    doc = examples.employment(_did())
    subject = doc["credentialSubject"]
    subject["birthDate"] = "2030-02-30"
    subject["employment"]["startDate"] = "2099-01-01"
    subject["employment"]["endDate"] = "2098-01-01"
    assert [p.field for p in claims.fact_problems(doc, TODAY)] == [
        "credentialSubject.birthDate",
        "credentialSubject.employment.startDate",
        "credentialSubject.employment.endDate",
    ]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"award_date": "2023-02-30"},
            "credentialSubject.degree.awardDate",
            "2023-02-30 is not a calendar date",
        ),
        (
            {"award_date": "2099-06-30"},
            "credentialSubject.degree.awardDate",
            "expected a date on or before 2026-11-21, found 2099-06-30",
        ),
        (
            {"birth_date": "2030-01-01"},
            "credentialSubject.birthDate",
            "expected a date on or before 2026-11-21, found 2030-01-01",
        ),
    ],
)
def test_builders_refuse_impossible_facts(
    overrides: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ImpossibleFact) as info:
        examples.degree(_did(), **overrides)
    assert info.value.field == field and info.value.message == message
    assert str(info.value) == f"{field}: {message}"
    assert isinstance(info.value, SchemaValidationError)


def test_builder_refuses_end_before_start() -> None:
    with pytest.raises(
        ImpossibleFact,
        match=r"employment\.endDate: expected a date on or after "
        r"the startDate 2021-03-01, found 2020-01-31",
    ):
        examples.employment(_did(), start_date="2021-03-01", end_date="2020-01-31")


def test_validate_credential_checks_facts_only_when_given_today() -> None:
    doc = examples.degree(_did())
    doc["credentialSubject"]["degree"]["awardDate"] = "2023-02-30"  # signed elsewhere, say
    assert model.validate_credential(doc) == "DegreeCredential"
    with pytest.raises(ImpossibleFact) as info:
        model.validate_credential(doc, today=TODAY)
    assert info.value.found == "2023-02-30"
    assert info.value.expected == "a calendar date YYYY-MM-DD"


# --- the salt in a presentation ------------------------------------------------------------------


def test_presentation_carries_and_signs_the_salt(
    anchored: dict[str, dict[str, Any]], holder_key: Ed25519SigningKey
) -> None:
    creds = list(anchored.values())
    vp = create_presentation(
        creds,
        holder_key,
        challenge="n-1",
        domain="verify.example",
        created=WHEN,
        identity_document_salt=SALT,
    )
    assert vp["identityDocumentSalt"] == SALT
    assert len(verify_presentation(vp, challenge="n-1", domain="verify.example")) == 3
    assert presentation_salt(vp) == SALT
    for cred in creds:
        subject = cred["credentialSubject"]
        assert person.identity_document_matches(
            subject["identityDocument"], examples.ID_NUMBER, presentation_salt(vp) or ""
        )
    tampered = copy.deepcopy(vp)
    tampered["identityDocumentSalt"] = person.new_salt()
    with pytest.raises(AlteredDocument):
        verify_presentation(tampered, challenge="n-1", domain="verify.example")
    dropped = copy.deepcopy(vp)
    del dropped["identityDocumentSalt"]
    with pytest.raises(AlteredDocument):
        verify_presentation(dropped, challenge="n-1", domain="verify.example")


def test_presentation_without_salt_and_malformed_salts(
    anchored: dict[str, dict[str, Any]], holder_key: Ed25519SigningKey
) -> None:
    creds = [anchored["DegreeCredential"]]
    vp = create_presentation(
        creds, holder_key, challenge="n-1", domain="verify.example", created=WHEN
    )
    assert "identityDocumentSalt" not in vp and presentation_salt(vp) is None
    for bad in ("", "short", "A" * 21, "A" * 41 + "=", "a b" * 10, "A" * 201):
        with pytest.raises(ValueError, match="identityDocumentSalt"):
            create_presentation(
                creds,
                holder_key,
                challenge="n-1",
                domain="verify.example",
                created=WHEN,
                identity_document_salt=bad,
            )
        assert presentation_salt({**vp, "identityDocumentSalt": bad}) is None
    assert presentation_salt({**vp, "identityDocumentSalt": 5}) is None
    assert presentation_salt("x") is None  # type: ignore[arg-type]


# --- the holder commands -------------------------------------------------------------------------


def _app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)
    register(app)
    return app


def test_keygen_writes_a_salt_and_commit_id_uses_it(tmp_path: Path) -> None:
    out = tmp_path / "holder.json"
    assert CliRunner().invoke(_app(), ["keygen", "--out", str(out)]).exit_code == 0
    salt = json.loads(out.read_text())["idSalt"]
    assert load_holder_id_salt(out) == salt and len(salt) == 22  # 16 bytes (person.new_salt)
    result = CliRunner().invoke(
        _app(),
        [
            "holder",
            "commit-id",
            "--key",
            str(out),
            "--type",
            "HKID",
            "--country",
            "HK",
            "--number",
            "A123456(7)",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc == {
        "documentType": "HKID",
        "issuingCountry": "HK",
        "commitment": person.commit_identity_document("HKID", "HK", "A1234567", salt),
    }
    assert "123456" not in result.output
    # the object is what the builders take
    examples.degree(_did(), identity_document=doc)


def test_commit_id_refuses_bad_input(tmp_path: Path, holder_key: Ed25519SigningKey) -> None:
    key = tmp_path / "holder.json"
    write_holder_key(key, holder_key, id_salt=SALT)
    for args, message in (
        (["--type", "Visa", "--country", "HK", "--number", "1"], "documentType"),
        (["--type", "HKID", "--country", "hk", "--number", "1"], "issuingCountry"),
        (["--type", "HKID", "--country", "HK", "--number", "A*1"], "document number"),
    ):
        result = CliRunner().invoke(_app(), ["holder", "commit-id", "--key", str(key), *args])
        assert result.exit_code == 2 and message in result.output
    old = tmp_path / "old.json"
    write_holder_key(old, holder_key)  # a key file from before salts
    result = CliRunner().invoke(
        _app(),
        [
            "holder",
            "commit-id",
            "--key",
            str(old),
            "--type",
            "HKID",
            "--country",
            "HK",
            "--number",
            "A1234567",
        ],
    )
    assert result.exit_code == 2 and "idSalt" in result.output


def test_present_discloses_the_key_files_salt(
    tmp_path: Path, anchored: dict[str, dict[str, Any]], holder_key: Ed25519SigningKey
) -> None:
    key = tmp_path / "holder.json"
    write_holder_key(key, holder_key, id_salt=SALT)
    cred = tmp_path / "degree.json"
    cred.write_text(json.dumps(anchored["DegreeCredential"]))
    out = tmp_path / "vp.json"
    result = CliRunner().invoke(
        _app(),
        [
            "present",
            str(cred),
            "--key",
            str(key),
            "--challenge",
            "n-9",
            "--domain",
            "verify.example",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    vp = json.loads(out.read_text())
    verify_presentation(vp, challenge="n-9", domain="verify.example")
    assert presentation_salt(vp) == SALT


def test_three_credentials_and_the_salt_fit_one_qr_code(
    anchored: dict[str, dict[str, Any]], holder_key: Ed25519SigningKey
) -> None:
    """A whole application (degree, employment, badge, each with a 12-hash path) with the salt
    and a verifier's challenge (`secrets.token_urlsafe(18)`, 24 characters) is one QR code at
    error correction M: version 39 (3,153 characters; version 40 holds 3,391)."""
    import orjson

    from talentproof.credential import qr

    vp = create_presentation(
        list(anchored.values()),
        holder_key,
        challenge="Zm9vYmFyYmF6cXV4cXV1eDEy",
        domain="talentproof-verifier",
        created=WHEN,
        identity_document_salt=RANDOM_LOOKING_SALT,
    )
    text = qr.encode_payload(vp)
    assert qr.qr_version(text) == 39
    assert orjson.dumps(qr.decode_payload(text)) == orjson.dumps(vp)


def test_an_open_badge_awarded_date_is_checked_when_present() -> None:
    doc = examples.badge(_did())
    doc["awardedDate"] = "2099-01-01T00:00:00Z"
    assert [str(p) for p in claims.fact_problems(doc, TODAY)] == [
        "awardedDate: expected a date on or before 2026-12-06, found 2099-01-01"
    ]
    doc["awardedDate"] = "1985-01-01T00:00:00Z"
    assert [p.field for p in claims.fact_problems(doc, TODAY)] == ["awardedDate"]
    doc["awardedDate"] = "2025-02-29T00:00:00Z"
    assert [str(p) for p in claims.fact_problems(doc, TODAY)] == [
        "awardedDate: 2025-02-29T00:00:00Z is not a calendar date"
    ]
