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
 *   recognizer(...), issue_record(tpl, recognizer, record, status_index, cid, levels): a
 *            subject-only JSONL record parsed, checked and signed from its bytes (described
 *            where they are defined below), `BulkTemplate.issue_record`'s C side.
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

/* ---- the row recognizer: a subject-only JSONL record from its bytes ------------------------ */

/* `BulkTemplate.issue_record`'s C side (issue 17.3): one JSONL record of a bulk job (the subject
 * alone, or {"credentialSubject": subject}) checked and canonicalized from its bytes, without
 * Python objects, then signed as `issue_subject` signs. It answers only when it can show that
 * the Python path (orjson's parse, `_level_refused`, `bind_subject` owned, the subject's JSON
 * Schema, `is_holder_did`, `subject_facts_ok`, JCS) signs exactly these bytes; anything else,
 * invalid or only unusual, is None and the Python path (its twin) decides and reports. So a
 * refusal always comes from Python, with its own words.
 *
 * recognizer(schema, bind, facts, today, holder_key, level_path) -> capsule, where schema is the
 * subject's schema compiled by `template.native_schema` (nested tuples):
 *   (0, keys, nodes, required_mask)  an object, additionalProperties false; keys (bytes,
 *                                    ASCII, sorted: the JCS member order) with their nodes
 *   (1, min, max, pattern)           a string, min/max in code points (-1: none), pattern a
 *                                    code of `schema_forms.NATIVE_PATTERNS` (0: none)
 *   (2, values)                      one of these strings (enum, const)
 *   (3, min, max, items)             an array of min..max (-1: none) items
 * bind = (outer key, party key, DID, name) or None (`bind_subject`), facts = (outer key, start
 * key, end key or b"") (`subject_facts_ok`; birthDate on the subject), today as YYYYMMDD,
 * holder_key = the subject's member holding the holder's did:key, level_path = (outer, level)
 * (`types.degree_level`).
 *
 * issue_record(tpl, recognizer, record, status_index, cid, levels) -> (cid, document, hash) or
 * None; levels: None (every level) or a tuple of bytes, the accredited ones. */

enum { N_OBJECT = 0, N_STRING = 1, N_ENUM = 2, N_ARRAY = 3 };
#include "native_patterns.h" /* pattern_ok, code_points, date_form, b58_table, ... */
#define MAX_PROPS 32
#define MAX_VALS 512
#define MAX_SLOTS 1024

typedef struct Node Node;
struct Node {
    int kind;
    int nprops;
    char **keys; /* object: sorted keys; enum: values */
    Py_ssize_t *lens;
    Node **props;
    uint32_t required;
    Py_ssize_t min, max; /* string: code points; array: items */
    int pattern;
    int nvalues;
    Node *items;
};

static void node_free(Node *n) {
    if (n == NULL) return;
    int count = n->kind == N_OBJECT ? n->nprops : n->nvalues;
    if (n->keys != NULL)
        for (int i = 0; i < count; i++) PyMem_Free(n->keys[i]);
    if (n->props != NULL)
        for (int i = 0; i < n->nprops; i++) node_free(n->props[i]);
    PyMem_Free(n->keys);
    PyMem_Free(n->lens);
    PyMem_Free(n->props);
    node_free(n->items);
    PyMem_Free(n);
}

static int copy_bytes(PyObject *o, char **out, Py_ssize_t *len) {
    if (!PyBytes_CheckExact(o)) {
        PyErr_SetString(PyExc_TypeError, "recognizer: expected bytes in the schema");
        return -1;
    }
    *len = PyBytes_GET_SIZE(o);
    *out = PyMem_Malloc((size_t)*len + 1);
    if (*out == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memcpy(*out, PyBytes_AS_STRING(o), (size_t)*len + 1);
    return 0;
}

static int ssize_at(PyObject *t, Py_ssize_t i, Py_ssize_t *out) {
    PyObject *o = PyTuple_GET_ITEM(t, i);
    if (!PyLong_CheckExact(o)) {
        PyErr_SetString(PyExc_TypeError, "recognizer: expected an int in the schema");
        return -1;
    }
    *out = PyLong_AsSsize_t(o);
    return (*out == -1 && PyErr_Occurred()) ? -1 : 0;
}

static Node *node_of(PyObject *t, int depth) {
    if (depth > 16 || !PyTuple_CheckExact(t) || PyTuple_GET_SIZE(t) < 2) {
        PyErr_SetString(PyExc_ValueError, "recognizer: expected a compiled schema node (tuple)");
        return NULL;
    }
    Py_ssize_t kind;
    if (ssize_at(t, 0, &kind) < 0) return NULL;
    Node *n = PyMem_Calloc(1, sizeof(Node));
    if (n == NULL) return (Node *)PyErr_NoMemory();
    n->kind = (int)kind;
    Py_ssize_t size = PyTuple_GET_SIZE(t);
    if (kind == N_OBJECT && size == 4) {
        PyObject *keys = PyTuple_GET_ITEM(t, 1), *nodes = PyTuple_GET_ITEM(t, 2);
        Py_ssize_t mask;
        if (!PyTuple_CheckExact(keys) || !PyTuple_CheckExact(nodes) ||
            PyTuple_GET_SIZE(keys) != PyTuple_GET_SIZE(nodes) ||
            PyTuple_GET_SIZE(keys) > MAX_PROPS || ssize_at(t, 3, &mask) < 0)
            goto bad;
        n->nprops = (int)PyTuple_GET_SIZE(keys);
        n->required = (uint32_t)mask;
        n->keys = PyMem_Calloc((size_t)n->nprops + 1, sizeof(char *));
        n->lens = PyMem_Calloc((size_t)n->nprops + 1, sizeof(Py_ssize_t));
        n->props = PyMem_Calloc((size_t)n->nprops + 1, sizeof(Node *));
        if (n->keys == NULL || n->lens == NULL || n->props == NULL) {
            PyErr_NoMemory();
            goto fail;
        }
        for (int i = 0; i < n->nprops; i++) {
            if (copy_bytes(PyTuple_GET_ITEM(keys, i), &n->keys[i], &n->lens[i]) < 0) goto fail;
            n->props[i] = node_of(PyTuple_GET_ITEM(nodes, i), depth + 1);
            if (n->props[i] == NULL) goto fail;
        }
        return n;
    }
    if (kind == N_STRING && size == 4) {
        Py_ssize_t pattern;
        if (ssize_at(t, 1, &n->min) < 0 || ssize_at(t, 2, &n->max) < 0 ||
            ssize_at(t, 3, &pattern) < 0)
            goto fail;
        if (pattern < 0 || pattern > P_LAST) goto bad;
        n->pattern = (int)pattern;
        return n;
    }
    if (kind == N_ENUM && size == 2) {
        PyObject *values = PyTuple_GET_ITEM(t, 1);
        if (!PyTuple_CheckExact(values) || PyTuple_GET_SIZE(values) > 64) goto bad;
        n->nvalues = (int)PyTuple_GET_SIZE(values);
        n->keys = PyMem_Calloc((size_t)n->nvalues + 1, sizeof(char *));
        n->lens = PyMem_Calloc((size_t)n->nvalues + 1, sizeof(Py_ssize_t));
        if (n->keys == NULL || n->lens == NULL) {
            PyErr_NoMemory();
            goto fail;
        }
        for (int i = 0; i < n->nvalues; i++)
            if (copy_bytes(PyTuple_GET_ITEM(values, i), &n->keys[i], &n->lens[i]) < 0) goto fail;
        return n;
    }
    if (kind == N_ARRAY && size == 4) {
        if (ssize_at(t, 1, &n->min) < 0 || ssize_at(t, 2, &n->max) < 0) goto fail;
        n->items = node_of(PyTuple_GET_ITEM(t, 3), depth + 1);
        if (n->items == NULL) goto fail;
        return n;
    }
bad:
    PyErr_SetString(PyExc_ValueError, "recognizer: expected a compiled schema node: (0, keys, "
                                      "nodes, required), (1, min, max, pattern), (2, values) or "
                                      "(3, min, max, items)");
fail:
    node_free(n);
    return NULL;
}

typedef struct {
    Node *root;
    PyObject *bind;  /* (outer, party, did, name) bytes or None */
    PyObject *facts; /* (outer, start, end) bytes */
    long today;      /* YYYYMMDD */
    PyObject *holder_key, *level_outer, *level_key;
} Rec;

#define REC_NAME "talentproof.credential.native_sign.recognizer"

static void rec_free(PyObject *capsule) {
    Rec *r = PyCapsule_GetPointer(capsule, REC_NAME);
    if (r == NULL) return;
    node_free(r->root);
    Py_XDECREF(r->bind);
    Py_XDECREF(r->facts);
    Py_XDECREF(r->holder_key);
    Py_XDECREF(r->level_outer);
    Py_XDECREF(r->level_key);
    PyMem_Free(r);
}

static int all_bytes(PyObject *t, Py_ssize_t n) {
    if (!PyTuple_CheckExact(t) || PyTuple_GET_SIZE(t) != n) return 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (!PyBytes_CheckExact(PyTuple_GET_ITEM(t, i))) return 0;
    return 1;
}

static PyObject *recognizer(PyObject *self, PyObject *args) {
    PyObject *schema, *bind, *facts, *holder_key, *level_path;
    long today;
    if (!PyArg_ParseTuple(args, "OOOlOO:recognizer", &schema, &bind, &facts, &today, &holder_key,
                          &level_path))
        return NULL;
    if ((bind != Py_None && !all_bytes(bind, 4)) || !all_bytes(facts, 3) ||
        !PyBytes_CheckExact(holder_key) || !all_bytes(level_path, 2)) {
        PyErr_SetString(PyExc_TypeError, "recognizer: expected bind (4 bytes) or None, facts (3 "
                                         "bytes), today, holder key (bytes), level path (2 bytes)");
        return NULL;
    }
    Node *root = node_of(schema, 0);
    if (root == NULL) return NULL;
    if (root->kind != N_OBJECT) {
        node_free(root);
        PyErr_SetString(PyExc_ValueError, "recognizer: expected an object schema");
        return NULL;
    }
    Rec *r = PyMem_Calloc(1, sizeof(Rec));
    if (r == NULL) {
        node_free(root);
        return PyErr_NoMemory();
    }
    r->root = root;
    r->today = today;
    Py_INCREF(bind);
    r->bind = bind;
    Py_INCREF(facts);
    r->facts = facts;
    Py_INCREF(holder_key);
    r->holder_key = holder_key;
    r->level_outer = PyTuple_GET_ITEM(level_path, 0);
    r->level_key = PyTuple_GET_ITEM(level_path, 1);
    Py_INCREF(r->level_outer);
    Py_INCREF(r->level_key);
    PyObject *capsule = PyCapsule_New(r, REC_NAME, rec_free);
    if (capsule == NULL) {
        /* (rec_free cannot run without its capsule) */
        node_free(root);
        Py_DECREF(bind);
        Py_DECREF(facts);
        Py_DECREF(holder_key);
        Py_DECREF(r->level_outer);
        Py_DECREF(r->level_key);
        PyMem_Free(r);
    }
    return capsule;
}

/* -- the parse: JSON text (RFC 8259, as orjson reads it) directed by the schema -- */

typedef struct Val Val;
struct Val {
    int kind;          /* N_OBJECT, N_STRING (enum values too), N_ARRAY */
    const char *s;     /* string: its decoded UTF-8 */
    Py_ssize_t n;      /* string: bytes; array: items */
    Val **slots;       /* object: one per schema key */
    Val *first, *next; /* array items */
};

typedef struct {
    const unsigned char *p, *end;
    char *dec; /* decoded strings with escapes (capacity >= the record) */
    Py_ssize_t dlen;
    Val vals[MAX_VALS];
    Val *slots[MAX_SLOTS];
    int nvals, nslots;
} Parse;

#define DECLINE (-2)

static inline void skip_ws(Parse *q) {
    while (q->p < q->end && (*q->p == ' ' || *q->p == '\t' || *q->p == '\n' || *q->p == '\r'))
        q->p++;
}

static Val *new_val(Parse *q, int kind) {
    if (q->nvals >= MAX_VALS) return NULL;
    Val *v = &q->vals[q->nvals++];
    memset(v, 0, sizeof *v);
    v->kind = kind;
    return v;
}

static Val **new_slots(Parse *q, int n) {
    if (q->nslots + n > MAX_SLOTS) return NULL;
    Val **s = &q->slots[q->nslots];
    q->nslots += n;
    memset(s, 0, sizeof(Val *) * (size_t)n);
    return s;
}

static int hex4(const unsigned char *p, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return -1;
        v = (v << 4) | d;
    }
    *out = v;
    return 0;
}

/* The length of one well-formed UTF-8 sequence at p (strict: no overlong forms, no surrogates,
 * nothing above U+10FFFF), or 0. */
static int utf8_seq(const unsigned char *p, const unsigned char *end) {
    unsigned c = p[0];
    if (c < 0x80) return 1;
    Py_ssize_t left = end - p;
    if (c >= 0xC2 && c <= 0xDF) return (left >= 2 && (p[1] & 0xC0) == 0x80) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (left < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && p[1] < 0xA0) return 0;
        if (c == 0xED && p[1] > 0x9F) return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (left < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && p[1] < 0x90) return 0;
        if (c == 0xF4 && p[1] > 0x8F) return 0;
        return 4;
    }
    return 0;
}

static char *put_utf8(char *o, unsigned cp) {
    if (cp < 0x80) *o++ = (char)cp;
    else if (cp < 0x800) {
        *o++ = (char)(0xC0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* A JSON string at q->p (its opening quote) into (s, n): the record's own bytes when it has no
 * escape, else decoded into q->dec. DECLINE: not a well-formed string of valid Unicode. */
static int parse_string(Parse *q, const char **s, Py_ssize_t *n) {
    if (q->p >= q->end || *q->p != '"') return DECLINE;
    const unsigned char *start = ++q->p, *p = start, *end = q->end;
    while (p < end) {
        unsigned c = *p;
        if (c == '"') {
            *s = (const char *)start;
            *n = p - start;
            q->p = p + 1;
            return 0;
        }
        if (c == '\\') break;
        if (c < 0x20) return DECLINE;
        if (c < 0x80) {
            p++;
            continue;
        }
        int k = utf8_seq(p, end);
        if (k == 0) return DECLINE;
        p += k;
    }
    if (p >= end) return DECLINE;
    /* an escape: decode from start into q->dec (decoded <= raw: capacity holds) */
    char *o = q->dec + q->dlen, *o0 = o;
    memcpy(o, start, (size_t)(p - start));
    o += p - start;
    while (p < end) {
        unsigned c = *p;
        if (c == '"') {
            *s = o0;
            *n = o - o0;
            q->dlen += o - o0;
            q->p = p + 1;
            return 0;
        }
        if (c < 0x20) return DECLINE;
        if (c >= 0x80) {
            int k = utf8_seq(p, end);
            if (k == 0) return DECLINE;
            memcpy(o, p, (size_t)k);
            o += k;
            p += k;
            continue;
        }
        if (c != '\\') {
            *o++ = (char)c;
            p++;
            continue;
        }
        if (end - p < 2) return DECLINE;
        unsigned e = p[1];
        p += 2;
        switch (e) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (end - p < 4 || hex4(p, &cp) < 0) return DECLINE;
            p += 4;
            if (cp >= 0xDC00 && cp <= 0xDFFF) return DECLINE; /* a lone low surrogate */
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) < 0 ||
                    lo < 0xDC00 || lo > 0xDFFF)
                    return DECLINE;
                p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            o = put_utf8(o, cp);
            break;
        }
        default: return DECLINE;
        }
    }
    return DECLINE;
}

static int parse_value(Parse *q, const Node *node, Val **out, int depth);

static int parse_object(Parse *q, const Node *node, Val **out, int depth) {
    /* q->p at '{' */
    Val *v = new_val(q, N_OBJECT);
    if (v == NULL || (v->slots = new_slots(q, node->nprops)) == NULL) return DECLINE;
    q->p++;
    skip_ws(q);
    if (q->p < q->end && *q->p == '}') {
        q->p++;
        *out = v;
        return 0;
    }
    for (;;) {
        const char *key;
        Py_ssize_t klen;
        if (parse_string(q, &key, &klen) < 0) return DECLINE;
        int i = 0;
        while (i < node->nprops &&
               (node->lens[i] != klen || memcmp(node->keys[i], key, (size_t)klen) != 0))
            i++;
        if (i == node->nprops || v->slots[i] != NULL) return DECLINE; /* unknown, or twice */
        skip_ws(q);
        if (q->p >= q->end || *q->p != ':') return DECLINE;
        q->p++;
        skip_ws(q);
        if (parse_value(q, node->props[i], &v->slots[i], depth + 1) < 0) return DECLINE;
        skip_ws(q);
        if (q->p >= q->end) return DECLINE;
        if (*q->p == '}') {
            q->p++;
            *out = v;
            return 0;
        }
        if (*q->p != ',') return DECLINE;
        q->p++;
        skip_ws(q);
    }
}

static int parse_value(Parse *q, const Node *node, Val **out, int depth) {
    if (depth > 16 || q->p >= q->end) return DECLINE;
    unsigned c = *q->p;
    if (node->kind == N_OBJECT) return c == '{' ? parse_object(q, node, out, depth) : DECLINE;
    if (node->kind == N_STRING || node->kind == N_ENUM) {
        Val *v = new_val(q, N_STRING);
        if (v == NULL || parse_string(q, &v->s, &v->n) < 0) return DECLINE;
        *out = v;
        return 0;
    }
    if (node->kind != N_ARRAY || c != '[') return DECLINE;
    Val *v = new_val(q, N_ARRAY), *last = NULL;
    if (v == NULL) return DECLINE;
    q->p++;
    skip_ws(q);
    if (q->p < q->end && *q->p == ']') {
        q->p++;
        *out = v;
        return 0;
    }
    for (;;) {
        Val *item = NULL;
        if (parse_value(q, node->items, &item, depth + 1) < 0) return DECLINE;
        if (last == NULL) v->first = item;
        else last->next = item;
        last = item;
        v->n++;
        skip_ws(q);
        if (q->p >= q->end) return DECLINE;
        if (*q->p == ']') {
            q->p++;
            *out = v;
            return 0;
        }
        if (*q->p != ',') return DECLINE;
        q->p++;
        skip_ws(q);
    }
}

/* -- the schema's checks on the parsed (and bound) subject -- */


static int valid(const Node *node, const Val *v) {
    switch (node->kind) {
    case N_OBJECT:
        if (v->kind != N_OBJECT) return 0;
        for (int i = 0; i < node->nprops; i++) {
            if (v->slots[i] == NULL) {
                if (node->required & (1u << i)) return 0;
            } else if (!valid(node->props[i], v->slots[i]))
                return 0;
        }
        return 1;
    case N_STRING: {
        if (v->kind != N_STRING) return 0;
        if (node->min > 0 || node->max >= 0) {
            Py_ssize_t count = code_points(v->s, v->n);
            if (count < node->min || (node->max >= 0 && count > node->max)) return 0;
        }
        return pattern_ok(node->pattern, (const unsigned char *)v->s, v->n);
    }
    case N_ENUM:
        if (v->kind != N_STRING) return 0;
        for (int i = 0; i < node->nvalues; i++)
            if (node->lens[i] == v->n && memcmp(node->keys[i], v->s, (size_t)v->n) == 0) return 1;
        return 0;
    case N_ARRAY:
        if (v->kind != N_ARRAY || v->n < node->min || (node->max >= 0 && v->n > node->max))
            return 0;
        for (const Val *item = v->first; item != NULL; item = item->next)
            if (!valid(node->items, item)) return 0;
        return 1;
    }
    return 0;
}

/* -- lookups, binding, facts, holder -- */

static int slot_of(const Node *node, PyObject *key) {
    if (node->kind != N_OBJECT) return -1;
    Py_ssize_t n = PyBytes_GET_SIZE(key);
    for (int i = 0; i < node->nprops; i++)
        if (node->lens[i] == n && memcmp(node->keys[i], PyBytes_AS_STRING(key), (size_t)n) == 0)
            return i;
    return -1;
}

/* The member ``key`` of object v (schema node ``node``), its node in *sub; NULL if absent. */
static Val *member(const Node *node, Val *v, PyObject *key, const Node **sub) {
    int i = slot_of(node, key);
    if (i < 0 || v == NULL || v->kind != N_OBJECT) return NULL;
    if (sub != NULL) *sub = node->props[i];
    return v->slots[i];
}

static inline int same_text(const Val *v, PyObject *b) {
    return v->kind == N_STRING && v->n == PyBytes_GET_SIZE(b) &&
           memcmp(v->s, PyBytes_AS_STRING(b), (size_t)v->n) == 0;
}

static int slot_named(const Node *node, const char *key) {
    Py_ssize_t n = (Py_ssize_t)strlen(key);
    for (int i = 0; i < node->nprops; i++)
        if (node->lens[i] == n && memcmp(node->keys[i], key, (size_t)n) == 0) return i;
    return -1;
}

/* `bind_subject` (owned) of a subject whose party, if given, states the issuer's own DID and
 * exactly its registered name; DECLINE for anything else (another id, a differently written
 * name: Python decides). */
static int bind(Parse *q, const Rec *r, const Node *root, Val *subject) {
    if (r->bind == Py_None) return 0;
    PyObject *outer_key = PyTuple_GET_ITEM(r->bind, 0), *party_key = PyTuple_GET_ITEM(r->bind, 1),
             *did = PyTuple_GET_ITEM(r->bind, 2), *name = PyTuple_GET_ITEM(r->bind, 3);
    const Node *outer_node = NULL;
    Val *outer = member(root, subject, outer_key, &outer_node);
    if (outer == NULL || outer->kind != N_OBJECT) return DECLINE;
    int pi = slot_of(outer_node, party_key);
    if (pi < 0) return DECLINE;
    const Node *party_node = outer_node->props[pi];
    if (party_node->kind != N_OBJECT) return DECLINE;
    int ii = slot_named(party_node, "id"), ni = slot_named(party_node, "name");
    if (ii < 0 || ni < 0) return DECLINE;
    Val *party = outer->slots[pi];
    if (party == NULL) { /* absent: {} then bound */
        party = new_val(q, N_OBJECT);
        if (party == NULL || (party->slots = new_slots(q, party_node->nprops)) == NULL)
            return DECLINE;
        outer->slots[pi] = party;
    }
    if (party->kind != N_OBJECT) return DECLINE;
    if (party->slots[ii] != NULL && !same_text(party->slots[ii], did)) return DECLINE;
    if (party->slots[ni] != NULL && !same_text(party->slots[ni], name)) return DECLINE;
    if (party->slots[ii] == NULL) {
        Val *v = new_val(q, N_STRING);
        if (v == NULL) return DECLINE;
        v->s = PyBytes_AS_STRING(did);
        v->n = PyBytes_GET_SIZE(did);
        party->slots[ii] = v;
    }
    if (party->slots[ni] == NULL) {
        Val *v = new_val(q, N_STRING);
        if (v == NULL) return DECLINE;
        v->s = PyBytes_AS_STRING(name);
        v->n = PyBytes_GET_SIZE(name);
        party->slots[ni] = v;
    }
    return 0;
}

/* A YYYY-MM-DD text that names a calendar date (`claims._parse_text`), as YYYYMMDD; 0 if not. */
static long calendar_day(const Val *v) {
    if (v->kind != N_STRING || !date_form((const unsigned char *)v->s, v->n)) return 0;
    const char *s = v->s;
    long year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int month = (s[5] - '0') * 10 + (s[6] - '0'), day = (s[8] - '0') * 10 + (s[9] - '0');
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    int last = days[month - 1] + (month == 2 && leap);
    if (year < 1 || day > last) return 0;
    return year * 10000 + month * 100 + day;
}

#define EARLIEST_BIRTH 19000101L

/* `claims.subject_facts_ok`: 1 only when the subject's dates are possible (birth on or after
 * 1900-01-01 and not after today; the start not after today and after the birth; the end not
 * after today and not before the start). */
static int facts_ok(const Rec *r, const Node *root, Val *subject) {
    long birth = 0, start = 0;
    int bi = slot_named(root, "birthDate");
    Val *b = bi < 0 ? NULL : subject->slots[bi];
    if (b != NULL) {
        birth = calendar_day(b);
        if (birth == 0 || birth < EARLIEST_BIRTH || birth > r->today) return 0;
    }
    const Node *outer_node = NULL;
    Val *outer = member(root, subject, PyTuple_GET_ITEM(r->facts, 0), &outer_node);
    if (outer == NULL || outer->kind != N_OBJECT) return 0;
    Val *s = member(outer_node, outer, PyTuple_GET_ITEM(r->facts, 1), NULL);
    if (s != NULL) {
        start = calendar_day(s);
        if (start == 0 || start > r->today || (birth && start <= birth)) return 0;
    }
    PyObject *end_key = PyTuple_GET_ITEM(r->facts, 2);
    if (PyBytes_GET_SIZE(end_key) == 0) return 1;
    Val *e = member(outer_node, outer, end_key, NULL);
    if (e == NULL) return 1;
    long end = calendar_day(e);
    return end != 0 && end <= r->today && (start == 0 || end >= start);
}



/* `validation.is_holder_did`: did:key:z + base58btc of 0xed01 + 32 bytes (b58decode: leading
 * '1's are zero bytes, the rest the number's minimal big-endian bytes), no fragment. The number
 * is built in 32-bit limbs, five digits a step (58**5 < 2**32). */
static int holder_ok(const Val *v) {
    if (v == NULL || v->kind != N_STRING || v->n < 10 || memcmp(v->s, "did:key:z", 9) != 0)
        return 0;
    const unsigned char *s = (const unsigned char *)v->s + 9;
    Py_ssize_t n = v->n - 9;
    if (n > 60 || s[0] == '1') return 0; /* a leading zero byte: not 0xed */
    uint32_t limb[12] = {0}; /* little-endian limbs: 384 bits > 58**60 */
    Py_ssize_t i = 0;
    while (i < n) {
        uint32_t mul = 1, add = 0;
        for (int k = 0; k < 5 && i < n; k++, i++) {
            unsigned d = B58_VALUE[s[i]];
            if (d == 255) return 0;
            mul *= 58;
            add = add * 58 + d;
        }
        uint64_t carry = add;
        for (int j = 0; j < 12; j++) {
            uint64_t cur = (uint64_t)limb[j] * mul + carry;
            limb[j] = (uint32_t)cur;
            carry = cur >> 32;
        }
        if (carry) return 0;
    }
    /* 34 bytes exactly, the first two ed 01: bits 272.. zero, bytes 33 and 32 = 0xed, 0x01 */
    for (int j = 9; j < 12; j++)
        if (limb[j]) return 0;
    if (limb[8] >> 16) return 0;
    return (limb[8] >> 8) == 0xED && (limb[8] & 0xFF) == 0x01;
}

/* -- JCS of the checked subject: members in the schema's sorted key order -- */

static int write_val(Buf *b, const Node *node, const Val *v) {
    if (v->kind == N_STRING) return put_string(b, v->s, v->n);
    if (v->kind == N_ARRAY) {
        if (putc1(b, '[') < 0) return FAIL;
        for (const Val *item = v->first; item != NULL; item = item->next) {
            if (item != v->first && putc1(b, ',') < 0) return FAIL;
            if (write_val(b, node->items, item) < 0) return FAIL;
        }
        return putc1(b, ']');
    }
    if (putc1(b, '{') < 0) return FAIL;
    int first = 1;
    for (int i = 0; i < node->nprops; i++) {
        if (v->slots[i] == NULL) continue;
        if (!first && putc1(b, ',') < 0) return FAIL;
        first = 0;
        if (put_string(b, node->keys[i], node->lens[i]) < 0 || putc1(b, ':') < 0 ||
            write_val(b, node->props[i], v->slots[i]) < 0)
            return FAIL;
    }
    return putc1(b, '}');
}

static Parse parse_state;
static char *dec_buf = NULL;
static Py_ssize_t dec_cap = 0;

/* The checked, bound subject of a record, or NULL (DECLINE; *err set when a Python error is). */
static Val *recognize(const Rec *r, const unsigned char *data, Py_ssize_t len, PyObject *levels,
                      int *err) {
    Parse *q = &parse_state;
    *err = 0;
    if (len > (1 << 20)) return NULL; /* larger than any valid row: Python reports it */
    if (dec_cap < len + 1) {
        char *p = PyMem_Realloc(dec_buf, (size_t)len + 1);
        if (p == NULL) {
            PyErr_NoMemory();
            *err = 1;
            return NULL;
        }
        dec_buf = p;
        dec_cap = len + 1;
    }
    q->p = data;
    q->end = data + len;
    q->dec = dec_buf;
    q->dlen = 0;
    q->nvals = q->nslots = 0;
    const Node *root = r->root;
    Val *subject = NULL;
    skip_ws(q);
    if (q->p >= q->end || *q->p != '{') return NULL;
    /* {"credentialSubject": subject} (that member alone), or the subject itself */
    const unsigned char *open = q->p;
    q->p++;
    skip_ws(q);
    const char *key;
    Py_ssize_t klen;
    if (q->p < q->end && *q->p == '"' && parse_string(q, &key, &klen) == 0 && klen == 17 &&
        memcmp(key, "credentialSubject", 17) == 0) {
        skip_ws(q);
        if (q->p >= q->end || *q->p != ':') return NULL;
        q->p++;
        skip_ws(q);
        if (q->p >= q->end || *q->p != '{' || parse_object(q, root, &subject, 1) < 0) return NULL;
        skip_ws(q);
        if (q->p >= q->end || *q->p != '}') return NULL; /* another member: Python decides */
        q->p++;
    } else {
        q->p = open;
        q->dlen = 0;
        if (parse_object(q, root, &subject, 0) < 0) return NULL;
    }
    skip_ws(q);
    if (q->p != q->end) return NULL;
    if (levels != Py_None) { /* `_level_refused`: the level among the accredited ones */
        const Node *outer_node = NULL;
        Val *outer = member(root, subject, r->level_outer, &outer_node);
        Val *level = outer_node ? member(outer_node, outer, r->level_key, NULL) : NULL;
        int found = 0;
        if (level != NULL && level->kind == N_STRING)
            for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(levels); i++)
                if (same_text(level, PyTuple_GET_ITEM(levels, i))) found = 1;
        if (!found) return NULL;
    }
    if (bind(q, r, root, subject) < 0) return NULL;
    if (!valid(root, subject)) return NULL;
    if (!holder_ok(member(root, subject, r->holder_key, NULL))) return NULL;
    if (!facts_ok(r, root, subject)) return NULL;
    return subject;
}

static Rec *rec_of(PyObject *capsule) { return PyCapsule_GetPointer(capsule, REC_NAME); }

static PyObject *issue_record(PyObject *self, PyObject *args) {
    PyObject *capsule, *rec_capsule, *record, *index_obj, *cid, *levels;
    if (!PyArg_ParseTuple(args, "OOOOOO:issue_record", &capsule, &rec_capsule, &record,
                          &index_obj, &cid, &levels))
        return NULL;
    Tpl *t = tpl_of(capsule);
    if (t == NULL) return NULL;
    Rec *r = rec_of(rec_capsule);
    if (r == NULL) return NULL;
    if (levels != Py_None) {
        if (!PyTuple_CheckExact(levels)) Py_RETURN_NONE;
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(levels); i++)
            if (!PyBytes_CheckExact(PyTuple_GET_ITEM(levels, i))) Py_RETURN_NONE;
    }
    if (sodium_sign == NULL || !PyLong_CheckExact(index_obj) || !PyUnicode_CheckExact(cid) ||
        !PyBytes_CheckExact(record))
        Py_RETURN_NONE;
    int overflow = 0;
    long long index = PyLong_AsLongLongAndOverflow(index_obj, &overflow);
    if (index == -1 && PyErr_Occurred()) return NULL;
    if (overflow || index < 0) Py_RETURN_NONE;
    const char *cid_data;
    Py_ssize_t cid_len;
    int rc = utf8_of(cid, &cid_data, &cid_len);
    if (rc == FAIL) return NULL;
    if (rc == BAIL) Py_RETURN_NONE;
    int err = 0;
    Val *subject = recognize(r, (const unsigned char *)PyBytes_AS_STRING(record),
                             PyBytes_GET_SIZE(record), levels, &err);
    if (err) return NULL;
    if (subject == NULL) Py_RETURN_NONE;
    char index_text[32];
    int index_len = snprintf(index_text, sizeof index_text, "%lld", index);
    Buf *b = &work;
    b->len = 0;
    if (put_bytes(b, t->subject_head) < 0) return NULL;
    Py_ssize_t nparts = PyTuple_GET_SIZE(t->status_parts);
    for (Py_ssize_t i = 0; i < nparts; i++) {
        if (i && put(b, index_text, index_len) < 0) return NULL;
        if (put_bytes(b, PyTuple_GET_ITEM(t->status_parts, i)) < 0) return NULL;
    }
    if (put_lit(b, ",\"credentialSubject\":") < 0 || write_val(b, r->root, subject) < 0 ||
        put_lit(b, ",\"id\":\"") < 0 || put(b, cid_data, cid_len) < 0 ||
        put_bytes(b, t->subject_id_tail) < 0)
        return NULL;
    SHA256_CTX state;
    SHA256_Init(&state);
    SHA256_Update(&state, b->p, (size_t)b->len);
    return finish(t, cid, b->p, b->len, PyBytes_AS_STRING(t->subject_tail),
                  PyBytes_GET_SIZE(t->subject_tail), &state);
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
    {"recognizer", recognizer, METH_VARARGS,
     "recognizer(schema, bind, facts, today, holder_key, level_path) -> capsule: the subject's "
     "compiled schema and checks for issue_record."},
    {"issue_record", issue_record, METH_VARARGS,
     "issue_record(tpl, recognizer, record, status_index, cid, levels) -> (cid, document, hash) "
     "or None: a subject-only JSONL record checked, canonicalized and signed from its bytes."},
    {"b58encode_64", b58encode_64, METH_O,
     "b58encode_64(signature) -> bytes: base58btc of 64 bytes (_base58.b58encode's twin)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef sign_module = {
    PyModuleDef_HEAD_INIT, "native_sign",
    "The signing side's per-credential byte work in C (issue 17.3): see credential/native_sign.c.",
    -1, sign_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit_native_sign(void) {
    b58_table();
    return PyModule_Create(&sign_module);
}
