"""The credential kinds TalentProof issues (the last entry of a VC ``type``), and the names the
governing authority accredits issuers for.

The on-chain type id of an accreditation name is ``keccak256(name)`` (computed by the ledger
package). A name is a kind (every credential of that kind, e.g. ``DegreeCredential``) or, for
degrees, a kind scoped to one level (``DegreeCredential#level=bachelor``): an issuer accredited
for the whole kind may sign a degree of any level; one accredited only for some levels, only
degrees of those levels.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .errors import SchemaValidationError

__all__ = [
    "CREDENTIALS_V2",
    "DEGREE",
    "DEGREE_LEVELS",
    "EMPLOYMENT",
    "KINDS",
    "KIND_ALIASES",
    "KIND_CLAIMS",
    "OB3_CONTEXT",
    "OPEN_BADGE",
    "PRESENTATION",
    "TALENTPROOF_CONTEXT",
    "accreditation_names",
    "accredited_levels",
    "credential_kind",
    "degree_level",
    "grant_names",
    "issuer_profile",
    "level_refusal",
    "parse_accreditation",
    "require_one_kind",
    "scoped_type",
    "scoped_types",
    "unvouched_creator_members",
    "unvouched_issuer_members",
]

DEGREE = "DegreeCredential"
EMPLOYMENT = "EmploymentCredential"
OPEN_BADGE = "OpenBadgeCredential"
KINDS: tuple[str, ...] = (DEGREE, EMPLOYMENT, OPEN_BADGE)
PRESENTATION = "VerifiablePresentation"
CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"  # the VC 2.0 base context
TALENTPROOF_CONTEXT = "https://talentproof.org/contexts/v1"  # degrees and employment
OB3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"  # Open Badges 3.0
#: Degree levels, lowest first (the schema's ``degree.level``; the policy's ``min_level`` order).
DEGREE_LEVELS: tuple[str, ...] = ("associate", "bachelor", "master", "doctorate")
#: The kinds whose accreditation can be scoped to levels, and their levels.
_LEVELLED: dict[str, tuple[str, ...]] = {DEGREE: DEGREE_LEVELS}
_SCOPE = "#level="


def scoped_type(kind: str, level: str) -> str:
    """The accreditation name of ``kind`` limited to ``level``: ``DegreeCredential#level=bachelor``."""
    levels = _LEVELLED.get(kind)
    if levels is None:
        raise ValueError(
            f"credential type {kind!r}: only {', '.join(_LEVELLED)} can be accredited by level"
        )
    if level not in levels:
        raise ValueError(f"degree level {level!r}: expected one of {', '.join(levels)}")
    return f"{kind}{_SCOPE}{level}"


def scoped_types(kind: str) -> tuple[str, ...]:
    """Every level-scoped accreditation name of ``kind`` (none for a kind without levels)."""
    return tuple(f"{kind}{_SCOPE}{level}" for level in _LEVELLED.get(kind, ()))


def parse_accreditation(name: str) -> tuple[str, str | None]:
    """``(kind, level)`` of an accreditation name (``level`` None: the whole kind); raises
    ValueError naming what is expected."""
    if not isinstance(name, str):
        raise ValueError(f"expected a credential type name, got {name!r}")
    kind, sep, level = name.partition(_SCOPE)
    if kind not in KINDS:
        raise ValueError(
            f"credential type {name!r}: expected one of {', '.join(KINDS)}"
            f" or {DEGREE}{_SCOPE}<level> ({', '.join(DEGREE_LEVELS)})"
        )
    if not sep:
        return kind, None
    scoped_type(kind, level)  # raises for a kind without levels or an unknown level
    return kind, level


def accreditation_names(kind: str, levels: Iterable[str] | None) -> list[str]:
    """The names to grant for ``kind``: the whole kind (``levels`` None), else one per level."""
    if levels is None:
        parse_accreditation(kind)
        return [kind]
    wanted = list(dict.fromkeys(levels))
    if not wanted:
        raise ValueError(
            f"{kind}: no level given: expected some of {', '.join(_LEVELLED.get(kind, ()))} "
            "(or every level: the whole type)"
        )
    return [scoped_type(kind, level) for level in wanted]


def grant_names(types: Iterable[str], levels: str | None, *, grant: bool = True) -> list[str]:
    """The accreditation names a command's ``--type`` values and ``--levels`` option name.

    ``levels``: comma-separated degree levels (``associate,bachelor``) or ``all`` (the whole
    type: every level). Granting a type that has levels needs it said (``grant``): a training
    centre must not be given doctorates by omission. Raises ValueError naming what is expected.
    """
    names = list(types)
    for name in names:
        parse_accreditation(name)
    levelled = [n for n in names if n in _LEVELLED]
    if levels is None:
        if grant and levelled:
            choices = ", ".join(_LEVELLED[levelled[0]])
            raise ValueError(
                f"{levelled[0]}: say which levels it may award with --levels (some of {choices}, "
                "comma-separated, or 'all' for every level)"
            )
        return names
    if not levelled:
        raise ValueError(
            f"--levels applies to {', '.join(_LEVELLED)}: give it with --type {next(iter(_LEVELLED))}"
        )
    wanted = [w.strip() for w in levels.split(",") if w.strip()]
    out: list[str] = []
    for name in names:
        if name not in _LEVELLED or wanted == ["all"]:
            out.append(name)
        else:
            out.extend(accreditation_names(name, wanted))
    return list(dict.fromkeys(out))


def accredited_levels(names: Iterable[str], kind: str) -> tuple[str, ...] | None:
    """What ``names`` (an issuer's accreditations) allow of ``kind``: None for every credential of
    it (the whole kind), else the levels granted, lowest first (empty: none)."""
    names = set(names)
    if kind in names:
        return None
    return tuple(level for level in _LEVELLED.get(kind, ()) if f"{kind}{_SCOPE}{level}" in names)


def degree_level(subject: Any) -> str | None:
    """A degree subject's ``degree.level`` (None when it has none, or not a text)."""
    degree = subject.get("degree") if isinstance(subject, Mapping) else None
    level = degree.get("level") if isinstance(degree, Mapping) else None
    return level if isinstance(level, str) else None


def level_refusal(names: Iterable[str], kind: str, subject: Any, who: str) -> str | None:
    """Why ``who``, accredited for ``names``, may not sign a ``kind`` credential about
    ``subject`` (its ``credentialSubject``), or None when it may. Only the level is judged here:
    a kind not accredited at all is for the caller to refuse first."""
    levels = accredited_levels(names, kind)
    if levels is None or kind not in _LEVELLED:
        return None
    level = degree_level(subject)
    if level in levels:
        return None
    allowed = ", ".join(levels) if levels else "none"
    stated = f"the level {level!r} of this credential" if level else "a credential without a level"
    return f"{who} is accredited to issue {kind} only at the levels {allowed}, not {stated}"


def credential_kind(doc: Mapping[str, Any]) -> str:
    """The TalentProof kind of a credential: the last entry of ``type``, which must be a kind."""
    if not isinstance(doc, Mapping):
        raise SchemaValidationError("", "a credential object", type(doc).__name__)
    types = doc.get("type")
    if isinstance(types, str):
        types = [types]
    if not isinstance(types, list) or "VerifiableCredential" not in types:
        raise SchemaValidationError("type", "a list including 'VerifiableCredential'", types)
    last: str = types[-1]
    if last not in KINDS:
        raise SchemaValidationError("type", f"last entry one of {list(KINDS)}", last)
    return last


#: The subject member that holds the claim of a kind (TalentProof's vocabulary). Only a credential
#: of that kind may carry it: the Open Badges subject admits other members, and a badge from a
#: training centre holding a ``degree`` was VALID, so a relying party reading
#: ``credentialSubject.degree`` of a verified badge read a degree no accredited party signed.
KIND_CLAIMS: dict[str, str] = {DEGREE: "degree", EMPLOYMENT: "employment"}

#: The other names of a kind its ``type`` may give beside it: an Open Badges 3.0 credential is an
#: ``AchievementCredential`` too (the same class in the Open Badges context).
KIND_ALIASES: dict[str, tuple[str, ...]] = {OPEN_BADGE: ("AchievementCredential",)}


def _a(word: str) -> str:
    """The indefinite article before ``word`` (a degree, an employment, an OpenBadgeCredential)."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def require_one_kind(doc: Mapping[str, Any], kind: str) -> str:
    """``kind`` when the credential's ``type`` names ``VerifiableCredential`` and ``kind`` (or
    one of its `KIND_ALIASES`) and nothing else; else raises `SchemaValidationError` naming
    ``type``.

    Why: the registry accredits the signer for one kind, the one checked (the last entry of
    ``type``, `credential_kind`); the schemas ask only that ``type`` hold it, so an employment
    typed ``["VerifiableCredential", "DegreeCredential", "EmploymentCredential"]`` by a bank
    accredited for employment verified, and a relying party reading ``type`` (``"DegreeCredential"
    in type``) read a degree nobody accredited it to sign. Likewise the subject holds no other
    kind's claim member (`KIND_CLAIMS`; raises naming ``credentialSubject.<member>``). Checked
    after the kind's schema (by `validation.validate_credential` on either of its paths)."""
    types = doc.get("type")
    if isinstance(types, str):
        types = [types]
    allowed = ("VerifiableCredential", kind, *KIND_ALIASES.get(kind, ()))
    if not (isinstance(types, list) and all(t in allowed for t in types)):
        aliases = KIND_ALIASES.get(kind, ())
        raise SchemaValidationError(
            "type",
            f"['VerifiableCredential', {kind!r}]"
            + (f" ({' or '.join(map(repr, aliases))} may be added)" if aliases else "")
            + ": one kind, its last entry, the kind its issuer's accreditation is checked for; "
            "no other type",
            types,
        )
    subject = doc.get("credentialSubject")
    if isinstance(subject, Mapping):
        for other, member in KIND_CLAIMS.items():
            if other != kind and member in subject:
                raise SchemaValidationError(
                    f"credentialSubject.{member}",
                    f"absent: {_a(member)} {member} is the claim of {_a(other)} {other}, which "
                    f"only an issuer accredited for {other} signs, never part of {_a(kind)} {kind}"
                    if kind == OPEN_BADGE
                    else f"absent: {_a(member)} {member} is the claim of {_a(other)} {other}, "
                    f"never part of {_a(kind)} {kind}",
                    subject[member],
                )
    return kind


#: An Open Badges 3.0 issuer's ``type`` (its class, ``Profile``), the one member TalentProof's
#: issuer writes beside the issuer's DID and registered name.
PROFILE_TYPE: tuple[str, ...] = ("Profile",)


def issuer_profile(did: str, name: str, kind: str) -> dict[str, Any]:
    """The ``issuer`` object TalentProof's issuer writes for a credential of ``kind``: the
    issuer's DID and registered name, and an Open Badge's ``type: ["Profile"]``; nothing the
    registry cannot vouch for (`unvouched_issuer_members`)."""
    out: dict[str, Any] = {"id": did, "name": name}
    if kind == OPEN_BADGE:
        out["type"] = list(PROFILE_TYPE)
    return out


def unvouched_issuer_members(kind: str | None, issuer: Any) -> tuple[str, ...]:
    """The members of a credential's ``issuer`` object the registry cannot vouch for, sorted:
    every one but ``id`` and ``name`` (the DID and the name the registry records, compared with
    it by the verifier's check 6) and an Open Badge's ``type`` when it is ``["Profile"]`` (what
    `issuer_profile` writes). A ``url``, ``image``, ``description``, ``email``, ``phone``,
    ``address``, ``otherIdentifier``, ``endorsement``, ``parentOrg``, ... (an Open Badges 3.0
    Profile's, or any member a VC Data Model 2.0 issuer object may hold) states something about
    who the issuer is that no one checked: a display showing the verified issuer's logo or site
    would show what the signer chose (another institution's). An issuer given as its DID alone
    (a text) holds none."""
    return _unvouched(issuer, kind == OPEN_BADGE, False)


def unvouched_creator_members(creator: Any) -> tuple[str, ...]:
    """The members of an Open Badge achievement's ``creator`` profile the registry cannot vouch
    for, sorted: as `unvouched_issuer_members` (the creator is the issuing institution itself,
    its ``id`` and ``name`` bound to the issuer), its ``type`` ``"Profile"`` or ``["Profile"]``
    aside. A creator given as its DID alone holds none."""
    return _unvouched(creator, True, True)


def _unvouched(profile: Any, typed: bool, as_text: bool) -> tuple[str, ...]:
    if not isinstance(profile, Mapping):
        return ()
    out = [
        str(key)
        for key, value in profile.items()
        if key != "id"
        and key != "name"
        and not (
            typed and key == "type" and (value == _PROFILE_LIST or (as_text and value == "Profile"))
        )
    ]
    return tuple(sorted(out)) if out else ()


_PROFILE_LIST = list(PROFILE_TYPE)  # (compared with, never handed out)
