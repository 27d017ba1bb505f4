"""Hostile inputs for ``native_verify.offline`` (credential/native_verify.c) through its public
entry points: objects only Python code can build (a dict key whose ``__eq__`` raises or mutates
the dict while it is looked up) and a document changed while the C runs Python code (the key
function, or another thread while the GIL is released around libsodium). ``offline`` must never
return with an exception set, never read an object it does not hold, and answer None for
anything but exact JSON types: the Python checks then decide.

Each attack runs in its own interpreter under ``PYTHONMALLOC=debug`` (freed memory is
overwritten, so a read through a dangling pointer shows), so a crash fails the test instead of
the test run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

PRELUDE = """
import copy, sys
from talentproof.verifier import bulk
from talentproof.credential import native_verify
from tests.verifier.test_native_verify import BATCH

offline = bulk.native_offline()
assert offline is not None
good = copy.deepcopy(BATCH[0])
assert offline(copy.deepcopy(good)) is not None  # the issuer's form: answered in C


class Key:
    '''A dict key hashing as ``name`` does, whose comparison runs ``action``.'''

    def __init__(self, name, action):
        self.name, self.action = name, action

    def __hash__(self):
        return hash(self.name)

    def __eq__(self, other):
        return self.action()
"""


def _run(body: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONMALLOC": "debug", "PYTHONPATH": str(ROOT)}
    code = textwrap.dedent(PRELUDE) + textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-X", "dev", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _ok(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, (done.returncode, done.stdout[-2000:], done.stderr[-4000:])
    assert done.stdout.strip().endswith("OK"), (done.stdout[-2000:], done.stderr[-4000:])


@pytest.mark.parametrize("where", ["entry", "proof"])
def test_lookup_that_raises_is_not_swallowed(where: str) -> None:
    """A key comparing with an error, in the anchor entry or the signature proof (same size,
    so the member count passes): the lookup fails and offline used to answer None with the
    error still set (SystemError: 'returned a result with an exception set')."""
    done = _run(
        f"""
        def boom():
            raise ZeroDivisionError("compared")

        doc = copy.deepcopy(good)
        target = doc["proof"][1] if {where!r} == "entry" else doc["proof"][0]
        del target["type"]  # (same member count: the member check passes)
        target[Key("type", boom)] = 1
        try:
            answer = offline(doc)
        except SystemError as exc:
            print("SystemError", exc)
            sys.exit(3)
        except ZeroDivisionError:
            answer = "raised"
        assert answer is None, answer
        print("OK")
        """
    )
    _ok(done)


def test_lookup_that_mutates_the_document() -> None:
    """A key whose comparison empties the document while later members are looked up: the
    members read before are then freed (read through dangling pointers unless refused)."""
    done = _run(
        """
        doc = copy.deepcopy(good)
        state = {"armed": True}

        def wipe():
            if state["armed"]:
                state["armed"] = False
                doc["@context"] = ["x" * 50] * 3  # the list looked up before: freed
            return False

        typ = doc.pop("type")
        doc[Key("type", wipe)] = 0  # compared while "type" is looked up, after "@context"
        doc["type"] = typ
        for _ in range(3):
            answer = offline(doc)
            assert answer is None, answer
            state["armed"] = True
            doc["@context"] = copy.deepcopy(good["@context"])
        print("OK")
        """
    )
    _ok(done)


@pytest.mark.parametrize(
    "change",
    [
        'doc["proof"][1]["path"] = ["0x"]',  # the path list read after the call: freed
        'doc["proof"][1].clear()',  # the anchor entry's members: freed
        'doc["proof"] = None',  # the anchor entry itself: freed
        'doc["proof"][0]["verificationMethod"] = "did:x:" + "1" * 40',  # vm, after the call
        'doc["proof"][0]["created"] = "x" * 40',  # created, after the call
    ],
)
def test_document_changed_while_python_runs(change: str) -> None:
    """The key function (Python code: another thread may run meanwhile, as it may while the GIL
    is released around libsodium) changes the document: offline must answer from what it
    checked and holds, not read the objects it looked at before through borrowed pointers."""
    done = _run(
        f"""
        key_raw = bulk.raw_key_of
        state = {{}}

        def key_of(vm):
            raw = key_raw(vm)
            doc = state.pop("doc", None)
            if doc is not None:
                {change}
                import gc; gc.collect()
            return raw

        from nacl._sodium import ffi, lib
        from talentproof.credential import native
        address = int(ffi.cast("uintptr_t", ffi.addressof(lib, "crypto_sign_open")))
        native_verify.setup(address, native.jcs_digests, native.merkle_root, key_of)
        expected = offline(copy.deepcopy(good))
        assert expected is not None
        for _ in range(20):
            doc = copy.deepcopy(good)
            state["doc"] = doc
            answer = offline(doc)
            # what it checked before the change: the same answer as for the unchanged copy
            assert answer is None or (answer[1:] == expected[1:]), answer
        print("OK")
        """
    )
    _ok(done)


def test_a_signature_with_a_leading_zero_byte_is_answered_as_the_twin_does() -> None:
    """A valid signature whose first byte is 0 (base58 "z1..."): its leading '1' is that zero
    byte (base58-btc), so the C answers and with the twin's checks; with that '1' dropped or
    doubled both refuse it (63 or 65 bytes)."""
    from datetime import UTC, datetime, timedelta

    from tests.verifier.test_native_verify import SIGNED, _assert_same, _replaced, _resigned

    start = datetime(2026, 1, 1, tzinfo=UTC)
    for k in range(20000):
        created = (start + timedelta(seconds=k)).strftime("%Y-%m-%dT%H:%M:%SZ")
        doc = _resigned(SIGNED[0], {"created": created})
        value = doc["proof"][0]["proofValue"]
        if value.startswith("z1") and not value.startswith("z11"):
            break
    else:  # pragma: no cover - 1 in 256 signatures: not reached
        pytest.fail("no signature with a leading zero byte")
    texts = [
        json.dumps(doc).encode(),
        json.dumps(_replaced(doc, ("proof", 0, "proofValue"), "z" + value[2:])).encode(),
        json.dumps(_replaced(doc, ("proof", 0, "proofValue"), "z1" + value[1:])).encode(),
    ]
    assert _assert_same(texts) == 1


@pytest.mark.parametrize("address", ["-1", "2**64 + 1", "0", "True", "1.5"])
def test_setup_refuses_an_address_that_is_not_one(address: str) -> None:
    """setup()'s libsodium address: a negative number or one beyond 64 bits used to wrap
    silently (PyArg "K"), so the next answered credential called a wild address (segfault);
    every such value is refused naming what was expected, and the setup before is kept."""
    done = _run(
        f"""
        from talentproof.credential import native
        try:
            native_verify.setup({address}, native.jcs_digests, native.merkle_root, bulk.raw_key_of)
        except (TypeError, ValueError, OverflowError) as exc:
            assert "address" in str(exc), exc
        else:
            print("accepted")
        assert offline(copy.deepcopy(good)) is not None
        print("OK")
        """
    )
    _ok(done)


def test_generated_validly_signed_proof_forms_are_judged_as_the_twin_does() -> None:
    """600 seeded combinations of proof options and body changes, each validly signed (by the
    issuer, now and then by a stranger) and anchored anew, so that the C's own rules (exact
    members, @context prefix, created, key) decide whether it answers: the same checks 1-4 as
    the twin for every one, and a good share answered in C."""
    import random

    from talentproof.credential.keys import Ed25519SigningKey
    from tests.verifier.test_native_verify import SIGNED, STRANGER, _assert_same, _resigned

    issuer = Ed25519SigningKey.from_seed(bytes(range(32)))
    v2 = "https://www.w3.org/ns/credentials/v2"
    contexts = [[], [v2], v2, [v2, "https://example.org/x"], ["x"], [1], [{"a": 1}]]
    created = [
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00.123Z",
        "2026-01-01T00:00:00+08:00",
        "2026-01-01",
        "2026-01-01T24:00:00Z",
        "2026-01-01t00:00:00z",
        "x",
        5,
    ]
    methods = [
        issuer.public_key.verification_method,
        issuer.public_key.did_key,
        STRANGER.public_key.verification_method,
        "did:web:uni.example#" + issuer.public_key.multibase,
        5,
    ]
    extras = [{"expires": "2099-01-01T00:00:00Z"}, {"challenge": "c"}, {"id": "urn:x"}, {"n": 1}]
    bodies = [{"@context": [v2]}, {"type": ["VerifiableCredential"]}, {"@context": v2}]
    rng = random.Random(11)
    texts = []
    for _ in range(600):
        options: dict[str, Any] = {}
        if rng.random() < 0.3:
            options["@context"] = rng.choice(contexts)
        if rng.random() < 0.3:
            options["created"] = rng.choice(created)
        if rng.random() < 0.3:
            options["verificationMethod"] = rng.choice(methods)
        if rng.random() < 0.2:
            options.update(rng.choice(extras))
        remove = (
            (rng.choice(["created", "@context", "proofPurpose", "cryptosuite"]),)
            if rng.random() < 0.1
            else ()
        )
        body = rng.choice(bodies) if rng.random() < 0.2 else None
        key = STRANGER if rng.random() < 0.1 else issuer
        doc = _resigned(rng.choice(SIGNED), options, remove, body, key)
        texts.append(json.dumps(doc).encode())
    assert _assert_same(texts) > 100


def test_threads_changing_a_document_while_others_verify_it() -> None:
    """Three threads verify one document while a fourth keeps changing it (its path, its proof
    list, its verification method, its @context) for 2 s, thread switches as often as the
    interpreter allows: offline answers the issued form's own answer or None, never anything
    else, and never reads a freed object (before b07aa74: a segfault or an abort within 2 s,
    3 runs of 3, the GIL being released around libsodium and Python code run for the key)."""
    done = _run(
        """
        import threading, time
        sys.setswitchinterval(1e-6)
        expected = offline(copy.deepcopy(good))
        doc = copy.deepcopy(good)
        stop = time.monotonic() + 2
        counts = {"answered": 0, "none": 0, "wrong": 0}

        def reader():
            while time.monotonic() < stop:
                a = offline(doc)
                if a is None:
                    counts["none"] += 1
                elif a[1:] == expected[1:]:
                    counts["answered"] += 1
                else:
                    counts["wrong"] += 1

        def writer():
            i = 0
            while time.monotonic() < stop:
                i += 1
                m = i % 5
                if m == 0:
                    doc["proof"][1]["path"] = list(good["proof"][1]["path"])
                elif m == 1:
                    doc["proof"][1]["path"] = ["0x"]
                elif m == 2:
                    doc["proof"] = copy.deepcopy(good["proof"])
                elif m == 3:
                    doc["proof"][0]["verificationMethod"] = "did:x:" + str(i)
                else:
                    doc["proof"][0]["verificationMethod"] = good["proof"][0]["verificationMethod"]
                    doc["@context"] = list(good["@context"])

        threads = [threading.Thread(target=reader) for _ in range(3)]
        threads.append(threading.Thread(target=writer))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert counts["wrong"] == 0 and counts["answered"] > 0, counts
        print(counts, "OK")
        """
    )
    _ok(done)
