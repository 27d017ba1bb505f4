"""The SQL statements (SQLAlchemy Core) that more than one part of the store runs."""

from sqlalchemy import bindparam, select

from ..db import IdempotencyRecord, InstitutionRow, LedgerIssuerState, SigningKey, table_of

LEDGER_STATES = table_of(LedgerIssuerState)
SELECT_LEDGER_STATE = select(
    LEDGER_STATES.c.status, LEDGER_STATES.c.since_unix, LEDGER_STATES.c.checked_unix
).where(LEDGER_STATES.c.chain_issuer_id == bindparam("id"))


IDEM = table_of(IdempotencyRecord)
SELECT_IDEM = select(IDEM).where(
    IDEM.c.principal == bindparam("principal"), IDEM.c.key == bindparam("key")
)
INSERT_IDEM = IDEM.insert()
INST = table_of(InstitutionRow)
SELECT_INSTITUTION = select(
    INST.c.id,
    INST.c.slug,
    INST.c.name,
    INST.c.did,
    INST.c.credential_types,
    INST.c.chain_issuer_id,
).where(INST.c.id == bindparam("id"))
KEYS = table_of(SigningKey)
SELECT_ACTIVE_KEY_ID = (
    select(KEYS.c.id)
    .where(KEYS.c.institution_id == bindparam("inst"), KEYS.c.active.is_(True))
    .order_by(KEYS.c.id.desc())
    .limit(1)
)
