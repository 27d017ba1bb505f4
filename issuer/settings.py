"""Settings of the issuer service, read from the environment (prefix ``TALENTPROOF_ISSUER_``).

With no configuration at all the service keeps a SQLite database (WAL mode) and its secrets in
``./data``; PostgreSQL is used when ``TALENTPROOF_ISSUER_DATABASE_URL`` names it. Secrets (the
passphrase that encrypts signing keys at rest, the governor key used by operator commands, the
bootstrap operator token) come from the environment or from a file (``*_FILE`` variables).
"""

from __future__ import annotations

import functools
import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from talentproof.ledger.endpoints import parse_rpc_urls
from talentproof.ledger.nodes import dev_private_keys

from .errors import ConfigurationError

#: Anvil's well-known first development account (public test key, never for real chains).
ANVIL_DEV_GOVERNOR_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


class IssuerSettings(BaseSettings):
    """Everything the issuer service reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix="TALENTPROOF_ISSUER_",
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )

    env: str = Field(
        default="production",
        validation_alias=AliasChoices("TALENTPROOF_ISSUER_ENV", "TALENTPROOF_ENV"),
        description="'development' creates a local operator token file when none is configured.",
    )
    data_dir: Path = Field(
        default=Path("data"),
        description="Folder for the database and secrets.",
        validation_alias=AliasChoices("TALENTPROOF_ISSUER_DATA_DIR", "TALENTPROOF_DATA_DIR"),
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default sqlite:///<data_dir>/issuer.db"
    )
    public_url: str = Field(
        default="http://localhost:8000",
        description="Base URL under which the service is reached (names its did:web and status lists).",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    http_workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="HTTP worker processes of `issuer serve` (its --workers option overrides).",
    )

    # Chain
    rpc_url: str = Field(
        default="http://127.0.0.1:8545",
        description="JSON-RPC URL of the ledger; several nodes' URLs separated by commas: every "
        "ledger call fails over to the next when one does not answer, within rpc_timeout_s.",
        validation_alias=AliasChoices("TALENTPROOF_ISSUER_RPC_URL", "TALENTPROOF_RPC_URL"),
    )
    deployment_file: Path | None = Field(
        default=None,
        description="Deployment record JSON; default <data_dir>/deployment.json",
        validation_alias=AliasChoices(
            "TALENTPROOF_ISSUER_DEPLOYMENT_FILE", "TALENTPROOF_DEPLOYMENT"
        ),
    )
    governor_key: SecretStr | None = Field(
        default=None,
        description="Private key of a governor account (operator commands).",
        validation_alias=AliasChoices(
            "TALENTPROOF_ISSUER_GOVERNOR_KEY", "TALENTPROOF_OPERATOR_KEY"
        ),
    )
    governor_key_file: Path | None = None
    rpc_timeout_s: float = Field(
        default=5.0,
        gt=0.0,
        le=60.0,
        description="Timeout of one JSON-RPC request to the ledger, its failovers to the other "
        "RPC URLs included (no other retries): the longest any ledger call can block; HTTP "
        "requests never wait on the ledger longer than this.",
    )
    status_change_wait_s: float = Field(
        default=2.0,
        ge=0.0,
        le=60.0,
        description="How long a revoke/suspend/reinstate request waits for the worker (same "
        "process) to apply its queued change before answering 202 (capped at rpc_timeout_s).",
    )
    fund_accounts_wei: int = Field(
        default=10**19, description="Wei sent from the governor to a new institution's account."
    )

    # Secrets
    key_passphrase: SecretStr | None = Field(
        default=None, description="Passphrase that encrypts signing keys at rest."
    )
    key_passphrase_file: Path | None = None
    operator_token: SecretStr | None = Field(
        default=None, description="Bootstrap operator API key (compared hashed)."
    )
    operator_token_file: Path | None = None

    # Anchoring worker
    batch_max_leaves: int = Field(default=4096, ge=1, le=2**31 - 1)
    batch_max_wait_s: float = Field(default=2.0, ge=0.0)
    worker_poll_s: float = Field(default=0.2, gt=0.0)
    tx_timeout_s: float = Field(default=30.0, gt=0.0, description="Replace a tx not mined by then.")
    confirmations: int = Field(
        default=1,
        ge=1,
        le=10_000,
        description="Blocks (the anchor's own included) before an anchor is reported final "
        "(`anchored`); 1: final once mined (Anvil, QBFT/IBFT). Until then its credentials stay "
        "pending and a reorganisation or rollback that drops the anchor re-anchors them.",
    )
    head_stale_s: float = Field(
        default=0.0,
        ge=0.0,
        description="`/readyz` is degraded while the chain head seen by the anchoring worker has "
        "not moved for this long (a node cut off from its network, or signers no longer "
        "sealing: the node answers, nothing sent to it is mined). 0: off (Anvil mines only on "
        "demand); on a network with a block period, a few periods (for example 10 s at 1 s).",
    )
    status_max_head_age_s: float = Field(
        default=0.0,
        ge=0.0,
        description="Seconds the chain head's block time may lie behind the service's clock when "
        "a status list is signed or did.json's keys are read: an older head (a node stuck, far "
        "behind or serving an old state, which would miss later revocations of credentials or "
        "keys) gives no fresh list or document; the last good read serves up to 300 s, then 503 "
        "naming the head's age. 0: off (Anvil mines only on "
        "demand: an idle chain's head is old yet current); on a network with a block period, a "
        "few periods plus margin (for example 15 s at 1 s, 60 s at 12 s).",
    )
    run_worker: bool = Field(default=True, description="Run the anchoring worker inside `serve`.")
    lease_check_s: float = Field(
        default=1.0,
        gt=0.0,
        le=60.0,
        description="Anchoring lease (several replicas, issue 16.4): a replica that does not hold "
        "it tries to take it this often (the takeover delay after the holder dies), the holder "
        "re-checks it this often.",
    )
    lease_timeout_s: float = Field(
        default=5.0,
        ge=1.0,
        le=600.0,
        description="Anchoring lease on PostgreSQL: the database drops a holder whose host went "
        "silent after about this long (TCP keepalives), and a holder whose check does not answer "
        "within it gives the lease up.",
    )
    send_lock_timeout_s: float = Field(
        default=10.0,
        gt=0.0,
        le=600.0,
        description="Per-account send lock (several replicas or processes): how long a send from "
        "a chain account (the governor's onboarding, grants, key rotations; an anchor) waits "
        "for another sender of that account; longer answers 503 chain_account_busy.",
    )
    issue_fast_path: bool = Field(
        default=True,
        description="Answer well-formed POST /credentials requests without FastAPI's per-request "
        "machinery (`api.issuance.IssueFastPath`: same validation and handler as the route).",
    )
    worker_nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description="CPU priority (Linux nice) of the anchoring and bulk worker threads: "
        "background work yields the CPU to HTTP requests on a busy machine (0: same priority).",
    )

    # Bulk
    bulk_max_rows: int = 1_000_000
    bulk_chunk_rows: int = Field(
        default=8_192,
        ge=1,
        description="Rows signed, stored and anchored together (one Merkle batch per chunk).",
    )
    bulk_processes: int = Field(default=0, ge=0, description="Signing processes; 0 = CPU count.")
    bulk_wait_max_s: float = Field(
        default=30.0,
        ge=0.0,
        description="Longest long-poll of `GET /bulk-jobs/{id}?wait=<s>` (a larger wait is 422).",
    )

    # OpenID4VCI (docs/openid4vc.md): lifetimes of offers, access tokens and c_nonce values
    oid4vci_offer_ttl_s: int = Field(
        default=900, ge=1, description="A credential offer and its pre-authorized code (s)."
    )
    oid4vci_bulk_offer_ttl_s: int = Field(
        default=14 * 86400,
        ge=1,
        description="A bulk job's offers (s): long enough for offers mailed to applicants "
        "(the transaction code still allows 5 wrong tries, the code is still single use).",
    )
    oid4vci_token_ttl_s: int = Field(default=600, ge=1, description="An access token (s).")
    oid4vci_nonce_ttl_s: int = Field(default=300, ge=1, description="A c_nonce (s).")
    oid4vci_deferred_interval_s: int = Field(
        default=3,
        ge=1,
        description="The interval a wallet is told to wait between deferred credential requests.",
    )

    # Request limits (security): body sizes; rate limits by API key id or client address
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest request body (bytes) except bulk uploads."
    )
    bulk_max_upload_bytes: int = Field(
        default=1_073_741_824, ge=1024, description="Largest bulk upload (bytes), streamed to disk."
    )
    rate_limit_per_s: float = Field(
        default=2000.0,
        ge=0.0,
        description="Requests per second per API key (a guard against runaway clients, above "
        "the service's single-key throughput target of 600/s); 0 disables.",
    )
    rate_limit_burst: int = Field(default=4000, ge=1, description="Token-bucket size per API key.")
    rate_limit_anon_per_s: float = Field(
        default=100.0,
        ge=0.0,
        description="Requests per second per client address without an API key (health, "
        "metrics, did.json, status lists); 0 disables.",
    )
    rate_limit_anon_burst: int = Field(default=200, ge=1)
    rate_limit_failed_auth_per_s: float = Field(
        default=5.0,
        ge=0.0,
        description="Requests per second per client address whose credentials fail "
        "authentication (junk, revoked or guessed keys); 0 disables.",
    )
    rate_limit_failed_auth_burst: int = Field(default=100, ge=1)
    rate_limit_max_clients: int = Field(
        default=100_000,
        ge=1,
        description="Buckets kept per table (API keys, addresses); the least recently used "
        "one is dropped past it, so a flood of new keys or addresses cannot grow memory.",
    )
    trusted_proxies: int = Field(
        default=0,
        ge=0,
        le=8,
        description="Reverse proxies in front of the service whose X-Forwarded-For entries are "
        "trusted (read from the right) for the client address; 0: the TCP peer, header ignored.",
    )

    log_level: str = "INFO"
    log_json: bool = True

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("rpc_url")
    @classmethod
    def _rpc_urls(cls, value: str) -> str:
        return ",".join(parse_rpc_urls(value, name=""))  # the error's location names it

    @property
    def rpc_urls(self) -> tuple[str, ...]:
        """The ledger's JSON-RPC URLs, in preference order."""
        return tuple(self.rpc_url.split(","))

    # -- derived values -------------------------------------------------------------------
    @property
    def is_development(self) -> bool:
        """True only with ``TALENTPROOF_ENV=development`` (what `talentproof run` sets)."""
        return self.env == "development"

    def refuse_development_secrets(self) -> None:
        """Outside development, refuse the well-known development chain keys.

        The test mnemonic's accounts (Anvil's and Ganache's funded dev accounts, the registry's
        admin under `talentproof run`) are public: a governor key among them would let anyone
        act as the governing authority. Raises `ConfigurationError`.

        Also refuses a public URL whose host is an IP address (`refuse_ip_public_url`).
        """
        self.refuse_ip_public_url()
        if self.is_development:
            return
        key = self.secret("governor_key")
        if key is None:
            return
        normalized = key.strip().lower().removeprefix("0x")
        if normalized in {k.lower().removeprefix("0x") for k in dev_private_keys(20)}:
            raise ConfigurationError(
                "the governor key is one of the public development keys (test mnemonic); "
                "they are accepted only with TALENTPROOF_ENV=development: configure the "
                "governing authority's own key"
            )

    def refuse_ip_public_url(self) -> None:
        """Refuse a public URL whose host is an IP address: it names the institutions' did:web,
        and did:web allows only DNS host names. Development (``TALENTPROOF_ENV=development``)
        accepts a loopback address, written ``localhost`` in the DIDs. Raises
        `ConfigurationError` naming the expected form."""
        address = ip_host(self.public_url)
        if address is None or (self.is_development and address.is_loopback):
            return
        where = "" if self.is_development else " outside development"
        raise ConfigurationError(
            f"TALENTPROOF_ISSUER_PUBLIC_URL {self.public_url!r} names the IP address {address}"
            f"{where}: it names the institutions' did:web, which needs a DNS host name; use "
            "https://<host name>[:<port>][/<path>] (e.g. https://issuer.example.org), or "
            "http://localhost:<port> in development"
        )

    def resolved_database_url(self) -> str:
        """The database URL, SQLite in the data folder unless configured."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'issuer.db').resolve()}"

    def resolved_deployment_file(self) -> Path:
        """Where the deployment record is read from."""
        return self.deployment_file or (self.data_dir / "deployment.json")

    def secret(self, name: str) -> str | None:
        """A secret from its variable or its ``*_FILE`` variable (file content, stripped)."""
        value: SecretStr | None = getattr(self, name)
        path: Path | None = getattr(self, f"{name}_file")
        if value is not None:
            return value.get_secret_value()
        if path is not None:
            return path.read_text(encoding="utf-8").strip()
        return None


@functools.lru_cache(maxsize=1)
def ip_host(url: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address a URL names as its host, or None for a host name."""
    try:
        return ipaddress.ip_address(urlsplit(url).hostname or "")
    except ValueError:
        return None


def get_settings() -> IssuerSettings:
    """The process-wide settings (cached; tests build their own ``IssuerSettings``)."""
    return IssuerSettings()
