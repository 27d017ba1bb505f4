"""The verifier service's settings, read from the environment by pydantic-settings.

==============================  =======================  =========================================
variable                        default                  what
==============================  =======================  =========================================
``TALENTPROOF_RPC_URL``         ``http://127.0.0.1:8545``  the node (``TALENTPROOF_VERIFIER_RPC_URL``
                                                         also); several nodes' URLs separated by
                                                         commas: reads fail over between them
``TALENTPROOF_DEPLOYMENT``      ``data/deployment.json``   the trusted deployment record or registry
                                                         address (``TALENTPROOF_VERIFIER_TRUST`` also)
``TALENTPROOF_VERIFIER_KEY``    none                     the key that signs receipts
``TALENTPROOF_VERIFIER_DOMAIN``  ``talentproof-verifier``  the domain bound presentations must name
``..._POLICY``                  the bundled policy       a talent-list policy file
``..._MIN_CONFIRMATIONS``       1                        blocks an anchor needs (check 5)
``..._CHALLENGE_TTL``           300                      seconds a challenge stays open
``..._OID4VP_REQUEST_TTL``      300                      seconds a wallet (OpenID4VP) request stays open
``..._PUBLIC_URL``              the server's address     the service's public base URL (the wallet's
                                                         request and response URIs; never the Host
                                                         header)
``..._DATABASE_URL``            none (memory)            challenges and OpenID4VP requests shared by
                                                         replicas (``sqlite:///file``, PostgreSQL)
``..._OID4VP_CLAIM_S``          60                       a dead replica's claim on a request lapses
``..._VC_API_TOKENS_FILE``      none (open)              a file of SHA-256 token hashes: the VC API
                                                         (``/credentials/verify``,
                                                         ``/presentations/verify``) then needs
                                                         ``Authorization: Bearer <token>``
                                                         (`talentproof.verifier.vc_api_tokens`)
==============================  =======================  =========================================

The flood limits are :class:`~talentproof.verifier.limits.VerifierLimits` (its own
``TALENTPROOF_VERIFIER_*`` variables). A bad value raises
:class:`~talentproof.verifier.errors.SettingsError` naming the variable (a usage error).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, PrivateAttr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from talentproof.ledger.endpoints import parse_rpc_urls
from talentproof.verifier.errors import SettingsError, settings_problem
from talentproof.verifier.limits import ENV_PREFIX, VerifierLimits
from talentproof.verifier.vc_api_tokens import TokensFileError, VcApiTokens

#: The variable naming the VC API's tokens file.
VC_API_TOKENS_VARIABLE = ENV_PREFIX + "VC_API_TOKENS_FILE"


class ServiceSettings(BaseSettings):
    """How the service reaches the chain, what it trusts, and its limits."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )

    rpc_url: str = Field(
        "http://127.0.0.1:8545",
        validation_alias=AliasChoices("TALENTPROOF_VERIFIER_RPC_URL", "TALENTPROOF_RPC_URL"),
        description="The node's JSON-RPC URL, or several nodes' separated by commas (failover).",
    )
    trust: str = Field(
        "data/deployment.json",
        validation_alias=AliasChoices("TALENTPROOF_VERIFIER_TRUST", "TALENTPROOF_DEPLOYMENT"),
        description="A deployment record's path or a registry address.",
    )
    policy: str | None = None
    receipt_key: Path | None = Field(None, validation_alias="TALENTPROOF_VERIFIER_KEY")
    domain: str | None = Field(None, description="None: the engine's DEFAULT_DOMAIN.")
    min_confirmations: int = Field(1, ge=1)
    max_head_age_s: float = Field(
        0.0,
        ge=0,
        description="Seconds the chain head's block time may lie behind the service's clock: an "
        "older head (a stale or cut-off node, which would miss later revocations) makes the chain "
        "checks NOT VERIFIABLE, and with several RPC URLs the next one is read. 0: any age.",
    )
    challenge_ttl: float = Field(300.0, gt=0)
    oid4vp_request_ttl: float = Field(
        300.0, gt=0, description="Seconds an OpenID4VP request stays open."
    )
    public_url: str | None = Field(
        None,
        pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$",
        description="The service's public base URL (None: the server's own address).",
    )
    database_url: str | None = Field(
        None,
        pattern=r"^(sqlite:///[^?#]+|postgresql(\+psycopg)?://\S+)$",
        description="Several replicas (issue 16.4): the database (a SQLite file on one host, "
        "PostgreSQL for several) that keeps challenges and OpenID4VP requests, so any replica "
        "answers them; None: this process's memory.",
    )
    oid4vp_claim_s: float = Field(
        60.0,
        gt=0,
        description="With database_url: a request claimed by a replica that died before "
        "recording its verdict is open again after this many seconds.",
    )
    vc_api_tokens_file: Path | None = Field(
        None,
        description="A file of SHA-256 token hashes (`talentproof.verifier.vc_api_tokens`): "
        "the W3C VC API's routes then need 'Authorization: Bearer <token>'; None: they are "
        "open, as the page and /api/v1 always are. Read once, at start-up.",
    )
    limits: VerifierLimits = Field(default_factory=VerifierLimits, description="Flood limits.")
    _vc_api_tokens: VcApiTokens | None = PrivateAttr(None)

    @field_validator("rpc_url")
    @classmethod
    def _rpc_urls(cls, value: str) -> str:
        return ",".join(parse_rpc_urls(value, name=""))

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise SettingsError(settings_problem(exc, ENV_PREFIX)) from None
        if self.vc_api_tokens_file is not None:  # read here, once: a bad file fails start-up
            try:
                self._vc_api_tokens = VcApiTokens.load(self.vc_api_tokens_file)
            except TokensFileError as exc:
                raise SettingsError(f"{VC_API_TOKENS_VARIABLE}: {exc}") from None

    @property
    def vc_api_tokens(self) -> VcApiTokens | None:
        """The VC API's token hashes (None: the VC API is open)."""
        return self._vc_api_tokens


__all__ = ["VC_API_TOKENS_VARIABLE", "ServiceSettings"]
