"""W3C VC Data Model 2.0 credentials and presentations: typed, immutable models and builders.

The builders (`degree_credential`, `employment_credential`, `open_badge_credential`) are typed
adapters over the issuance API: the document's shape is `issuance.credential_document`'s (the one
place it is defined, shared with `issuance.build_credential`); they check it through the typed
models and return plain JSON dicts ready for `integrity.sign`. `validate_credential`
checks a JSON credential against its kind's JSON Schema and the VC 2.0 structural rules and
returns the kind; a failure raises `SchemaValidationError(field, expected, found)`.

Signed documents must be verified as the received dicts, never re-serialized through a model
(the signature covers the exact JSON values).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
)

from .claims import fact_problems
from .errors import (
    ImpossibleFact,
    KeyMismatch,
    MalformedMultibase,
    SchemaValidationError,
)
from .integrity import format_datetime
from .issuance.plain import credential_document
from .keys import Ed25519PublicKey
from .types import (
    CREDENTIALS_V2,
    DEGREE,
    EMPLOYMENT,
    KINDS,
    OB3_CONTEXT,
    OPEN_BADGE,
    TALENTPROOF_CONTEXT,
)
from .validation import (
    check_vc_structure,
    join_field,
    validate_credential,
    validate_presentation,
    value_at,
)

__all__ = [
    "CREDENTIALS_V2",
    "OB3_CONTEXT",
    "TALENTPROOF_CONTEXT",
    "Achievement",
    "AchievementSubject",
    "Alignment",
    "Credential",
    "CredentialSchema",
    "CredentialStatus",
    "Criteria",
    "Degree",
    "DegreeSubject",
    "Employer",
    "Employment",
    "EmploymentSubject",
    "IdentityDocument",
    "Institution",
    "IssuerProfile",
    "Presentation",
    "Result",
    "degree_credential",
    "employment_credential",
    "open_badge_credential",
    "validate_credential",
    "validate_presentation",
]


DegreeLevel = Literal["associate", "bachelor", "master", "doctorate"]
Seniority = Literal[
    "intern", "junior", "mid", "senior", "lead", "principal", "manager", "director", "executive"
]


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("a dateTimeStamp needs a time zone")
    return value


DateTimeStamp = Annotated[
    datetime, AfterValidator(_aware), PlainSerializer(format_datetime, return_type=str)
]
IsoDate = Annotated[date, PlainSerializer(lambda d: d.isoformat(), return_type=str)]
Text = Annotated[str, Field(min_length=1, max_length=500)]
LongText = Annotated[str, Field(min_length=1, max_length=4000)]
Uri = Annotated[str, Field(pattern=r"^[a-zA-Z][a-zA-Z0-9+.-]*:[^\s]+$")]


def _holder_did(value: str) -> str:
    try:
        Ed25519PublicKey.from_did_key(value)
    except (MalformedMultibase, KeyMismatch) as exc:
        raise ValueError(f"expected the holder's Ed25519 did:key, {exc}") from exc
    if "#" in value:
        raise ValueError("expected a DID without a fragment")
    return value


HolderDid = Annotated[str, AfterValidator(_holder_did)]
#: A person's name: no C0 or C1 control, DEL, line or paragraph separator, bidi override or
#: isolate (U+202A-U+202E, U+2066-U+2069: they make a name display as another text where it
#: is shown unescaped), no white space first or last (the schemas' ``name`` pattern).
_NAME_PATTERN = (
    r"^[^\s\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
    r"([^\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]*"
    r"[^\s\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069])?$"
)
PersonName = Annotated[str, Field(min_length=1, max_length=200, pattern=_NAME_PATTERN)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid")

    def to_json(self) -> dict[str, Any]:
        """The JSON form (aliases, no unset optional fields)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class _Open(_Model):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="allow")


# --- common VC 2.0 parts ----------------------------------------------------------------------


class IssuerProfile(_Open):
    """An issuer object: ``id`` (a did:web or https URL) and a display ``name``."""

    id: Uri
    type: tuple[str, ...] | None = None
    name: Text | None = None


class CredentialSchema(_Model):
    """A ``credentialSchema`` entry: the schema's stable id and ``JsonSchema``."""

    id: Uri
    type: Literal["JsonSchema"] = "JsonSchema"


class CredentialStatus(_Open):
    """A ``credentialStatus`` entry (e.g. the ledger status of TalentProof)."""

    type: Text
    id: Uri | None = None


class Credential(_Open):
    """A W3C VC 2.0 credential (any kind); extension properties are kept."""

    context: tuple[str | dict[str, Any], ...] = Field(alias="@context", min_length=1)
    id: Uri | None = None
    type: tuple[str, ...] = Field(min_length=1)
    name: Text | None = None
    description: LongText | None = None
    issuer: Uri | IssuerProfile
    valid_from: DateTimeStamp | None = Field(default=None, alias="validFrom")
    valid_until: DateTimeStamp | None = Field(default=None, alias="validUntil")
    credential_subject: dict[str, Any] | tuple[dict[str, Any], ...] = Field(
        alias="credentialSubject"
    )
    credential_status: CredentialStatus | tuple[CredentialStatus, ...] | None = Field(
        default=None, alias="credentialStatus"
    )
    credential_schema: CredentialSchema | tuple[CredentialSchema, ...] | None = Field(
        default=None, alias="credentialSchema"
    )
    proof: dict[str, Any] | tuple[dict[str, Any], ...] | None = None

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Credential:
        """Parse a JSON credential (after the VC 2.0 structural checks)."""
        check_vc_structure(doc, "VerifiableCredential")
        return _parse(cls, doc)


class Presentation(_Open):
    """A W3C VC 2.0 verifiable presentation."""

    context: tuple[str | dict[str, Any], ...] = Field(alias="@context", min_length=1)
    id: Uri | None = None
    type: tuple[str, ...] = Field(min_length=1)
    holder: Uri | None = None
    verifiable_credential: tuple[dict[str, Any], ...] = Field(
        default=(), alias="verifiableCredential"
    )
    proof: dict[str, Any] | tuple[dict[str, Any], ...] | None = None

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Presentation:
        """Parse a JSON presentation (after the VC 2.0 structural checks)."""
        validate_presentation(doc)
        return _parse(cls, doc)


_ParsedT = TypeVar("_ParsedT", bound=BaseModel)


def _parse(cls: type[_ParsedT], doc: Mapping[str, Any]) -> _ParsedT:
    try:
        return cls.model_validate(doc)
    except ValidationError as exc:
        raise _from_pydantic(exc) from exc


def _from_pydantic(exc: ValidationError) -> SchemaValidationError:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"])
    return SchemaValidationError(field, err["msg"], err.get("input"))


# --- the person -------------------------------------------------------------------------------


class IdentityDocument(_Model):
    """A salted commitment to the holder's identity document (`person.commit_identity_document`);
    the number itself never appears."""

    document_type: Literal["HKID", "Passport", "MainlandResidentIdentityCard"] = Field(
        alias="documentType"
    )
    issuing_country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = Field(alias="issuingCountry")
    commitment: Annotated[str, Field(pattern=r"^hmac-sha256:[A-Za-z0-9_-]{43}$")]


# --- degree -----------------------------------------------------------------------------------


class Institution(_Model):
    """The awarding institution."""

    name: Text
    id: Uri | None = None


class Degree(_Model):
    """An academic degree."""

    type: Literal["Degree"] = "Degree"
    level: DegreeLevel
    field_of_study: Text = Field(alias="fieldOfStudy")
    institution: Institution
    award_date: IsoDate = Field(alias="awardDate")
    honours: Text | None = None


class DegreeSubject(_Model):
    """The holder of a degree."""

    id: HolderDid
    name: PersonName
    birth_date: IsoDate = Field(alias="birthDate")
    identity_document: IdentityDocument = Field(alias="identityDocument")
    degree: Degree


# --- employment -------------------------------------------------------------------------------


class Employer(_Model):
    """An employer: legal name and company registration id."""

    name: Text
    registration_id: Text = Field(alias="registrationId")
    id: Uri | None = None
    jurisdiction: Text | None = None


class Employment(_Model):
    """One employment record."""

    type: Literal["Employment"] = "Employment"
    employer: Employer
    role: Text
    seniority: Seniority
    start_date: IsoDate = Field(alias="startDate")
    end_date: IsoDate | None = Field(default=None, alias="endDate")
    responsibilities: tuple[Text, ...] = Field(min_length=1, max_length=20)
    domains: tuple[Text, ...] = Field(min_length=1, max_length=20)


class EmploymentSubject(_Model):
    """The employee."""

    id: HolderDid
    name: PersonName
    birth_date: IsoDate = Field(alias="birthDate")
    identity_document: IdentityDocument = Field(alias="identityDocument")
    employment: Employment


# --- Open Badges 3.0 --------------------------------------------------------------------------


class Criteria(_Open):
    """How the achievement is earned."""

    id: Uri | None = None
    narrative: LongText | None = None


class Alignment(_Open):
    """An alignment of the achievement to a skills framework entry."""

    type: tuple[str, ...] = ("Alignment",)
    target_name: Text = Field(alias="targetName")
    target_url: Uri = Field(alias="targetUrl")
    target_description: LongText | None = Field(default=None, alias="targetDescription")
    target_framework: Text | None = Field(default=None, alias="targetFramework")
    target_code: Text | None = Field(default=None, alias="targetCode")
    target_type: Text | None = Field(default=None, alias="targetType")


class ResultDescription(_Open):
    """A result the achievement defines (e.g. a grade scale)."""

    id: Uri
    type: tuple[str, ...] = ("ResultDescription",)
    name: Text
    result_type: Text = Field(alias="resultType")


class Achievement(_Open):
    """The OB 3.0 Achievement a badge is awarded for."""

    id: Uri
    type: tuple[str, ...] = ("Achievement",)
    name: Text
    description: LongText
    criteria: Criteria
    achievement_type: Text = Field(alias="achievementType")
    alignment: tuple[Alignment, ...] | None = None
    result_description: tuple[ResultDescription, ...] | None = Field(
        default=None, alias="resultDescription"
    )


class Result(_Open):
    """A result the holder obtained (value as text: no floats in signed JSON)."""

    type: tuple[str, ...] = ("Result",)
    result_description: Uri | None = Field(default=None, alias="resultDescription")
    value: Text | None = None
    status: Text | None = None


class AchievementSubject(_Open):
    """The OB 3.0 AchievementSubject: the holder and the achievement."""

    id: HolderDid
    type: tuple[str, ...] = ("AchievementSubject",)
    name: PersonName
    birth_date: IsoDate = Field(alias="birthDate")
    identity_document: IdentityDocument = Field(alias="identityDocument")
    achievement: Achievement
    result: tuple[Result, ...] | None = None


# --- builders ---------------------------------------------------------------------------------


def _issuer(issuer: str | Mapping[str, Any], *, profile: bool = False) -> Any:
    if isinstance(issuer, str):
        return IssuerProfile(id=issuer, type=("Profile",)) if profile else issuer
    data = dict(issuer)
    if profile:
        data.setdefault("type", ["Profile"])
    return IssuerProfile.model_validate(data)


def _build(
    kind: str,
    *,
    issuer: Any,
    subject: _Model,
    id: str,
    valid_from: datetime,
    valid_until: datetime | None,
    status: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None,
    name: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    # an adapter: the document's shape is `issuance.credential_document`'s, the same as issued
    # credentials'; the typed models then check and serialize it (dates, datetimes, profiles)
    request: dict[str, Any] = {"validUntil": valid_until, "name": name, "description": description}
    data = credential_document(
        kind,
        request,
        subject=subject.to_json(),
        issuer=issuer,
        status=status,
        credential_id=id,
        stamp=valid_from,
    )
    try:
        model = Credential.model_validate(data)
    except ValidationError as exc:
        raise _from_pydantic(exc) from exc
    doc = model.to_json()
    validate_credential(doc, today=valid_from.date())
    return doc


def _person(
    name: str, birth_date: date | str, identity_document: Mapping[str, Any]
) -> dict[str, Any]:
    doc = dict(identity_document) if isinstance(identity_document, Mapping) else identity_document
    return {"name": name, "birthDate": birth_date, "identityDocument": doc}


def _sub(cls: type[_Model], data: dict[str, Any], valid_from: Any) -> _Model:
    # impossible facts first, with their own messages (as of the credential's validFrom)
    today = valid_from.date() if isinstance(valid_from, datetime) else date.max
    problems = fact_problems({"credentialSubject": data}, today)
    if problems:
        raise ImpossibleFact(
            problems[0].field,
            problems[0].message,
            value_at({"credentialSubject": data}, problems[0].field),
        )
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        err = _from_pydantic(exc)
        raise SchemaValidationError(
            join_field("credentialSubject", err.field), err.expected, err.found
        ) from exc


def degree_credential(
    issuer: str | Mapping[str, Any],
    subject_id: str,
    level: str,
    field_of_study: str,
    institution: str | Mapping[str, Any],
    award_date: date | str,
    honours: str | None = None,
    *,
    subject_name: str,
    birth_date: date | str,
    identity_document: Mapping[str, Any],
    id: str,
    valid_from: datetime,
    valid_until: datetime | None = None,
    status: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """An unsigned ``DegreeCredential``.

    ``subject_name`` and ``birth_date`` are the holder's as on their travel document,
    ``identity_document`` the ``{"documentType", "issuingCountry", "commitment"}`` object the
    holder hands over (``talentproof holder commit-id``; `person.commit_identity_document`).
    Every builder refuses an impossible fact (`claims.fact_problems` as of ``valid_from``'s date:
    a date that is not a calendar date, after ``valid_from``, out of order) with
    `ImpossibleFact` naming the field.
    """
    inst = {"name": institution} if isinstance(institution, str) else dict(institution)
    degree = {
        "level": level,
        "fieldOfStudy": field_of_study,
        "institution": inst,
        "awardDate": award_date,
    }
    if honours is not None:
        degree["honours"] = honours
    subject = _sub(
        DegreeSubject,
        {
            "id": subject_id,
            **_person(subject_name, birth_date, identity_document),
            "degree": degree,
        },
        valid_from,
    )
    return _build(
        DEGREE,
        issuer=_issuer(issuer),
        subject=subject,
        id=id,
        valid_from=valid_from,
        valid_until=valid_until,
        status=status,
    )


def employment_credential(
    issuer: str | Mapping[str, Any],
    subject_id: str,
    *,
    subject_name: str,
    birth_date: date | str,
    identity_document: Mapping[str, Any],
    employer_name: str,
    employer_registration_id: str,
    role: str,
    seniority: str,
    start_date: date | str,
    end_date: date | str | None = None,
    responsibilities: Sequence[str],
    domains: Sequence[str],
    id: str,
    valid_from: datetime,
    valid_until: datetime | None = None,
    status: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """An unsigned ``EmploymentCredential`` (domains e.g. "blockchain in financial services")."""
    employment: dict[str, Any] = {
        "employer": {"name": employer_name, "registrationId": employer_registration_id},
        "role": role,
        "seniority": seniority,
        "startDate": start_date,
        "responsibilities": list(responsibilities),
        "domains": list(domains),
    }
    if end_date is not None:
        employment["endDate"] = end_date
    subject = _sub(
        EmploymentSubject,
        {
            "id": subject_id,
            **_person(subject_name, birth_date, identity_document),
            "employment": employment,
        },
        valid_from,
    )
    return _build(
        EMPLOYMENT,
        issuer=_issuer(issuer),
        subject=subject,
        id=id,
        valid_from=valid_from,
        valid_until=valid_until,
        status=status,
    )


def open_badge_credential(
    issuer: str | Mapping[str, Any],
    subject_id: str,
    *,
    subject_name: str,
    birth_date: date | str,
    identity_document: Mapping[str, Any],
    achievement_id: str,
    name: str,
    description: str,
    criteria: str | Mapping[str, Any],
    achievement_type: str = "Certificate",
    alignment: Sequence[Mapping[str, Any]] = (),
    results: Sequence[Mapping[str, Any]] = (),
    result_descriptions: Sequence[Mapping[str, Any]] = (),
    id: str,
    valid_from: datetime,
    valid_until: datetime | None = None,
    status: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """An unsigned Open Badges 3.0 ``OpenBadgeCredential`` for a skill or training certificate.

    ``issuer`` must have a ``name`` (OB 3.0 Profile); ``alignment`` entries need ``targetName``
    and ``targetUrl`` (plus e.g. ``targetFramework``, ``targetCode``); ``results`` hold text
    values.
    """
    achievement: dict[str, Any] = {
        "id": achievement_id,
        "type": ["Achievement"],
        "name": name,
        "description": description,
        "criteria": {"narrative": criteria} if isinstance(criteria, str) else dict(criteria),
        "achievementType": achievement_type,
    }
    if alignment:
        achievement["alignment"] = [{"type": ["Alignment"], **a} for a in alignment]
    if result_descriptions:
        achievement["resultDescription"] = [
            {"type": ["ResultDescription"], **r} for r in result_descriptions
        ]
    subject_data: dict[str, Any] = {
        "id": subject_id,
        "type": ["AchievementSubject"],
        **_person(subject_name, birth_date, identity_document),
        "achievement": achievement,
    }
    if results:
        subject_data["result"] = [{"type": ["Result"], **r} for r in results]
    subject = _sub(AchievementSubject, subject_data, valid_from)
    return _build(
        OPEN_BADGE,
        issuer=_issuer(issuer, profile=True),
        subject=subject,
        id=id,
        valid_from=valid_from,
        valid_until=valid_until,
        status=status,
        name=name,
        description=description,
    )


__all__ += ["KINDS", "ResultDescription", "check_vc_structure"]
