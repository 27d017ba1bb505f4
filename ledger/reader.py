"""The ledger's reads for verifiers: JSON-RPC over one keep-alive connection per thread.

::

    reader = RegistryReader("http://127.0.0.1:8545", deployment.registry)
    verdict = reader.verify_credential(
        did_hash(issuer_did), root, credential_hash, signing_key, type_id("DegreeCredential")
    )
    verdict.anchor.issuer_id, verdict.block_number, verdict.block_hash
    verdicts = reader.verify_credentials([query, ...], as_of=0, block=reader.block_number())

A web3.py contract call costs milliseconds of Python; here one JSON-RPC batch
(``eth_getBlockByNumber`` and the view's ``eth_call`` at the same block) answers the view together
with the hash of the block it was read at. Many credentials are read through
``contracts/utils/VerificationBatch.sol`` (`verify_credentials`): the queries of one group (issuer
DID, root, key, type: one anchored batch) are sent together, and the node reads the group's
verdict once and, for each other credential of the group, only its status record (a credential
with a status is read in full). A query for a type whose
accreditation can be scoped to levels (``DegreeCredential``) also reads, in the same batch at the
same block, the issuer's window for each level-scoped type id (``DegreeCredential#level=...``)
against the same anchor, once per issuer and root: the verdict carries them as ``type_scopes``
(the verifier's check 6 counts a degree when its issuer held the whole type or that degree's
level when it anchored it). Transport and codec live in
`talentproof.ledger._internal`. Any transport or RPC failure raises `ChainUnavailable`; nothing
ever falls back to a default answer.

The reader's other reads are the ledger's shared ones (`_internal.views.RegistryViews`, as the
issuer's `RegistryLink` and the governance `RegistryClient` read them: ``anchor``, ``issuer``,
``signing_key``, ``credential_status``... over the reader's ``eth_call``); its head is decoded
by the one block-head decoder (`_internal.views.block_head`).
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from talentproof.credential.types import KINDS, scoped_types
from talentproof.ledger._internal.transport import HttpTransport, Transport
from talentproof.ledger._internal.verdict import (
    BATCH_ADDRESS,
    BATCH_SIZE,
    BatchCodec,
    Query,
    VerdictCodec,
)
from talentproof.ledger._internal.views import (
    RegistryViews,
    as_query,
    block_head,
    chain_id_answer,
    checksum_address,
    registry_abi,
)
from talentproof.ledger.artifacts import load_artifact
from talentproof.ledger.chain import did_hash, type_id
from talentproof.ledger.endpoints import RpcEndpoints, parse_rpc_urls
from talentproof.ledger.errors import ChainUnavailable, LedgerError
from talentproof.ledger.models import BlockHead, CredentialVerdict, StatusActor, TypeAccreditation

__all__ = ["Query", "RegistryReader", "did_hash", "type_id"]

#: type id -> (name, type id) of each of its level-scoped accreditations (kinds with levels only).
_SCOPES: dict[bytes, tuple[tuple[str, bytes], ...]] = {
    type_id(kind): tuple((name, type_id(name)) for name in scoped_types(kind))
    for kind in KINDS
    if scoped_types(kind)
}
_ZERO32 = bytes(32)


class RegistryReader(RegistryViews):
    """Read-only, low-latency access to the registry's views: the verification view's fast path
    (`verify_credential`, `verify_credentials`) and the shared typed reads (`RegistryViews`).

    Thread-safe: each thread gets its own keep-alive connection (`close` closes the calling
    thread's).

    Args:
        rpc_url: the node's HTTP(S) JSON-RPC URL; or several nodes' (comma-separated, or a
            sequence): the reads then fail over between them
            (`~talentproof.ledger.endpoints.RpcEndpoints`, kept in `endpoints`).
        registry_address: the registry contract address.
        timeout: socket timeout in seconds for each request.
        abi: the registry ABI; default from the compiled artifact.
        transport: builds one thread's connection to one URL from ``(rpc_url, timeout)``;
            default `~talentproof.ledger._internal.transport.HttpTransport`.
        batch_views: read many credentials through ``VerificationBatch`` calls (False: one
            ``eth_call`` per credential in the JSON-RPC batch; the benchmark compares both).
    """

    def __init__(
        self,
        rpc_url: str | Sequence[str],
        registry_address: str,
        *,
        timeout: float = 5.0,
        abi: Sequence[Mapping[str, Any]] | None = None,
        transport: Callable[[str, float], Transport] = HttpTransport,
        batch_views: bool = True,
    ) -> None:
        urls = parse_rpc_urls(rpc_url, name="")
        registry = checksum_address(registry_address, "registry address")
        #: with several URLs, their shared state (which is current, which are down); else None
        self.endpoints = RpcEndpoints(urls, timeout, connect=transport) if len(urls) > 1 else None
        self.rpc_url = ",".join(urls)
        self.registry = registry
        self.timeout = timeout
        self.batch_views = batch_views
        self.abi = registry_abi(abi)
        self._codec = VerdictCodec(self.abi.abi)
        batch = load_artifact("VerificationBatch")
        self._batch_codec = BatchCodec(batch.abi, batch.deployed_bytecode)
        self._new_transport = transport
        self._local = threading.local()
        self._ids = itertools.count(1)
        self._no_batch_call = False  # set once this node refused the VerificationBatch call

    # -- transport ----------------------------------------------------------------------------

    def _transport(self) -> Transport:
        if self.endpoints is not None:
            return self.endpoints.transport()
        t: Transport | None = getattr(self._local, "transport", None)
        if t is None:
            t = self._local.transport = self._new_transport(self.rpc_url, self.timeout)
        return t

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        if self.endpoints is not None:
            self.endpoints.close()
            return
        t = getattr(self._local, "transport", None)
        if t is not None:
            t.close()
            self._local.transport = None

    def __enter__(self) -> RegistryReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def where(self) -> str:
        """The endpoint that answered last (for messages)."""
        return self.endpoints.current if self.endpoints is not None else self.rpc_url

    def _request(self, method: str, params: list[Any]) -> Any:
        answer = self._transport().post(
            orjson.dumps(
                {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
            )
        )
        return self._result(answer, method)

    def _result(self, answer: Any, method: str) -> Any:
        if not isinstance(answer, dict):
            raise ChainUnavailable(f"{method}: malformed JSON-RPC answer from {self.where()}")
        if "error" in answer:
            err = answer["error"]
            decoded = None
            if isinstance(err, dict) and isinstance(err.get("data"), str):
                decoded = self.abi.errors.decode(err["data"], function=method)
            if decoded is not None:
                raise decoded
            raise ChainUnavailable(f"{method} failed on {self.where()}: {err}")
        if "result" not in answer:
            raise ChainUnavailable(f"{method}: JSON-RPC answer without result from {self.where()}")
        return answer["result"]

    def _answers(self, calls: Sequence[tuple[str, list[Any]]]) -> list[tuple[str, Any]]:
        """One JSON-RPC batch: each call's (method, raw answer object), in order."""
        ids = [next(self._ids) for _ in calls]
        answer = self._transport().post(
            orjson.dumps(
                [
                    {"jsonrpc": "2.0", "id": i, "method": m, "params": p}
                    for i, (m, p) in zip(ids, calls, strict=True)
                ]
            )
        )
        if not isinstance(answer, list):
            # a node without batch support answers one error object
            raise ChainUnavailable(f"JSON-RPC batch not supported by {self.where()}: {answer}")
        by_id = {a.get("id"): a for a in answer if isinstance(a, dict)}
        out = []
        for i, (method, _) in zip(ids, calls, strict=True):
            if i not in by_id:
                raise ChainUnavailable(
                    f"{method}: no answer in the JSON-RPC batch from {self.where()}"
                )
            out.append((method, by_id[i]))
        return out

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """The results of several JSON-RPC calls sent as one batch (`ChainUnavailable` or the
        registry's decoded error when one fails)."""
        return [self._result(a, m) for m, a in self._answers(calls)]

    # -- views --------------------------------------------------------------------------------

    def chain_id(self) -> int:
        """``eth_chainId``."""
        return chain_id_answer(self._request("eth_chainId", []), self.where())

    def chain_id_at(self, number: int) -> tuple[int, object]:
        """The chain id and the hash of block ``number`` asked in one request, so one endpoint
        answers both (``eth_chainId``, ``eth_getBlockByNumber``): a caller that read at a block
        whose hash it knows tells by the hash whether this chain id is that block's chain's (the
        hash as answered: a ``0x`` string, or anything else from a node that has no such block)."""
        chain_id, header = self.batch(
            [("eth_chainId", []), ("eth_getBlockByNumber", [hex(number), False])]
        )
        found = chain_id_answer(chain_id, self.where())
        return found, header.get("hash") if isinstance(header, dict) else None

    def block_number(self) -> int:
        """``eth_blockNumber``."""
        return int(self._request("eth_blockNumber", []), 16)

    def head(self) -> BlockHead:
        """The latest block's number, hash and time (``eth_getBlockByNumber``): what a verifier
        judges the node's freshness by."""
        header = self._request("eth_getBlockByNumber", ["latest", False])
        return block_head(header, self.where(), "the latest block")

    def code_present(self) -> bool:
        """True if there is contract code at the registry address."""
        code = self._request("eth_getCode", [self.registry, "latest"])
        return isinstance(code, str) and len(code) > 2

    def verify_credential(
        self,
        issuer_did_hash: bytes | str,
        root: bytes | str,
        credential_hash: bytes | str,
        signing_key: bytes | str,
        type_id: bytes | str,
        as_of: int = 0,
        block: int | str = "latest",
    ) -> CredentialVerdict:
        """The registry's verdict about one credential, with the block number and hash read at.

        `issuer_did_hash` is ``keccak256`` of the credential's issuer DID (`did_hash`)."""
        query = as_query(issuer_did_hash, root, credential_hash, signing_key, type_id)
        return self.verify_credentials([query], as_of, block)[0]

    def verify_credentials(
        self, queries: Sequence[Query], as_of: int = 0, block: int | str = "latest"
    ) -> list[CredentialVerdict]:
        """The verdicts about many credentials, all read at one block, in one JSON-RPC batch.

        Each query is the five 32-byte arguments of `verify_credential` before `as_of`. With more
        than one, the views are read through ``VerificationBatch`` (`BATCH_SIZE` views per
        ``eth_call``, its runtime code placed by a state override; the queries of one issuer DID,
        root, key and type sent together, so that the node reads their shared verdict once and
        each one's status record); a node that refuses it gets one
        ``eth_call`` per view from then on (same answers). At ``"latest"`` the read is retried when
        a block was mined between the calls of the batch.

        A query of a type with level scopes (``DegreeCredential``) gets its verdict's
        ``type_scopes``: the issuer's window of each level-scoped type id, read in the same batch
        against the same anchor (one view per issuer, root and level, whatever the number of
        credentials of that batch; up to 256 credentials and the windows of 16 issuers and roots
        take one ``eth_call``).
        """
        if not queries:
            return []
        full, scoped = _with_scopes(queries)
        for _ in range(5):
            try:
                verdicts = self._verify_at(full, int(as_of), block)
                verdicts = _scoped(verdicts, len(queries), scoped) if scoped else verdicts
                return self._with_suspension_reasons(queries, verdicts)
            except _Moved:
                if block != "latest":
                    raise
        raise ChainUnavailable(
            "verifyCredential: the chain head kept moving; could not pair the answer with its block"
        )

    def _with_suspension_reasons(
        self, queries: Sequence[Query], verdicts: list[CredentialVerdict]
    ) -> list[CredentialVerdict]:
        """``verdicts`` with ``credential_suspended_reason`` for each credential governance
        suspended (text for the officer only: the verdict is the view's either way)."""
        out = verdicts
        for i, v in enumerate(verdicts):
            if not (v.credential_suspended and v.credential_suspended_by == StatusActor.GOVERNANCE):
                continue
            reason = self._governance_suspension_reason(v, queries[i][2])
            if reason is not None:
                out = out if out is not verdicts else list(verdicts)
                out[i] = dataclasses.replace(v, credential_suspended_reason=reason)
        return out

    def _governance_suspension_reason(
        self, v: CredentialVerdict, credential_hash: bytes
    ) -> str | None:
        """The reason of the ``CredentialSuspendedByGovernance`` event that began the suspension
        in force (its block's time is the view's ``credential_suspended_since``), up to the block
        read; None when none is found or the node does not answer (one ``eth_getLogs`` and the
        candidate blocks' headers: a failing path, and rare)."""
        try:
            topics = self.abi.log_topics(
                ["CredentialSuspendedByGovernance"],
                issuerId=v.issuer_id,
                credentialHash=credential_hash,
            )
            logs = self._request(
                "eth_getLogs",
                [
                    {
                        "address": self.registry,
                        "fromBlock": "0x0",
                        "toBlock": hex(v.block_number),
                        "topics": topics,
                    }
                ],
            )
            numbers = ("blockNumber", "logIndex")  # 0x-hex in a raw answer, ints from web3
            logs = [{**log, **{k: int(log[k], 16) for k in numbers}} for log in logs]
            for event in reversed(self.abi.decode_logs(logs, self.registry)):
                header = self._request("eth_getBlockByNumber", [hex(event.block_number), False])
                if int(header["timestamp"], 16) == v.credential_suspended_since:
                    return str(event.args["reason"])
        except (LedgerError, ValueError, KeyError, TypeError):
            return None
        return None

    def _verify_at(
        self, queries: Sequence[Query], as_of: int, block: int | str
    ) -> list[CredentialVerdict]:
        tag = hex(block) if isinstance(block, int) else block
        raws: list[bytes] | None = None
        header: Any = None
        if self.batch_views and len(queries) > 1 and not self._no_batch_call:
            try:
                header, raws = self._batch_call_results(queries, as_of, tag)
            except _BatchCallRefused:
                self._no_batch_call = True  # this node: one call per credential from now on
        if raws is None:
            header, raws = self._per_call_results(queries, as_of, tag)
        if not isinstance(header, dict):
            raise ChainUnavailable(f"verifyCredential: block {tag} not found on {self.where()}")
        head = block_head(header, self.where(), f"block {tag}")
        number, block_hash = head.number, bytes.fromhex(head.hash[2:])
        # The credentials of one batch mostly get byte-identical answers (the verdict names the
        # batch, issuer, key, type and status, not the credential): each distinct answer is decoded
        # once, and equal bytes give the same (immutable) verdict.
        decoded: dict[bytes, CredentialVerdict] = {}
        out = []
        for data in raws:
            verdict = decoded.get(data)
            if verdict is None:
                if not data:
                    raise LedgerError(
                        f"verifyCredential returned no data: is the registry at {self.registry} on this chain?"
                    )
                verdict = self._codec.decode(data, block_hash)
                if verdict.block_number != number:
                    raise _Moved(number, verdict.block_number)
                decoded[data] = verdict
            out.append(verdict)
        return out

    def _per_call_results(
        self, queries: Sequence[Query], as_of: int, tag: str
    ) -> tuple[Any, list[bytes]]:
        """(block header, raw verdicts) with one ``eth_call`` of the view per query, in one batch."""
        calls: list[tuple[str, list[Any]]] = [("eth_getBlockByNumber", [tag, False])]
        to = self.registry
        for q in queries:
            calls.append(
                ("eth_call", [{"to": to, "data": "0x" + self._codec.encode(*q, as_of).hex()}, tag])
            )
        header, *results = self.batch(calls)
        return header, [_unhex(r, "verifyCredential") for r in results]

    def _batch_call_results(
        self, queries: Sequence[Query], as_of: int, tag: str
    ) -> tuple[Any, list[bytes]]:
        """(block header, raw verdicts) through ``VerificationBatch`` calls, all in one JSON-RPC batch.

        A JSON-RPC error answer to such a call (a node without state overrides in ``eth_call``, a
        revert) raises _BatchCallRefused; a transport failure stays ChainUnavailable.
        """
        codec = self._batch_codec
        order = _grouped(queries)
        sent = queries if order is None else [queries[i] for i in order]
        chunks = [sent[i : i + BATCH_SIZE] for i in range(0, len(sent), BATCH_SIZE)]
        calls: list[tuple[str, list[Any]]] = [("eth_getBlockByNumber", [tag, False])]
        for chunk in chunks:
            data = "0x" + codec.encode(self.registry, chunk, as_of).hex()
            calls.append(("eth_call", [{"to": BATCH_ADDRESS, "data": data}, tag, codec.override]))
        (method, head), *answers = self._answers(calls)
        header = self._result(head, method)
        raw: list[bytes] = []
        for (_, a), chunk in zip(answers, chunks, strict=True):
            if "error" in a or not isinstance(a.get("result"), str):
                raise _BatchCallRefused(
                    f"the node did not run the VerificationBatch call: {str(a)[:200]}"
                )
            raw.extend(codec.split(_unhex(a["result"], "verifyCredentials"), len(chunk)))
        if order is not None:
            in_order = [b""] * len(raw)
            for k, i in enumerate(order):
                in_order[i] = raw[k]
            raw = in_order
        return header, raw

    def eth_call(self, tx: dict[str, Any], block: int | str, label: str) -> bytes:
        """One ``eth_call`` of ``tx`` at ``block`` (the shared reads' transport, `RegistryViews`):
        its raw answer; a JSON-RPC error raises the registry's decoded error or
        `ChainUnavailable`."""
        tag = hex(block) if isinstance(block, int) else block
        call = {"to": tx["to"], "data": "0x" + bytes(tx["data"]).hex()}
        return _unhex(self._request("eth_call", [call, tag]), label)


def _grouped(queries: Sequence[Query]) -> list[int] | None:
    """The query indices with each group's (issuer DID, root, key, type) together, groups in order
    of first appearance, or None when they already are: ``VerificationBatch`` reads a group's
    verdict once for the credentials of the group that follow each other (any order gives the
    same answers)."""
    members: dict[tuple[bytes, bytes, bytes, bytes], list[int]] = {}
    last: tuple[bytes, bytes, bytes, bytes] | None = None
    adjacent = True
    for i, q in enumerate(queries):
        key = (q[0], q[1], q[3], q[4])
        if key != last:
            adjacent = adjacent and key not in members
            last = key
        members.setdefault(key, []).append(i)
    return None if adjacent else [i for indices in members.values() for i in indices]


def _with_scopes(
    queries: Sequence[Query],
) -> tuple[Sequence[Query], list[tuple[int, tuple[tuple[str, int], ...]]]]:
    """The queries followed by one per (issuer, root, level-scoped type id) they need, and for
    each query of a type with levels: its index and (scope name, index of its scope's query).
    The scope queries name no credential and no key: only their type window is used. Queries of
    one issuer, root and type share one (scope name, index) tuple (`_scoped` keys on it)."""
    scoped: list[tuple[int, tuple[tuple[str, int], ...]]] = []
    full: list[Query] | None = None
    index: dict[tuple[bytes, bytes, bytes], tuple[tuple[str, int], ...]] = {}
    for i, q in enumerate(queries):
        kind = q[4] if type(q[4]) is bytes else bytes(q[4])
        names = _SCOPES.get(kind)
        if names is None:
            continue
        if full is None:
            full = list(queries)
        key = (q[0], q[1], kind)
        at = index.get(key)
        if at is None:
            start = len(full)
            full.extend((q[0], q[1], _ZERO32, _ZERO32, tid) for _, tid in names)
            at = index[key] = tuple((name, start + k) for k, (name, _) in enumerate(names))
        scoped.append((i, at))
    return (queries if full is None else full), scoped


def _scoped(
    verdicts: list[CredentialVerdict],
    n: int,
    scoped: list[tuple[int, tuple[tuple[str, int], ...]]],
) -> list[CredentialVerdict]:
    """The first ``n`` verdicts, those of ``scoped`` queries with their ``type_scopes`` (equal
    verdicts with equal scopes stay one object, as `_verify_at` gives them)."""
    out = verdicts[:n]
    # keyed on the objects: equal verdicts are one object (`_verify_at`), and the queries of one
    # issuer, root and type share their scopes' tuple (`_with_scopes`); both live until return
    made: dict[tuple[int, int], CredentialVerdict] = {}
    for i, at in scoped:
        v = out[i]
        key = (id(v), id(at))
        done = made.get(key)
        if done is None:
            scopes = []
            for name, j in at:
                s = verdicts[j]
                if s.anchor != v.anchor:  # the same issuer and root at the same block: never
                    raise LedgerError(f"verifyCredential: the {name} read named another anchor")
                scopes.append(
                    TypeAccreditation(
                        name,
                        bool(s.type_granted),
                        int(s.type_valid_from),
                        int(s.type_valid_until),
                        bool(s.type_accredited_at_anchor),
                    )
                )
            done = made[key] = dataclasses.replace(v, type_scopes=tuple(scopes))
        out[i] = done
    return out


class _Moved(LedgerError):
    def __init__(self, header: int, answered: int) -> None:
        super().__init__(f"node answered block {answered} for a call pinned at {header}")


class _BatchCallRefused(LedgerError):
    """The node did not run the VerificationBatch call (e.g. no state overrides in ``eth_call``)."""


def _unhex(text: Any, what: str) -> bytes:
    try:
        return bytes.fromhex(str(text).removeprefix("0x"))
    except ValueError:
        raise LedgerError(f"{what} answered {str(text)[:80]!r}: expected hex data") from None
