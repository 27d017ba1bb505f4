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
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        *names[i].slot = PyUnicode_InternFromString(names[i].text);
        if (*names[i].slot == NULL) return NULL;
    }
    return PyModule_Create(&module);
}
