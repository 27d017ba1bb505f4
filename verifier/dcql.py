"""The DCQL query (OpenID4VP 1.0, section 6) a talent-list profession asks a wallet for.

One reviewed mapping from the policy (`talentproof.verifier.policy`) to DCQL, beside it:
:func:`dcql_query`. docs/openid4vc.md states the profile; the rules are:

- **One credential query per credential kind the criteria need**: a ``degree`` criterion asks
  for ``degree`` (a ``DegreeCredential``), ``employment`` for ``employment`` (an
  ``EmploymentCredential``), ``badge`` for ``training`` (an Open Badges 3.0
  ``OpenBadgeCredential``). Each is ``format`` ``ldp_vc``; ``meta.type_values`` gives the
  credential's types fully expanded (the IRIs the specification asks for, from the contexts the
  credentials use) and, as a second alternative, as the credentials write them (for wallets
  that match types without JSON-LD expansion).
- **Claims**: the paths the verifier reads of that kind, only those every valid credential of
  the kind has (a claim the credential lacks would make the wallet skip it): the person
  (``name``, ``birthDate``, ``identityDocument``: checks 11 and 12) and the kind's facts
  (`talentproof.verifier.facts`). A degree's ``level`` carries ``values``: the levels at or
  above the lowest ``min_level`` the profession asks (the schema's exact enumeration, so an
  exact match is right); free text (fields of study, domains, employer names) is matched by the
  policy up to case and punctuation, so it gets no ``values``.
- ``multiple`` is true for employment (years add up over several employments) and for a kind
  several criteria read (two degree criteria may need two degrees); otherwise one credential.
- **credential_sets**: one required set per top-level criterion (every criterion must be met),
  its ``options`` the combinations of kinds that can meet it: a leaf its kind; ``any_of`` the
  options of each alternative; ``all_of`` one option of each part, joined. Sets saying the same
  are given once.

Credentials are presented whole (``ldp_vc`` with ``eddsa-jcs-2022`` discloses everything it
signs): ``claims`` tells the wallet and the applicant what the verifier reads, it hides nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import product
from typing import Any

from talentproof.verifier.facts import DEGREE, DEGREE_LEVELS, EMPLOYMENT, OPEN_BADGE
from talentproof.verifier.policy import Criterion, Profession

VC = "VerifiableCredential"
VC_IRI = "https://www.w3.org/2018/credentials#VerifiableCredential"
TALENTPROOF_VOCAB = "https://talentproof.org/vocab#"
OB_VOCAB = "https://purl.imsglobal.org/spec/vc/ob/vocab.html#"

PERSON_CLAIMS: tuple[tuple[str, ...], ...] = (
    ("credentialSubject", "name"),
    ("credentialSubject", "birthDate"),
    ("credentialSubject", "identityDocument"),
)


@dataclass(frozen=True, slots=True)
class CredentialKind:
    """A credential kind the policy reads: its DCQL query id, type and claims."""

    query_id: str
    type: str
    type_iri: str
    claims: tuple[tuple[str, ...], ...]


#: Policy criterion kind -> the credential kind it reads.
KINDS: dict[str, CredentialKind] = {
    "degree": CredentialKind(
        "degree",
        DEGREE,
        TALENTPROOF_VOCAB + DEGREE,
        (
            ("credentialSubject", "degree", "level"),
            ("credentialSubject", "degree", "fieldOfStudy"),
            ("credentialSubject", "degree", "institution", "name"),
            ("credentialSubject", "degree", "awardDate"),
        ),
    ),
    "employment": CredentialKind(
        "employment",
        EMPLOYMENT,
        TALENTPROOF_VOCAB + EMPLOYMENT,
        (
            ("credentialSubject", "employment", "employer", "name"),
            ("credentialSubject", "employment", "startDate"),
            ("credentialSubject", "employment", "domains"),
        ),
    ),
    "badge": CredentialKind(
        "training",
        OPEN_BADGE,
        OB_VOCAB + OPEN_BADGE,
        (
            ("credentialSubject", "achievement", "name"),
            ("credentialSubject", "achievement", "achievementType"),
        ),
    ),
}

#: DCQL credential query id -> the credential type it asks for.
QUERY_TYPES: dict[str, str] = {k.query_id: k.type for k in KINDS.values()}

Option = tuple[str, ...]  # credential query ids, sorted


def _leaves(criteria: Iterable[Criterion]) -> list[Criterion]:
    out: list[Criterion] = []
    for c in criteria:
        if c.kind in ("any_of", "all_of"):
            out.extend(_leaves(c.children))
        else:
            out.append(c)
    return out


def _options(c: Criterion) -> list[Option]:
    """The combinations of credential query ids that can meet ``c`` (each sorted, no repeats)."""
    if c.kind == "any_of":
        found = [o for ch in c.children for o in _options(ch)]
    elif c.kind == "all_of":
        found = [
            tuple(sorted(set().union(*parts)))
            for parts in product(*(_options(ch) for ch in c.children))
        ]
    else:
        found = [(KINDS[c.kind].query_id,)]
    return list(dict.fromkeys(found))


def _credential_query(kind: CredentialKind, leaves: list[Criterion]) -> dict[str, Any]:
    claims: list[dict[str, Any]] = [{"path": list(p)} for p in (*PERSON_CLAIMS, *kind.claims)]
    if kind.type == DEGREE:
        lowest = min(DEGREE_LEVELS.index(c.min_level or DEGREE_LEVELS[0]) for c in leaves)
        for claim in claims:
            if claim["path"][-1] == "level":
                claim["values"] = list(DEGREE_LEVELS[lowest:])
    return {
        "id": kind.query_id,
        "format": "ldp_vc",
        "multiple": kind.type == EMPLOYMENT or len(leaves) > 1,
        "meta": {"type_values": [[VC_IRI, kind.type_iri], [VC, kind.type]]},
        "claims": claims,
    }


def dcql_query(profession: Profession) -> dict[str, Any]:
    """The DCQL query for ``profession`` (the module's text says how it is built)."""
    leaves = _leaves(profession.criteria)
    queries = [
        _credential_query(kind, [c for c in leaves if c.kind == name])
        for name, kind in KINDS.items()
        if any(c.kind == name for c in leaves)
    ]
    sets: list[tuple[Option, ...]] = list(
        dict.fromkeys(tuple(_options(c)) for c in profession.criteria)
    )
    return {
        "credentials": queries,
        "credential_sets": [
            {"options": [list(o) for o in options], "required": True} for options in sets
        ],
    }


__all__ = ["KINDS", "QUERY_TYPES", "CredentialKind", "dcql_query"]
