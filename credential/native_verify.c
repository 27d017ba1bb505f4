/*
 * talentproof.credential.native_verify: checks 1, 3 and 4 of one plain anchored credential in
 * one C call (issue 17.3, the verifying side of a folder).
 *
 * Why C, and what it replaces: `verifier.engine.Verifier.prepare_items` (checks 1, 3 and 4 of a
 * folder file through verifier.bulk.prepare_files; `bulk.NATIVE` the switch), the twin that
 * decides every file this declines: checks 1, 3, 4 in 72.3 against 124.2 us a credential
 * (bench/verifier_perf.py folder C on/off; bench/results.md 2026-12-07 11:48-12:16,
 * docs/architecture.md "The C fast paths"). Differential tests:
 * tests/verifier/test_native_verify.py, tests/verifier/test_native_verify_hostile.py.
 *
 * offline(document) -> (credential, chainId, registry, merkleRoot, leafIndex, treeSize, path,
 *                       key, verificationMethod, created, credentialHash) or None
 *
 * (Also check 2's schema for the plain form, `form_kind`, `validation.validate_credential`'s C
 * twin: described where it is defined below; tests/credential/test_native_schema_form.py.)
 *
 * A strict recognizer: it answers only for a document of exactly the shape TalentProof's issuer
 * writes, whose checks 1 (anchor split), 3 (eddsa-jcs-2022 signature) and 4 (Merkle inclusion)
 * all pass, and None for anything else: the Python checks (verifier/checks.py: parse,
 * signature, inclusion, through engine.Verifier.prepare_many) then decide, unchanged. What it
 * answers is what those checks learn when they pass: the credential without its anchor proof
 * (checks.parse's copy: the same members in the same order, "proof" the signature proof), the
 * anchor proof's fields (anchor._parse_entry's AnchorProof), the signing key (32 bytes), the
 * verification method, the proof's created text (still to be parsed by the caller, as
 * integrity._checked_proof does) and the credential hash.
 *
 * What it accepts (every test below is the Python one, restricted to exact types):
 * (Every dict it reads is exact with exact str keys, the document, the proof and the entry.)
 *   document: an exact dict holding "@context" (so inputs.not_a_document answers None), a
 *     "type" that is an exact list of exact str none of which is "VerifiablePresentation"
 *     (engine.Item.is_presentation False), and "proof": an exact list of two exact dicts,
 *     [signature proof, anchor entry];
 *   the anchor entry (anchor._parse_entry): exactly the 8 members type "TalentProofAnchor",
 *     proofPurpose "assertionMethod", chainId an exact int in 1..2**64-1, registry "0x" + 40 hex
 *     digits, merkleRoot "0x" + 64 hex digits, treeSize an exact int in 1..2**32-1, leafIndex an
 *     exact int in 0..treeSize-1, path an exact list of at most 32 "0x" + 64 hex digits (every
 *     text an exact str);
 *   the signature proof (integrity._checked_proof with no challenge, domain or key given):
 *     exactly the 7 members type "DataIntegrityProof", cryptosuite "eddsa-jcs-2022",
 *     proofPurpose "assertionMethod", created (an exact str), verificationMethod (an exact
 *     str the caller's key function resolves to a 32-byte key, as
 *     keys.resolve_verification_method does), @context (an exact list of exact str that starts
 *     the document's @context, itself an exact list of exact str) and proofValue: "z" + base58
 *     decoding to exactly 64 bytes whose scalar S (the last 32, little-endian) is below L;
 *   the signature: libsodium's crypto_sign_open (the one keys.Ed25519PublicKey.verify calls
 *     through PyNaCl) of signature || hashData with that key answers 0, hashData and the
 *     credential hash being native.jcs_digests(credential, proof) (None: declined);
 *   the inclusion: native.merkle_root(credential hash, leafIndex, treeSize, path) answers the
 *     anchor's merkleRoot (None or another root: declined).
 * The functions it calls (libsodium's crypto_sign_open, native.jcs_digests, native.merkle_root
 * and the key function) are given once by setup(). tests/verifier/test_native_verify.py compares
 * the folder's checks with it on and off on issued credentials and their mutations.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "native_patterns.h" /* pattern_ok, code_points (check 2's string patterns) */

typedef int (*sign_open_fn)(unsigned char *m, unsigned long long *mlen, const unsigned char *sm,
                            unsigned long long smlen, const unsigned char *pk);

static sign_open_fn sign_open = NULL;
static PyObject *jcs_digests = NULL; /* native.jcs_digests */
static PyObject *merkle_root = NULL; /* native.merkle_root */
static PyObject *key_of = NULL;      /* verification method -> 32-byte key or None */

/* interned member names and values */
static PyObject *s_context, *s_type, *s_proof, *s_cryptosuite, *s_created, *s_vm, *s_purpose,
    *s_value, *s_chain, *s_registry, *s_root, *s_leaf, *s_size, *s_path;

#define NO 0
#define YES 1

/* d[name] if it is there (borrowed), else NULL; d a plain_dict (below): no error, no Python code */
static PyObject *member(PyObject *d, PyObject *name) { return PyDict_GetItemWithError(d, name); }

/* an exact str equal to the ASCII text */
static int is_text(PyObject *o, const char *text) {
    if (o == NULL || !PyUnicode_CheckExact(o)) return 0;
    return PyUnicode_CompareWithASCIIString(o, text) == 0;
}

/* an exact str that is an ASCII "0x" followed by n hex digits (either case) */
static int is_hex(PyObject *o, Py_ssize_t n) {
    if (o == NULL || !PyUnicode_CheckExact(o) || !PyUnicode_IS_ASCII(o)) return 0;
    if (PyUnicode_GET_LENGTH(o) != n + 2) return 0;
    const unsigned char *s = PyUnicode_1BYTE_DATA(o);
    if (s[0] != '0' || s[1] != 'x') return 0;
    for (Py_ssize_t i = 2; i < n + 2; i++) {
        unsigned char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return 0;
    }
    return 1;
}

static int nibble(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return c - 'A' + 10;
}

/* the 32 bytes of a checked is_hex(o, 64) text */
static void hash_raw(PyObject *o, unsigned char out[32]) {
    const unsigned char *s = PyUnicode_1BYTE_DATA(o) + 2;
    for (int i = 0; i < 32; i++) out[i] = (unsigned char)(nibble(s[2 * i]) << 4 | nibble(s[2 * i + 1]));
}

/* an exact int in lo..hi (lo >= 0), its value in *out */
static int int_in(PyObject *o, unsigned long long lo, unsigned long long hi,
                  unsigned long long *out) {
    if (o == NULL || !PyLong_CheckExact(o)) return 0;
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (v == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    if (overflow > 0) { /* beyond long long: only chainId may go that far (< 2**64) */
        unsigned long long u = PyLong_AsUnsignedLongLong(o);
        if (u == (unsigned long long)-1 && PyErr_Occurred()) {
            PyErr_Clear();
            return 0;
        }
        if (u < lo || u > hi) return 0;
        *out = u;
        return 1;
    }
    if (overflow < 0 || v < 0) return 0;
    if ((unsigned long long)v < lo || (unsigned long long)v > hi) return 0;
    *out = (unsigned long long)v;
    return 1;
}

/* an exact list of exact str */
static int str_list(PyObject *o) {
    if (o == NULL || !PyList_CheckExact(o)) return 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(o); i++)
        if (!PyUnicode_CheckExact(PyList_GET_ITEM(o, i))) return 0;
    return 1;
}

/* base58-btc (integrity's b58decode) of an ASCII text into exactly 64 bytes; 0 when the text
 * is not base58 or does not decode to 64 bytes. The value is accumulated five digits at a time
 * (58**5 < 2**32) into 32-bit limbs, big-endian. */
#define LIMBS 24 /* 96 bytes: any value beyond is refused */
static int b58_64(const unsigned char *s, Py_ssize_t n, unsigned char out[64]) {
    static signed char map[256];
    static int ready = 0;
    if (!ready) {
        const char *alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
        memset(map, -1, sizeof map);
        for (int i = 0; i < 58; i++) map[(unsigned char)alphabet[i]] = (signed char)i;
        ready = 1;
    }
    if (n > 120) return 0;
    Py_ssize_t pad = 0;
    while (pad < n && s[pad] == '1') pad++;
    uint32_t limb[LIMBS];
    memset(limb, 0, sizeof limb);
    for (Py_ssize_t i = 0; i < n;) {
        uint64_t mult = 1, add = 0;
        for (int k = 0; k < 5 && i < n; k++, i++) {
            int d = map[s[i]];
            if (d < 0) return 0;
            mult *= 58;
            add = add * 58 + (uint64_t)d;
        }
        uint64_t carry = add;
        for (int j = LIMBS - 1; j >= 0; j--) {
            uint64_t t = (uint64_t)limb[j] * mult + carry;
            limb[j] = (uint32_t)t;
            carry = t >> 32;
        }
        if (carry) return 0; /* beyond 96 bytes */
    }
    unsigned char b[4 * LIMBS]; /* the value, big-endian */
    for (int j = 0; j < LIMBS; j++) {
        b[4 * j] = (unsigned char)(limb[j] >> 24);
        b[4 * j + 1] = (unsigned char)(limb[j] >> 16);
        b[4 * j + 2] = (unsigned char)(limb[j] >> 8);
        b[4 * j + 3] = (unsigned char)limb[j];
    }
    int first = 0; /* the value's minimal big-endian bytes start here */
    while (first < (int)sizeof b && b[first] == 0) first++;
    Py_ssize_t length = pad + ((int)sizeof b - first);
    if (length != 64) return 0;
    memset(out, 0, (size_t)pad);
    memcpy(out + pad, b + first, sizeof b - (size_t)first);
    return 1;
}

/* the signature's scalar S (little-endian, bytes 32..63) is below the group order L */
static int canonical_s(const unsigned char sig[64]) {
    static const unsigned char L[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                                        0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                                        0,    0,    0,    0,    0,    0,    0,    0,
                                        0,    0,    0,    0,    0,    0,    0,    0x10};
    for (int i = 31; i >= 0; i--) {
        if (sig[32 + i] < L[i]) return 1;
        if (sig[32 + i] > L[i]) return 0;
    }
    return 0; /* S == L */
}

/* an exact dict whose every key is an exact str: looking a name up in it then runs no Python
 * code and cannot fail (a key of another type could compare by any code, raise, or change the
 * dict and free what was read from it before) */
static int plain_dict(PyObject *d) {
    if (d == NULL || !PyDict_CheckExact(d)) return 0;
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(d, &pos, &key, &value))
        if (!PyUnicode_CheckExact(key)) return 0;
    return 1;
}

/* the anchor entry of exactly the issuer's form (a plain_dict); its fields in the out
 * parameters (borrowed), the root and the path decoded into root_raw and path_raw */
static int anchor_ok(PyObject *e, PyObject **chain_obj, PyObject **registry, PyObject **leaf_obj,
                     PyObject **size_obj, unsigned char root_raw[32],
                     unsigned char path_raw[32][32], Py_ssize_t *path_len) {
    unsigned long long chain, leaf, size;
    if (PyDict_GET_SIZE(e) != 8) return NO;
    if (!is_text(member(e, s_type), "TalentProofAnchor")) return NO;
    if (!is_text(member(e, s_purpose), "assertionMethod")) return NO;
    PyObject *c = member(e, s_chain);
    if (!int_in(c, 1, 0xffffffffffffffffULL, &chain)) return NO;
    PyObject *reg = member(e, s_registry);
    if (!is_hex(reg, 40)) return NO;
    PyObject *r = member(e, s_root);
    if (!is_hex(r, 64)) return NO;
    PyObject *sz = member(e, s_size);
    if (!int_in(sz, 1, 4294967295ULL, &size)) return NO;
    PyObject *lf = member(e, s_leaf);
    if (!int_in(lf, 0, size - 1, &leaf)) return NO;
    PyObject *p = member(e, s_path);
    if (p == NULL || !PyList_CheckExact(p) || PyList_GET_SIZE(p) > 32) return NO;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(p); i++)
        if (!is_hex(PyList_GET_ITEM(p, i), 64)) return NO;
    hash_raw(r, root_raw);
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(p); i++) hash_raw(PyList_GET_ITEM(p, i), path_raw[i]);
    *path_len = PyList_GET_SIZE(p);
    *chain_obj = c;
    *registry = reg;
    *leaf_obj = lf;
    *size_obj = sz;
    return YES;
}

/* (what offline() reads of the document before its answer, all of it owned or copied: the
 * document may change whenever Python code runs - the key function, a collection run by an
 * allocation - or another thread runs - while the GIL is released around libsodium) */
typedef struct {
    PyObject *proof, *created, *registry, *chain, *leaf, *size; /* new references */
    unsigned char root[32], path[32][32], signed_data[128];
    Py_ssize_t path_len;
} Checked;

/* checks 1 and 3's structure of ``doc`` (no Python code runs, nothing is allocated): YES with
 * ``c`` filled (its references new), NO. ``vm``: the verification method the key was resolved
 * for, which the proof must still name. */
static int structure_ok(PyObject *doc, PyObject *vm, Checked *c) {
    if (!plain_dict(doc)) return NO;
    /* the input: a credential (inputs.not_a_document: "@context"; not a presentation) */
    PyObject *ctx = member(doc, s_context);
    PyObject *types = member(doc, s_type);
    PyObject *proofs = member(doc, s_proof);
    if (!str_list(ctx) || !str_list(types)) return NO;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(types); i++)
        if (is_text(PyList_GET_ITEM(types, i), "VerifiablePresentation")) return NO;
    /* check 1: [signature proof, anchor entry] */
    if (proofs == NULL || !PyList_CheckExact(proofs) || PyList_GET_SIZE(proofs) != 2) return NO;
    PyObject *proof = PyList_GET_ITEM(proofs, 0), *entry = PyList_GET_ITEM(proofs, 1);
    if (!plain_dict(proof) || !plain_dict(entry)) return NO;
    PyObject *chain, *registry, *leaf, *size;
    if (!anchor_ok(entry, &chain, &registry, &leaf, &size, c->root, c->path, &c->path_len))
        return NO;
    /* check 3's proof: exactly the issuer's 7 members */
    if (PyDict_GET_SIZE(proof) != 7) return NO;
    if (!is_text(member(proof, s_type), "DataIntegrityProof")) return NO;
    if (!is_text(member(proof, s_cryptosuite), "eddsa-jcs-2022")) return NO;
    if (!is_text(member(proof, s_purpose), "assertionMethod")) return NO;
    PyObject *created = member(proof, s_created);
    PyObject *pctx = member(proof, s_context);
    PyObject *value = member(proof, s_value);
    if (created == NULL || !PyUnicode_CheckExact(created)) return NO;
    if (member(proof, s_vm) != vm) return NO; /* (changed since the key was resolved) */
    if (!str_list(pctx) || PyList_GET_SIZE(pctx) > PyList_GET_SIZE(ctx)) return NO;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(pctx); i++) {
        /* (exact str both: PyUnicode_Compare cannot fail) */
        if (PyUnicode_Compare(PyList_GET_ITEM(pctx, i), PyList_GET_ITEM(ctx, i)) != 0) return NO;
    }
    if (value == NULL || !PyUnicode_CheckExact(value) || !PyUnicode_IS_ASCII(value)) return NO;
    const unsigned char *text = PyUnicode_1BYTE_DATA(value);
    Py_ssize_t text_len = PyUnicode_GET_LENGTH(value);
    if (text_len < 1 || text[0] != 'z' || !b58_64(text + 1, text_len - 1, c->signed_data))
        return NO;
    if (!canonical_s(c->signed_data)) return NO;
    c->proof = Py_NewRef(proof);
    c->created = Py_NewRef(created);
    c->registry = Py_NewRef(registry);
    c->chain = Py_NewRef(chain);
    c->leaf = Py_NewRef(leaf);
    c->size = Py_NewRef(size);
    return YES;
}

/* the verification method of a document that may be of the issuer's form, or NULL (no error) */
static PyObject *method_of(PyObject *doc) {
    if (!plain_dict(doc)) return NULL;
    PyObject *proofs = member(doc, s_proof);
    if (proofs == NULL || !PyList_CheckExact(proofs) || PyList_GET_SIZE(proofs) != 2) return NULL;
    PyObject *proof = PyList_GET_ITEM(proofs, 0);
    if (!plain_dict(proof)) return NULL;
    PyObject *vm = member(proof, s_vm);
    return vm != NULL && PyUnicode_CheckExact(vm) ? vm : NULL;
}

static PyObject *offline(PyObject *self, PyObject *doc) {
    if (sign_open == NULL || jcs_digests == NULL || merkle_root == NULL || key_of == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "native_verify.offline: setup() was not called");
        return NULL;
    }
    /* the key first: the key function is Python code, after which nothing read before is
     * trusted (the document is then read again from the start) */
    PyObject *vm = method_of(doc);
    if (vm == NULL) Py_RETURN_NONE;
    Py_INCREF(vm);
    PyObject *key = PyObject_CallOneArg(key_of, vm);
    if (key == NULL) {
        Py_DECREF(vm);
        return NULL;
    }
    Checked c = {NULL, NULL, NULL, NULL, NULL, NULL};
    PyObject *credential = NULL, *digests = NULL, *root = NULL, *path = NULL, *computed = NULL;
    PyObject *out = NULL;
    if (!PyBytes_CheckExact(key) || PyBytes_GET_SIZE(key) != 32) goto declined;
    if (!structure_ok(doc, vm, &c)) goto declined;
    /* From here on only c, vm, key and this call's own objects are read. */
    /* the credential without its anchor proof: checks.parse's copy */
    credential = PyDict_Copy(doc);
    if (credential == NULL || PyDict_SetItem(credential, s_proof, c.proof) < 0) goto done;
    PyObject *args[2] = {credential, c.proof};
    digests = PyObject_Vectorcall(jcs_digests, args, 2, NULL);
    if (digests == NULL) goto done;
    if (!PyTuple_CheckExact(digests) || PyTuple_GET_SIZE(digests) != 2) goto declined;
    PyObject *data = PyTuple_GET_ITEM(digests, 0), *chash = PyTuple_GET_ITEM(digests, 1);
    if (!PyBytes_CheckExact(data) || PyBytes_GET_SIZE(data) != 64) goto declined;
    if (!PyBytes_CheckExact(chash) || PyBytes_GET_SIZE(chash) != 32) goto declined;
    memcpy(c.signed_data + 64, PyBytes_AS_STRING(data), 64);
    unsigned char pk[32], opened[128];
    memcpy(pk, PyBytes_AS_STRING(key), 32);
    unsigned long long opened_len = 0;
    sign_open_fn open_fn = sign_open; /* (read under the GIL: setup() may change it) */
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = open_fn(opened, &opened_len, c.signed_data, 128, pk);
    Py_END_ALLOW_THREADS
    if (rc != 0) goto declined;
    /* check 4 */
    root = PyBytes_FromStringAndSize((const char *)c.root, 32);
    if (root == NULL) goto done;
    path = PyTuple_New(c.path_len);
    if (path == NULL) goto done;
    for (Py_ssize_t i = 0; i < c.path_len; i++) {
        PyObject *h = PyBytes_FromStringAndSize((const char *)c.path[i], 32);
        if (h == NULL) goto done;
        PyTuple_SET_ITEM(path, i, h);
    }
    PyObject *margs[4] = {chash, c.leaf, c.size, path};
    computed = PyObject_Vectorcall(merkle_root, margs, 4, NULL);
    if (computed == NULL) goto done;
    if (!PyBytes_CheckExact(computed) || PyBytes_GET_SIZE(computed) != 32 ||
        memcmp(PyBytes_AS_STRING(computed), c.root, 32) != 0)
        goto declined;
    out = PyTuple_Pack(11, credential, c.chain, c.registry, root, c.leaf, c.size, path, key, vm,
                       c.created, chash);
    goto done;
declined:
    out = Py_NewRef(Py_None);
done:
    Py_DECREF(vm);
    Py_DECREF(key);
    Py_XDECREF(c.proof);
    Py_XDECREF(c.created);
    Py_XDECREF(c.registry);
    Py_XDECREF(c.chain);
    Py_XDECREF(c.leaf);
    Py_XDECREF(c.size);
    Py_XDECREF(credential);
    Py_XDECREF(digests);
    Py_XDECREF(root);
    Py_XDECREF(path);
    Py_XDECREF(computed);
    return out;
}

/* ---- a folder file's bytes: parsed for exactly the issuer's text form, then offline() --------- */

/* from_bytes(data) -> offline()'s answer or None: `inputs.item_from_bytes` (JSON parse, the
 * duplicate-key and lone-surrogate refusals, `not_a_document`) and then offline() of the parsed
 * document, in one call, for the one text form this parser reads. It declines (None: the caller
 * then gives the same bytes to item_from_bytes and the Python path decides) on any byte it does
 * not read exactly as json.loads does for a text the verifier accepts:
 *   the text: optional JSON whitespace (space, tab, LF, CR), one object, optional JSON
 *     whitespace, the end (no byte-order mark, no other leading or trailing byte);
 *   values: objects, arrays, strings and non-negative integers of at most 15 digits without a
 *     leading zero, fraction or exponent (no true, false, null, no minus sign), nested at most
 *     FILE_DEPTH levels;
 *   strings and keys: no byte below 0x20, valid UTF-8 (Python's strict decoder: no encoded
 *     surrogate, no overlong form), JSON's escapes read as json.loads reads them (a surrogate
 *     escape only as a high one followed by an escaped low one: a lone one is declined, as
 *     parse_json refuses it);
 *   objects: no key given twice (json.loads through jsonread.loads refuses it);
 *   the top level (inputs.not_a_document, restricted): "@context" present (offline() requires
 *     it), none of the secret members private_key_form looks for (secretKeyMultibase,
 *     privateKeyMultibase, privateKeyHex, privateKeyJwk, "d", "keys"), no top-level text holding
 *     an access token prefix (tpk_, tpoat_, tpv_: access_token_form's).
 * The caller checks the size limit (limits.max_document_bytes) and the picture suffixes before.
 * tests/verifier/test_native_file_bytes.py compares it with the Python path on generated and
 * hostile texts. */
#define FILE_DEPTH 32

typedef struct {
    const unsigned char *s, *end;
} Scan;

static void skip_ws(Scan *p) {
    while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r'))
        p->s++;
}

static int hex4(const unsigned char *s, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return 0;
    }
    *out = v;
    return 1;
}

/* the text of a string holding escapes, start..end (between its quotes, no control byte), as
 * json.loads reads it: the eight one-letter escapes and \uXXXX, a surrogate only as a high one
 * followed by an escaped low one (a lone one: NULL, declined: parse_json refuses it); the
 * unescaped bytes must be UTF-8 (Python's strict decoder) */
static PyObject *unescaped(const unsigned char *start, const unsigned char *end) {
    unsigned char *buf = PyMem_Malloc((size_t)(end - start) + 1), *w = buf;
    if (buf == NULL) return NULL;
    const unsigned char *s = start;
    while (s < end) {
        if (*s != '\\') {
            *w++ = *s++;
            continue;
        }
        if (end - s < 2) goto no;
        unsigned char e = s[1];
        s += 2;
        switch (e) {
        case '"': *w++ = '"'; continue;
        case '\\': *w++ = '\\'; continue;
        case '/': *w++ = '/'; continue;
        case 'b': *w++ = '\b'; continue;
        case 'f': *w++ = '\f'; continue;
        case 'n': *w++ = '\n'; continue;
        case 'r': *w++ = '\r'; continue;
        case 't': *w++ = '\t'; continue;
        case 'u': break;
        default: goto no;
        }
        unsigned cp, low;
        if (end - s < 4 || !hex4(s, &cp)) goto no;
        s += 4;
        if (cp >= 0xDC00 && cp <= 0xDFFF) goto no; /* a lone low surrogate */
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (end - s < 6 || s[0] != '\\' || s[1] != 'u' || !hex4(s + 2, &low) ||
                low < 0xDC00 || low > 0xDFFF)
                goto no; /* a lone high surrogate */
            s += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        if (cp < 0x80) {
            *w++ = (unsigned char)cp;
        } else if (cp < 0x800) {
            *w++ = (unsigned char)(0xC0 | cp >> 6);
            *w++ = (unsigned char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            *w++ = (unsigned char)(0xE0 | cp >> 12);
            *w++ = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
            *w++ = (unsigned char)(0x80 | (cp & 0x3F));
        } else {
            *w++ = (unsigned char)(0xF0 | cp >> 18);
            *w++ = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
            *w++ = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
            *w++ = (unsigned char)(0x80 | (cp & 0x3F));
        }
    }
    PyObject *o = PyUnicode_DecodeUTF8((const char *)buf, w - buf, "strict");
    if (o == NULL) PyErr_Clear();
    PyMem_Free(buf);
    return o;
no:
    PyMem_Free(buf);
    return NULL;
}

/* a string at p->s (its opening quote): a new str, or NULL declined (no error set) */
static PyObject *scan_string(Scan *p) {
    const unsigned char *start = ++p->s;
    int ascii = 1, escaped = 0;
    while (p->s < p->end) {
        unsigned char c = *p->s;
        if (c == '"') break;
        if (c < 0x20) return NULL;
        if (c == '\\') { /* (the escaped byte is skipped: an escaped quote ends nothing) */
            escaped = 1;
            if (++p->s >= p->end) return NULL;
            if (*p->s < 0x20) return NULL;
            if (*p->s >= 0x80) ascii = 0;
        } else if (c >= 0x80) {
            ascii = 0;
        }
        p->s++;
    }
    if (p->s >= p->end) return NULL;
    const unsigned char *end = p->s;
    p->s++; /* the closing quote */
    if (escaped) return unescaped(start, end);
    Py_ssize_t n = end - start;
    PyObject *o;
    if (ascii) {
        o = PyUnicode_New(n, 127);
        if (o == NULL) return NULL;
        memcpy(PyUnicode_1BYTE_DATA(o), start, (size_t)n);
        return o;
    }
    o = PyUnicode_DecodeUTF8((const char *)start, n, "strict");
    if (o == NULL) PyErr_Clear();
    return o;
}

static PyObject *scan_value(Scan *p, int depth);

static PyObject *scan_object(Scan *p, int depth) {
    PyObject *d = PyDict_New();
    if (d == NULL) return NULL;
    p->s++; /* { */
    skip_ws(p);
    if (p->s < p->end && *p->s == '}') {
        p->s++;
        return d;
    }
    for (;;) {
        skip_ws(p);
        if (p->s >= p->end || *p->s != '"') goto no;
        PyObject *key = scan_string(p);
        if (key == NULL) goto no;
        /* interned, as orjson's key cache leaves them: the Python code reading the document
         * looks its members up by interned names, found by identity */
        PyUnicode_InternInPlace(&key);
        skip_ws(p);
        if (p->s >= p->end || *p->s != ':') {
            Py_DECREF(key);
            goto no;
        }
        p->s++;
        skip_ws(p);
        PyObject *value = scan_value(p, depth + 1);
        if (value == NULL) {
            Py_DECREF(key);
            goto no;
        }
        Py_ssize_t before = PyDict_GET_SIZE(d);
        int rc = PyDict_SetItem(d, key, value); /* (exact str key: no Python code) */
        Py_DECREF(key);
        Py_DECREF(value);
        if (rc < 0) {
            PyErr_Clear();
            goto no;
        }
        if (PyDict_GET_SIZE(d) != before + 1) goto no; /* a key given twice */
        skip_ws(p);
        if (p->s >= p->end) goto no;
        if (*p->s == ',') {
            p->s++;
            continue;
        }
        if (*p->s == '}') {
            p->s++;
            return d;
        }
        goto no;
    }
no:
    Py_DECREF(d);
    return NULL;
}

static PyObject *scan_array(Scan *p, int depth) {
    PyObject *l = PyList_New(0);
    if (l == NULL) return NULL;
    p->s++; /* [ */
    skip_ws(p);
    if (p->s < p->end && *p->s == ']') {
        p->s++;
        return l;
    }
    for (;;) {
        skip_ws(p);
        PyObject *value = scan_value(p, depth + 1);
        if (value == NULL) goto no;
        int rc = PyList_Append(l, value);
        Py_DECREF(value);
        if (rc < 0) {
            PyErr_Clear();
            goto no;
        }
        skip_ws(p);
        if (p->s >= p->end) goto no;
        if (*p->s == ',') {
            p->s++;
            continue;
        }
        if (*p->s == ']') {
            p->s++;
            return l;
        }
        goto no;
    }
no:
    Py_DECREF(l);
    return NULL;
}

static PyObject *scan_int(Scan *p) {
    const unsigned char *start = p->s;
    long long v = 0;
    while (p->s < p->end && *p->s >= '0' && *p->s <= '9') {
        v = v * 10 + (*p->s - '0');
        p->s++;
        if (p->s - start > 15) return NULL;
    }
    Py_ssize_t n = p->s - start;
    if (n == 0 || (n > 1 && *start == '0')) return NULL;
    if (p->s < p->end && (*p->s == '.' || *p->s == 'e' || *p->s == 'E')) return NULL;
    PyObject *o = PyLong_FromLongLong(v);
    if (o == NULL) PyErr_Clear();
    return o;
}

/* a value at p->s: a new object, or NULL declined (no error set) */
static PyObject *scan_value(Scan *p, int depth) {
    if (depth > FILE_DEPTH || p->s >= p->end) return NULL;
    unsigned char c = *p->s;
    PyObject *o;
    if (c == '{')
        o = scan_object(p, depth);
    else if (c == '[')
        o = scan_array(p, depth);
    else if (c == '"')
        o = scan_string(p);
    else if (c >= '0' && c <= '9')
        o = scan_int(p);
    else
        return NULL;
    if (o == NULL) PyErr_Clear();
    return o;
}

/* inputs.not_a_document's secret_refusal answers None for this top level (a restriction:
 * what it may refuse, this declines) */
static int no_secret(PyObject *doc) {
    static const char *refused[] = {"secretKeyMultibase", "privateKeyMultibase", "privateKeyHex",
                                    "privateKeyJwk", "d", "keys"};
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(doc, &pos, &key, &value)) {
        for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
            if (PyUnicode_CompareWithASCIIString(key, refused[i]) == 0) return 0;
        if (PyUnicode_CheckExact(value)) {
            Py_ssize_t n;
            const char *u = PyUnicode_AsUTF8AndSize(value, &n);
            if (u == NULL) {
                PyErr_Clear();
                return 0;
            }
            for (Py_ssize_t i = 0; i + 3 < n; i++)
                if (u[i] == 't' && u[i + 1] == 'p' &&
                    ((u[i + 2] == 'k' && u[i + 3] == '_') || (u[i + 2] == 'v' && u[i + 3] == '_') ||
                     (u[i + 2] == 'o' && i + 5 < n && memcmp(u + i + 2, "oat_", 4) == 0)))
                    return 0;
        }
    }
    return 1;
}

static PyObject *from_bytes(PyObject *self, PyObject *data) {
    if (!PyBytes_CheckExact(data)) {
        PyErr_SetString(PyExc_TypeError, "from_bytes: expected bytes");
        return NULL;
    }
    Scan p = {(const unsigned char *)PyBytes_AS_STRING(data),
              (const unsigned char *)PyBytes_AS_STRING(data) + PyBytes_GET_SIZE(data)};
    skip_ws(&p);
    if (p.s >= p.end || *p.s != '{') Py_RETURN_NONE;
    PyObject *doc = scan_value(&p, 0);
    if (doc == NULL) Py_RETURN_NONE;
    skip_ws(&p);
    if (p.s != p.end || PyDict_GetItemWithError(doc, s_context) == NULL || !no_secret(doc)) {
        PyErr_Clear();
        Py_DECREF(doc);
        Py_RETURN_NONE;
    }
    PyObject *out = offline(self, doc);
    Py_DECREF(doc);
    return out;
}

/* ---- check 2: the credential's JSON Schema (and validate_credential's rules) in C ------------- */

/* form_kind(document) -> kind or None: `validation.validate_credential`'s fast twin (with no
 * ``today``) for the plain form every issued credential has. It answers the kind only when it
 * can show that the Python path accepts the document: check_vc_structure (a non-empty @context
 * whose first entry is the VC 2.0 context, a type list of exactly "VerifiableCredential" and
 * the kind, validFrom
 * and validUntil real instants in order), no lone surrogate in any text or key, the kind (the
 * type list's last entry) one set_forms() was given, its JSON Schema (the compiled form below,
 * checked here against the parsed document), a subject "name" without control characters or
 * line breaks; the holder's did:key is left to the caller (`is_holder_did`). Anything else,
 * invalid or only unusual (a number, a boolean or null anywhere, a subclass, a dateTimeStamp not
 * of the form YYYY-MM-DDTHH:MM:SSZ, a doubtful character where a pattern looks, a member the
 * schema leaves open holding an object), is None: then the Python path (jsonschema-rs and the
 * rules in Python) decides and words every refusal. It never answers "invalid".
 *
 * set_forms({kind: form}): the kinds' schemas compiled by `validation.native_form` (nested
 * tuples; None where a schema uses anything this does not check as jsonschema-rs does):
 *   (0, keys, forms, required_mask, closed)  an object: keys (str) with their forms; closed:
 *                                            additionalProperties false
 *   (1, min, max, pattern)                   a string: min/max code points (-1: none), pattern
 *                                            a NATIVE_PATTERNS code or P_DATETIME (0: none)
 *   (2, values)                              one of these strings (enum, const)
 *   (3, min, max, items)                     an array of min..max (-1: none) items
 *   (4, min, prefix, contains)               an array of at least min strings starting with
 *                                            the prefix's, holding ``contains`` (None: any)
 *   (5, string, object, array)               oneOf whose branches are told apart by their JSON
 *                                            type (None: no branch of that type)
 *   (6,)                                     any value (a required member an open object names
 *                                            without a schema; the value is plain JSON text) */
static PyObject *forms = NULL; /* exact dict: kind (str) -> form */
static PyObject *s_valid_from, *s_valid_until, *s_subject, *s_name, *s_id, *s_vc, *s_vc2;

#define FORM_DEPTH 24

/* (the UTF-8 of an exact str, or 0: a lone surrogate, which no UTF-8 holds) */
static int utf8_of_text(PyObject *o, const char **u, Py_ssize_t *n) {
    *u = PyUnicode_AsUTF8AndSize(o, n);
    if (*u == NULL) {
        PyErr_Clear();
        return 0;
    }
    return 1;
}

/* plain JSON text of strings only: exact dicts with exact str keys, exact lists and exact str,
 * every text and key without a lone surrogate (so `refuse_lone_surrogates` finds none) */
static int plain_texts(PyObject *o, int depth) {
    const char *u;
    Py_ssize_t n;
    if (depth > FORM_DEPTH) return 0;
    if (PyUnicode_CheckExact(o)) return utf8_of_text(o, &u, &n);
    if (PyList_CheckExact(o)) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(o); i++)
            if (!plain_texts(PyList_GET_ITEM(o, i), depth + 1)) return 0;
        return 1;
    }
    if (PyDict_CheckExact(o)) {
        Py_ssize_t pos = 0;
        PyObject *key, *value;
        while (PyDict_Next(o, &pos, &key, &value))
            if (!PyUnicode_CheckExact(key) || !utf8_of_text(key, &u, &n) ||
                !plain_texts(value, depth + 1))
                return 0;
        return 1;
    }
    return 0;
}

static int days_in(int year, int month) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2 && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) return 29;
    return days[month - 1];
}

/* YYYY-MM-DDTHH:MM:SSZ naming a real instant (year 1-9999, a calendar date, 00-23 hours):
 * matches the schemas' dateTimeStamp pattern and `integrity.parse_datetime` reads it */
static int dts_form(const unsigned char *s, Py_ssize_t n) {
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    if (n != 20) return 0;
    for (int i = 0; i < 20; i++) {
        if (shape[i] == 'd') {
            if (s[i] < '0' || s[i] > '9') return 0;
        } else if (s[i] != (unsigned char)shape[i])
            return 0;
    }
#define D2(i) ((s[i] - '0') * 10 + (s[i + 1] - '0'))
    int year = D2(0) * 100 + D2(2), month = D2(5), day = D2(8);
    if (year < 1 || month < 1 || month > 12 || day < 1 || day > days_in(year, month)) return 0;
    return D2(11) <= 23 && D2(14) <= 59 && D2(17) <= 59;
#undef D2
}

static int int_of(PyObject *t, Py_ssize_t i, Py_ssize_t *out) {
    PyObject *o = PyTuple_GET_ITEM(t, i);
    if (!PyLong_CheckExact(o)) return 0;
    *out = PyLong_AsSsize_t(o);
    if (*out == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    return 1;
}

/* 1 when ``v`` (plain_texts) is valid under ``form``, 0 when not or not shown (declined) */
static int form_ok(PyObject *form, PyObject *v, int depth) {
    Py_ssize_t kind, lo, hi, pattern, mask, closed;
    if (depth > FORM_DEPTH || !PyTuple_CheckExact(form) || PyTuple_GET_SIZE(form) < 1) return 0;
    if (!int_of(form, 0, &kind)) return 0;
    Py_ssize_t size = PyTuple_GET_SIZE(form);
    switch (kind) {
    case 0: {
        if (size != 5 || !PyDict_CheckExact(v)) return 0;
        PyObject *keys = PyTuple_GET_ITEM(form, 1), *subs = PyTuple_GET_ITEM(form, 2);
        if (!PyTuple_CheckExact(keys) || !PyTuple_CheckExact(subs) ||
            PyTuple_GET_SIZE(keys) != PyTuple_GET_SIZE(subs) || PyTuple_GET_SIZE(keys) > 62 ||
            !int_of(form, 3, &mask) || !int_of(form, 4, &closed))
            return 0;
        Py_ssize_t found = 0;
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(keys); i++) {
            PyObject *key = PyTuple_GET_ITEM(keys, i);
            if (!PyUnicode_CheckExact(key)) return 0;
            /* (exact str keys on both sides: the lookup runs no Python code) */
            PyObject *member_value = PyDict_GetItemWithError(v, key);
            if (member_value == NULL) {
                if (PyErr_Occurred()) {
                    PyErr_Clear();
                    return 0;
                }
                if ((unsigned long long)mask >> i & 1) return 0;
                continue;
            }
            found++;
            if (!form_ok(PyTuple_GET_ITEM(subs, i), member_value, depth + 1)) return 0;
        }
        return !closed || found == PyDict_GET_SIZE(v);
    }
    case 1: {
        const char *u;
        Py_ssize_t n;
        if (size != 4 || !PyUnicode_CheckExact(v) || !int_of(form, 1, &lo) ||
            !int_of(form, 2, &hi) || !int_of(form, 3, &pattern))
            return 0;
        if (!utf8_of_text(v, &u, &n)) return 0;
        Py_ssize_t count = PyUnicode_GET_LENGTH(v); /* (no surrogate: its code points) */
        if (count < lo || (hi >= 0 && count > hi)) return 0;
        if (pattern == P_DATETIME) return dts_form((const unsigned char *)u, n);
        if (pattern < 0 || pattern > P_LAST) return 0;
        return pattern_ok((int)pattern, (const unsigned char *)u, n);
    }
    case 2: {
        PyObject *values = PyTuple_GET_ITEM(form, size > 1 ? 1 : 0);
        if (size != 2 || !PyUnicode_CheckExact(v) || !PyTuple_CheckExact(values)) return 0;
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(values); i++) {
            PyObject *value = PyTuple_GET_ITEM(values, i);
            if (PyUnicode_CheckExact(value) && PyUnicode_Compare(value, v) == 0) return 1;
        }
        return 0;
    }
    case 3: {
        if (size != 4 || !PyList_CheckExact(v) || !int_of(form, 1, &lo) || !int_of(form, 2, &hi))
            return 0;
        Py_ssize_t n = PyList_GET_SIZE(v);
        if (n < lo || (hi >= 0 && n > hi)) return 0;
        for (Py_ssize_t i = 0; i < n; i++)
            if (!form_ok(PyTuple_GET_ITEM(form, 3), PyList_GET_ITEM(v, i), depth + 1)) return 0;
        return 1;
    }
    case 4: {
        PyObject *prefix = PyTuple_GET_ITEM(form, size > 2 ? 2 : 0);
        PyObject *contains = PyTuple_GET_ITEM(form, size > 3 ? 3 : 0);
        if (size != 4 || !PyList_CheckExact(v) || !int_of(form, 1, &lo) ||
            !PyTuple_CheckExact(prefix))
            return 0;
        Py_ssize_t n = PyList_GET_SIZE(v);
        if (n < lo || n < PyTuple_GET_SIZE(prefix)) return 0;
        int held = contains == Py_None;
        if (!held && !PyUnicode_CheckExact(contains)) return 0;
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *item = PyList_GET_ITEM(v, i);
            if (!PyUnicode_CheckExact(item)) return 0;
            if (i < PyTuple_GET_SIZE(prefix)) {
                PyObject *want = PyTuple_GET_ITEM(prefix, i);
                if (!PyUnicode_CheckExact(want) || PyUnicode_Compare(want, item) != 0) return 0;
            }
            if (!held && PyUnicode_Compare(contains, item) == 0) held = 1;
        }
        return held;
    }
    case 5: {
        if (size != 4) return 0;
        PyObject *branch = PyUnicode_CheckExact(v) ? PyTuple_GET_ITEM(form, 1)
                           : PyDict_CheckExact(v)  ? PyTuple_GET_ITEM(form, 2)
                           : PyList_CheckExact(v)  ? PyTuple_GET_ITEM(form, 3)
                                                   : Py_None;
        return branch != Py_None && form_ok(branch, v, depth + 1);
    }
    case 6:
        return size == 1;
    }
    return 0;
}

/* no [\x00-\x1f\x7f\u2028\u2029] in an exact str (validation._CONTROL) */
static int no_control(PyObject *text) {
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    for (Py_ssize_t i = 0; i < PyUnicode_GET_LENGTH(text); i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c < 0x20 || c == 0x7f || c == 0x2028 || c == 0x2029) return 0;
    }
    return 1;
}

static PyObject *form_kind(PyObject *self, PyObject *doc) {
    if (forms == NULL || !PyDict_CheckExact(doc) || !plain_texts(doc, 0)) Py_RETURN_NONE;
    /* (from here on every dict has exact str keys: lookups run no Python code) */
    /* the type: exactly ["VerifiableCredential", kind], the issuer's form (no other name the
     * Python path may refuse beside the kind: `types.require_one_kind`) */
    PyObject *types = PyDict_GetItemWithError(doc, s_type);
    if (types == NULL || !PyList_CheckExact(types) || PyList_GET_SIZE(types) != 2) Py_RETURN_NONE;
    PyObject *kind = PyList_GET_ITEM(types, 1);
    if (!PyUnicode_CheckExact(kind)) Py_RETURN_NONE;
    PyObject *form = PyDict_GetItemWithError(forms, kind); /* (an exact str: no Python code) */
    if (form == NULL) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    PyObject *first = PyList_GET_ITEM(types, 0); /* (a text, a list or a dict: plain_texts) */
    int vc = PyUnicode_CheckExact(first) && PyUnicode_Compare(first, s_vc) == 0;
    PyObject *ctx = PyDict_GetItemWithError(doc, s_context);
    if (!vc || ctx == NULL || !PyList_CheckExact(ctx) || PyList_GET_SIZE(ctx) < 1 ||
        !PyUnicode_CheckExact(PyList_GET_ITEM(ctx, 0)) ||
        PyUnicode_Compare(PyList_GET_ITEM(ctx, 0), s_vc2) != 0)
        Py_RETURN_NONE;
    /* validFrom, validUntil: real instants of the strict form, in order */
    PyObject *from = PyDict_GetItemWithError(doc, s_valid_from);
    PyObject *until = PyDict_GetItemWithError(doc, s_valid_until);
    const char *uf = NULL, *uu = NULL;
    Py_ssize_t nf = 0, nu = 0;
    if (from != NULL && (!PyUnicode_CheckExact(from) || !utf8_of_text(from, &uf, &nf) ||
                         !dts_form((const unsigned char *)uf, nf)))
        Py_RETURN_NONE;
    if (until != NULL && (!PyUnicode_CheckExact(until) || !utf8_of_text(until, &uu, &nu) ||
                          !dts_form((const unsigned char *)uu, nu)))
        Py_RETURN_NONE;
    if (from != NULL && until != NULL && memcmp(uf, uu, 20) > 0) Py_RETURN_NONE;
    /* the subject: an object with an id text (the caller checks the did:key) and a name, if
     * any, without control characters or line breaks */
    PyObject *subject = PyDict_GetItemWithError(doc, s_subject);
    if (subject == NULL || !PyDict_CheckExact(subject)) Py_RETURN_NONE;
    PyObject *sid = PyDict_GetItemWithError(subject, s_id);
    PyObject *name = PyDict_GetItemWithError(subject, s_name);
    if (sid == NULL || !PyUnicode_CheckExact(sid)) Py_RETURN_NONE;
    if (name != NULL && PyUnicode_CheckExact(name) && !no_control(name)) Py_RETURN_NONE;
    if (!form_ok(form, doc, 0)) Py_RETURN_NONE;
    return Py_NewRef(kind);
}

static PyObject *set_forms(PyObject *self, PyObject *arg) {
    if (!PyDict_CheckExact(arg)) {
        PyErr_SetString(PyExc_TypeError, "set_forms: expected a dict {kind: form}");
        return NULL;
    }
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(arg, &pos, &key, &value))
        if (!PyUnicode_CheckExact(key) || !PyTuple_CheckExact(value)) {
            PyErr_SetString(PyExc_TypeError, "set_forms: expected str kinds and tuple forms");
            return NULL;
        }
    PyObject *copy = PyDict_Copy(arg);
    if (copy == NULL) return NULL;
    Py_XSETREF(forms, copy);
    Py_RETURN_NONE;
}

static PyObject *setup(PyObject *self, PyObject *args) {
    PyObject *address_obj, *digests, *root, *key;
    if (!PyArg_ParseTuple(args, "OOOO:setup", &address_obj, &digests, &root, &key)) return NULL;
    /* (not PyArg "K": it wraps a negative or a too large number into some other address) */
    unsigned long long address = 0;
    if (PyLong_CheckExact(address_obj)) {
        address = PyLong_AsUnsignedLongLong(address_obj);
        if (address == (unsigned long long)-1 && PyErr_Occurred()) {
            if (!PyErr_ExceptionMatches(PyExc_OverflowError)) return NULL;
            PyErr_Clear();
            address = 0;
        }
    }
    if (address == 0 || address > UINTPTR_MAX || !PyCallable_Check(digests) ||
        !PyCallable_Check(root) || !PyCallable_Check(key)) {
        PyErr_Format(PyExc_ValueError,
                     "setup(crypto_sign_open address, jcs_digests, merkle_root, key_of): "
                     "expected the function's address (an int in 1..2**64-1) and three "
                     "callables, found %.80R",
                     address_obj);
        return NULL;
    }
    sign_open = (sign_open_fn)(uintptr_t)address;
    Py_XSETREF(jcs_digests, Py_NewRef(digests));
    Py_XSETREF(merkle_root, Py_NewRef(root));
    Py_XSETREF(key_of, Py_NewRef(key));
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"setup", setup, METH_VARARGS,
     "setup(crypto_sign_open_address, jcs_digests, merkle_root, key_of) -> None: the functions "
     "offline() calls (libsodium's crypto_sign_open, native.jcs_digests, native.merkle_root, a "
     "verification method -> 32-byte key or None)."},
    {"offline", offline, METH_O,
     "offline(document) -> (credential, chainId, registry, merkleRoot, leafIndex, treeSize, "
     "path, key, verificationMethod, created, credentialHash) or None: checks 1, 3 and 4 of a "
     "plain anchored credential of exactly the issuer's form when all three pass, else None "
     "(see the source)."},
    {"from_bytes", from_bytes, METH_O,
     "from_bytes(data) -> offline()'s answer or None: a folder file's bytes parsed for exactly "
     "the issuer's text form (no number but small integers, no literal, no duplicate key, no "
     "secret), then offline() of the document; None for any other text (see the source)."},
    {"set_forms", set_forms, METH_O,
     "set_forms({kind: form}) -> None: the kinds' JSON Schemas compiled by "
     "validation.native_form (see the source)."},
    {"form_kind", form_kind, METH_O,
     "form_kind(document) -> kind or None: validation.validate_credential's fast twin (no "
     "today): the kind only when the Python path is shown to accept the document (the holder's "
     "did:key left to the caller), else None (see the source)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "native_verify",
    "Checks 1, 3 and 4 of a plain anchored credential in one C call (issue 17.3); None for "
    "anything but the issuer's exact form with all three passing (the Python checks decide).",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit_native_verify(void) {
    struct {
        PyObject **slot;
        const char *text;
    } names[] = {
        {&s_context, "@context"},  {&s_type, "type"},         {&s_proof, "proof"},
        {&s_cryptosuite, "cryptosuite"}, {&s_created, "created"}, {&s_vm, "verificationMethod"},
        {&s_purpose, "proofPurpose"}, {&s_value, "proofValue"}, {&s_chain, "chainId"},
        {&s_registry, "registry"}, {&s_root, "merkleRoot"}, {&s_leaf, "leafIndex"},
        {&s_size, "treeSize"},     {&s_path, "path"},
        {&s_valid_from, "validFrom"}, {&s_valid_until, "validUntil"},
        {&s_subject, "credentialSubject"}, {&s_name, "name"}, {&s_id, "id"},
        {&s_vc, "VerifiableCredential"}, {&s_vc2, "https://www.w3.org/ns/credentials/v2"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        *names[i].slot = PyUnicode_InternFromString(names[i].text);
        if (*names[i].slot == NULL) return NULL;
    }
    b58_table(); /* (native_patterns.h: the holder pattern's digits) */
    return PyModule_Create(&module);
}
