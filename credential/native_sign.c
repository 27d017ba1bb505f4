/*
 * talentproof.credential.native_sign: the signing side's per-credential byte work in C (issue
 * 17.3), each function the fast twin of a Python one that runs whenever it answers None.
 *
 * Why C, and what it replaces: `BulkTemplate.signed_reference` and `issue_subject_reference`
 * (credential/issuance/template.py), a bulk row's JCS splice, two SHA-256, one Ed25519 sign and
 * base58 as several Python calls; in one call the bulk signing block (`sign_job_block`) takes
 * 25.2-29.3 against 27.5-31.2 us a row, median -2.6 us (bench/issuer_bulk.py `native_sign_row`;
 * bench/results.md 2026-12-07, docs/architecture.md "The C fast paths"). Differential tests:
 * tests/credential/test_native_sign.py, tests/issuer/test_bulk_native_sign.py.
 *
 * The bulk template (credential/issuance/template.py, `BulkTemplate`) splices a credential's
 * RFC 8785 bytes from constant members written once and the row's own members. Per row it then
 * hashes the unsigned form, signs hashData, writes the proofValue in base58btc, splices the
 * proof member in and hashes the signed form (the credential hash). This module does that in one
 * call per row:
 *
 *   template(secret, options_hash, proof_head, proof_tail, subject_head, status_parts,
 *            subject_id_tail, subject_tail) -> a template capsule (the constants of one
 *            `BulkTemplate`: libsodium's 64-byte secret key, SHA-256(JCS(proof options)), the
 *            proof member's text around its proofValue, the document's constant texts);
 *   signed(tpl, cid, prefix, tail) -> (cid, document, hash): `BulkTemplate._signed`'s twin, the
 *            document ``prefix + proof + tail`` (proof = proof_head "z" base58(sig) proof_tail
 *            ","), sig = Ed25519(secret, options_hash || SHA-256(prefix + tail)), hash =
 *            SHA-256(document);
 *   issue_subject(tpl, subject, status_index, cid) -> (cid, document, hash) or None: the bytes
 *            of `BulkTemplate._issue_subject` once its checks passed (the prefix is
 *            subject_head + the status entries with the index + ',"credentialSubject":' +
 *            JCS(subject) + ',"id":"' + cid + subject_id_tail, the tail subject_tail), signed as
 *            `signed` does. None (the Python twin then writes them) when JCS(subject) is not
 *            written here (native.c's writer declines: floats, integers beyond 2**53 - 1, keys
 *            >= U+E000, lone surrogates, subclasses, tuples, deep nesting), when the index is not
 *            an exact int in 0..2**63-1, the id not an exact str encodable as UTF-8, or no
 *            signing function was set.
 *   set_crypto_sign(address): libsodium's ``crypto_sign`` (combined mode: signature || message
 *            out) as PyNaCl's cffi binding loaded it, given once by its address: the same
 *            library and the same deterministic RFC 8032 signatures as `keys.RawEd25519Signer`,
 *            without a second system dependency.
 *
 * JCS(subject) is native.c's writer (the verifier's check 3), compiled into this module from
 * the same source: one writer, tested against the rfc8785 reference by
 * tests/credential/test_native_jcs.py. tests/credential/test_native_sign.py compares every
 * answer of this module with the Python twin byte for byte, and each declined case.
 */
#include "native.c" /* write_value, Buf, put, utf8_of; its own module functions stay unused here */

#include <stdint.h>

typedef int (*crypto_sign_fn)(unsigned char *sm, unsigned long long *smlen_p,
                              const unsigned char *m, unsigned long long mlen,
                              const unsigned char *sk);

static crypto_sign_fn sodium_sign = NULL;

static PyObject *set_crypto_sign(PyObject *self, PyObject *arg) {
    if (!PyLong_CheckExact(arg)) {
        PyErr_Format(PyExc_TypeError, "set_crypto_sign: expected the function's address (int), "
                                      "found %.80s", Py_TYPE(arg)->tp_name);
        return NULL;
    }
    unsigned long long address = PyLong_AsUnsignedLongLong(arg);
    if (address == (unsigned long long)-1 && PyErr_Occurred()) return NULL;
    if (address == 0) {
        PyErr_SetString(PyExc_ValueError, "set_crypto_sign: expected a non-zero address");
        return NULL;
    }
    sodium_sign = (crypto_sign_fn)(uintptr_t)address;
    Py_RETURN_NONE;
}

/* ---- base58btc of 64 bytes ---------------------------------------------------------------- */

static const char B58[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
#define B58_5 656356768u /* 58**5 < 2**32 */

/* `_base58.b58encode` of 64 bytes into ``out`` (at least 90 bytes); returns its length. The
 * number is divided by 58**5 as 16 words of 32 bits, five digits a step; leading zero bytes are
 * leading '1's, as in the Python. */
static Py_ssize_t b58_64(const unsigned char *in, char *out) {
    uint32_t w[16];
    int zeros = 0;
    while (zeros < 64 && in[zeros] == 0) zeros++;
    for (int i = 0; i < 16; i++)
        w[i] = ((uint32_t)in[4 * i] << 24) | ((uint32_t)in[4 * i + 1] << 16) |
               ((uint32_t)in[4 * i + 2] << 8) | (uint32_t)in[4 * i + 3];
    char digits[100]; /* least significant first; 58**90 > 2**512 */
    int nd = 0, top = 0;
    while (top < 16 && w[top] == 0) top++;
    while (top < 16) {
        uint64_t rem = 0;
        for (int i = top; i < 16; i++) {
            uint64_t cur = (rem << 32) | w[i];
            w[i] = (uint32_t)(cur / B58_5);
            rem = cur % B58_5;
        }
        uint32_t r = (uint32_t)rem;
        for (int k = 0; k < 5; k++) {
            digits[nd++] = (char)(r % 58);
            r /= 58;
        }
        while (top < 16 && w[top] == 0) top++;
    }
    while (nd > 0 && digits[nd - 1] == 0) nd--; /* the text's leading '1's: from zero bytes only */
    Py_ssize_t n = 0;
    for (int i = 0; i < zeros; i++) out[n++] = '1';
    for (int i = nd - 1; i >= 0; i--) out[n++] = B58[(int)digits[i]];
    return n;
}

/* ---- the template ------------------------------------------------------------------------- */

typedef struct {
    unsigned char secret[64];
    unsigned char options_hash[32];
    PyObject *proof_head, *proof_tail, *subject_head, *status_parts, *subject_id_tail,
        *subject_tail; /* exact bytes; status_parts an exact tuple of at least 2 of them */
} Tpl;

#define TPL_NAME "talentproof.credential.native_sign.template"

static void tpl_free(PyObject *capsule) {
    Tpl *t = PyCapsule_GetPointer(capsule, TPL_NAME);
    if (t == NULL) return;
    Py_XDECREF(t->proof_head);
    Py_XDECREF(t->proof_tail);
    Py_XDECREF(t->subject_head);
    Py_XDECREF(t->status_parts);
    Py_XDECREF(t->subject_id_tail);
    Py_XDECREF(t->subject_tail);
    volatile unsigned char *s = t->secret; /* the key does not outlive its template */
    for (int i = 0; i < 64; i++) s[i] = 0;
    PyMem_Free(t);
}

static int need_bytes(PyObject *o, const char *what) {
    if (PyBytes_CheckExact(o)) return 0;
    PyErr_Format(PyExc_TypeError, "template: %s: expected bytes, found %.80s", what,
                 Py_TYPE(o)->tp_name);
    return -1;
}

static PyObject *template(PyObject *self, PyObject *args) {
    PyObject *secret, *options_hash, *proof_head, *proof_tail, *subject_head, *status_parts,
        *subject_id_tail, *subject_tail;
    if (!PyArg_ParseTuple(args, "OOOOOOOO:template", &secret, &options_hash, &proof_head,
                          &proof_tail, &subject_head, &status_parts, &subject_id_tail,
                          &subject_tail))
        return NULL;
    if (need_bytes(secret, "secret") || need_bytes(options_hash, "options_hash") ||
        need_bytes(proof_head, "proof_head") || need_bytes(proof_tail, "proof_tail") ||
        need_bytes(subject_head, "subject_head") ||
        need_bytes(subject_id_tail, "subject_id_tail") ||
        need_bytes(subject_tail, "subject_tail"))
        return NULL;
    if (PyBytes_GET_SIZE(secret) != 64 || PyBytes_GET_SIZE(options_hash) != 32) {
        PyErr_SetString(PyExc_ValueError, "template: expected a 64-byte libsodium secret key and "
                                          "a 32-byte options hash");
        return NULL;
    }
    if (!PyTuple_CheckExact(status_parts) || PyTuple_GET_SIZE(status_parts) < 2) {
        PyErr_SetString(PyExc_TypeError,
                        "template: status_parts: expected a tuple of at least 2 bytes");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(status_parts); i++)
        if (need_bytes(PyTuple_GET_ITEM(status_parts, i), "status_parts item")) return NULL;
    Tpl *t = PyMem_Calloc(1, sizeof(Tpl));
    if (t == NULL) return PyErr_NoMemory();
    memcpy(t->secret, PyBytes_AS_STRING(secret), 64);
    memcpy(t->options_hash, PyBytes_AS_STRING(options_hash), 32);
    Py_INCREF(proof_head);
    t->proof_head = proof_head;
    Py_INCREF(proof_tail);
    t->proof_tail = proof_tail;
    Py_INCREF(subject_head);
    t->subject_head = subject_head;
    Py_INCREF(status_parts);
    t->status_parts = status_parts;
    Py_INCREF(subject_id_tail);
    t->subject_id_tail = subject_id_tail;
    Py_INCREF(subject_tail);
    t->subject_tail = subject_tail;
    PyObject *capsule = PyCapsule_New(t, TPL_NAME, tpl_free);
    if (capsule == NULL) {
        Py_DECREF(proof_head);
        Py_DECREF(proof_tail);
        Py_DECREF(subject_head);
        Py_DECREF(status_parts);
        Py_DECREF(subject_id_tail);
        Py_DECREF(subject_tail);
        PyMem_Free(t);
    }
    return capsule;
}

#define put_lit(b, text) put((b), (text), (Py_ssize_t)(sizeof(text) - 1))

static inline int put_bytes(Buf *b, PyObject *o) {
    return put(b, PyBytes_AS_STRING(o), PyBytes_GET_SIZE(o));
}

/* (cid, prefix + proof + tail, its SHA-256): the prefix is b->p[0:prefix_len], the tail given;
 * ``state`` holds SHA-256 over the prefix already. NULL with an error set, or Py_None when no
 * signing function was set. */
static PyObject *finish(Tpl *t, PyObject *cid, const char *prefix, Py_ssize_t prefix_len,
                        const char *tail, Py_ssize_t tail_len, SHA256_CTX *state) {
    if (sodium_sign == NULL) Py_RETURN_NONE;
    unsigned char data[64], sm[128], chash[32];
    unsigned long long smlen = 0;
    SHA256_CTX unsigned_state = *state;
    SHA256_Update(&unsigned_state, tail, (size_t)tail_len);
    memcpy(data, t->options_hash, 32);
    SHA256_Final(data + 32, &unsigned_state);
    if (sodium_sign(sm, &smlen, data, 64, t->secret) != 0 || smlen != 128) {
        PyErr_SetString(PyExc_RuntimeError, "libsodium crypto_sign failed");
        return NULL;
    }
    char value[100];
    Py_ssize_t vlen = b58_64(sm, value);
    Py_ssize_t head_len = PyBytes_GET_SIZE(t->proof_head),
               ptail_len = PyBytes_GET_SIZE(t->proof_tail);
    Py_ssize_t proof_len = head_len + 1 + vlen + ptail_len + 1;
    PyObject *doc = PyBytes_FromStringAndSize(NULL, prefix_len + proof_len + tail_len);
    if (doc == NULL) return NULL;
    char *o = PyBytes_AS_STRING(doc);
    memcpy(o, prefix, (size_t)prefix_len);
    char *p = o + prefix_len;
    memcpy(p, PyBytes_AS_STRING(t->proof_head), (size_t)head_len);
    p += head_len;
    *p++ = 'z';
    memcpy(p, value, (size_t)vlen);
    p += vlen;
    memcpy(p, PyBytes_AS_STRING(t->proof_tail), (size_t)ptail_len);
    p += ptail_len;
    *p++ = ',';
    memcpy(p, tail, (size_t)tail_len);
    SHA256_Update(state, o + prefix_len, (size_t)(proof_len + tail_len));
    SHA256_Final(chash, state);
    PyObject *hash = PyBytes_FromStringAndSize((const char *)chash, 32);
    if (hash == NULL) {
        Py_DECREF(doc);
        return NULL;
    }
    return Py_BuildValue("(ONN)", cid, doc, hash);
}

static Tpl *tpl_of(PyObject *capsule) {
    return PyCapsule_GetPointer(capsule, TPL_NAME); /* (sets a ValueError when not one) */
}

static PyObject *signed_(PyObject *self, PyObject *args) {
    PyObject *capsule, *cid;
    Py_buffer prefix, tail;
    if (!PyArg_ParseTuple(args, "OOy*y*:signed", &capsule, &cid, &prefix, &tail)) return NULL;
    PyObject *out = NULL;
    Tpl *t = tpl_of(capsule);
    if (t != NULL) {
        SHA256_CTX state;
        SHA256_Init(&state);
        SHA256_Update(&state, prefix.buf, (size_t)prefix.len);
        out = finish(t, cid, prefix.buf, prefix.len, tail.buf, tail.len, &state);
    }
    PyBuffer_Release(&prefix);
    PyBuffer_Release(&tail);
    return out;
}

/* The buffer the prefixes are written into, reused from call to call (the GIL is held). */
static Buf work = {NULL, 0, 0};

static PyObject *issue_subject(PyObject *self, PyObject *args) {
    PyObject *capsule, *subject, *index_obj, *cid;
    if (!PyArg_ParseTuple(args, "OOOO:issue_subject", &capsule, &subject, &index_obj, &cid))
        return NULL;
    Tpl *t = tpl_of(capsule);
    if (t == NULL) return NULL;
    if (sodium_sign == NULL || !PyDict_CheckExact(subject) || !PyLong_CheckExact(index_obj) ||
        !PyUnicode_CheckExact(cid))
        Py_RETURN_NONE;
    int overflow = 0;
    long long index = PyLong_AsLongLongAndOverflow(index_obj, &overflow);
    if (index == -1 && PyErr_Occurred()) return NULL;
    if (overflow || index < 0) Py_RETURN_NONE;
    char index_text[32];
    int index_len = snprintf(index_text, sizeof index_text, "%lld", index);
    const char *cid_data;
    Py_ssize_t cid_len;
    int rc = utf8_of(cid, &cid_data, &cid_len);
    if (rc == FAIL) return NULL;
    if (rc == BAIL) Py_RETURN_NONE;
    Buf *b = &work;
    b->len = 0;
    if (put_bytes(b, t->subject_head) < 0) return NULL;
    Py_ssize_t nparts = PyTuple_GET_SIZE(t->status_parts);
    for (Py_ssize_t i = 0; i < nparts; i++) {
        if (i && put(b, index_text, index_len) < 0) return NULL;
        if (put_bytes(b, PyTuple_GET_ITEM(t->status_parts, i)) < 0) return NULL;
    }
    if (put_lit(b, ",\"credentialSubject\":") < 0) return NULL;
    Marks m = {NULL, -1, -1, -1, -1, -1, 0, 0}; /* (PLAIN: the writer marks nothing) */
    rc = write_value(b, subject, 0, &m, PLAIN);
    if (rc == FAIL) return NULL;
    if (rc < 0) Py_RETURN_NONE;
    if (put_lit(b, ",\"id\":\"") < 0 || put(b, cid_data, cid_len) < 0 ||
        put_bytes(b, t->subject_id_tail) < 0)
        return NULL;
    SHA256_CTX state;
    SHA256_Init(&state);
    SHA256_Update(&state, b->p, (size_t)b->len);
    PyObject *out = finish(t, cid, b->p, b->len, PyBytes_AS_STRING(t->subject_tail),
                           PyBytes_GET_SIZE(t->subject_tail), &state);
    if (b->cap > SPARE_MAX) { /* a huge subject: not kept for the next rows */
        PyMem_Free(b->p);
        b->p = NULL;
        b->cap = 0;
    }
    return out;
}

/* b58_64 for the tests (the twin: _base58.b58encode). */
static PyObject *b58encode_64(PyObject *self, PyObject *arg) {
    if (!PyBytes_CheckExact(arg) || PyBytes_GET_SIZE(arg) != 64) {
        PyErr_SetString(PyExc_ValueError, "b58encode_64: expected 64 bytes");
        return NULL;
    }
    char out[100];
    Py_ssize_t n = b58_64((const unsigned char *)PyBytes_AS_STRING(arg), out);
    return PyBytes_FromStringAndSize(out, n);
}

static PyMethodDef sign_methods[] = {
    {"set_crypto_sign", set_crypto_sign, METH_O,
     "set_crypto_sign(address) -> None: libsodium's crypto_sign, by its address (PyNaCl's)."},
    {"template", template, METH_VARARGS,
     "template(secret, options_hash, proof_head, proof_tail, subject_head, status_parts, "
     "subject_id_tail, subject_tail) -> capsule: one BulkTemplate's constants."},
    {"signed", signed_, METH_VARARGS,
     "signed(tpl, cid, prefix, tail) -> (cid, document, hash) or None: BulkTemplate._signed."},
    {"issue_subject", issue_subject, METH_VARARGS,
     "issue_subject(tpl, subject, status_index, cid) -> (cid, document, hash) or None: the "
     "bytes of BulkTemplate._issue_subject after its checks; None when not written here."},
    {"b58encode_64", b58encode_64, METH_O,
     "b58encode_64(signature) -> bytes: base58btc of 64 bytes (_base58.b58encode's twin)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef sign_module = {
    PyModuleDef_HEAD_INIT, "native_sign",
    "The signing side's per-credential byte work in C (issue 17.3): see credential/native_sign.c.",
    -1, sign_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit_native_sign(void) { return PyModule_Create(&sign_module); }
