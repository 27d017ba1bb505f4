/*
 * talentproof.credential.native: the verifier's hot byte work in C, each function the twin of a
 * Python one (which runs whenever the C one answers None): the JCS cut of a signed credential
 * (below), the parse guard (json_guard), the Merkle root of an inclusion proof (merkle_root)
 * and the hex decoding of an anchor proof's path (hex_hashes).
 *
 * Why C, and what it replaces (figures: bench/results.md 2026-12-07, docs/architecture.md's table
 * "The C fast paths"; bench/verifier_perf.py measures each):
 *   jcs_cuts, jcs_digests: integrity.canonical_cuts_reference and the plain JCS + SHA-256 of
 *     check 3 (rfc8785 the reference): the canonical cut 2.6 against 7.6 us a credential;
 *     differential test tests/credential/test_native_jcs.py.
 *   json_guard: credential.jsonread.vouches_python (orjson's parse refuses duplicate keys
 *     as json does): 6.9 against 8.8 us a credential; tests/verifier/test_json_guard.py.
 *   merkle_root: merkle.root_from_inclusion_reference (check 4's RFC 9162 loop): 1.9 against
 *     8.8 us a credential; tests/credential/test_native_merkle.py.
 *   hex_hashes: anchor._hashes_from_hex_reference (check 1's path decoding): no row of its own
 *     (check 1 as a whole 14.5 -> 11.2 us a credential); tests/credential/test_cred_anchor_fast.py.
 *
 * jcs_cuts(document, proof) -> (F, x, y, a, b, c, d) or None
 *
 * The fast twin of credential/integrity.py's `canonical_cuts_reference` (same contract):
 * F = JCS(document) (RFC 8785), F[:x] + F[y:] = JCS(document without "proof"), and
 * F[a:b] + F[c:d] = JCS(proof without "proofValue"), where ``proof`` is document["proof"], a
 * dict holding a str "proofValue". The offsets are recorded while F is written (the member
 * "proof" of the top-level object, the member "proofValue" of that proof object), so no text
 * is searched for.
 *
 * Everything this writer is not sure to write exactly as RFC 8785 does answers None, and the
 * caller takes the reference path: a float, an integer outside +-(2**53 - 1), a str with a lone
 * surrogate, an object key holding a character >= U+E000 (where UTF-8 byte order and RFC 8785's
 * UTF-16 order may differ), a tuple, a subclass of any JSON type, any other type, nesting deeper
 * than MAX_DEPTH, a "proof" that is not that dict, a "proofValue" that is not a str. So it only
 * writes dict / list / str / int / bool / None of the exact types, by these rules:
 *   object: "{" members sorted by the UTF-8 bytes of their names (= code point order = UTF-16
 *           order for names below U+E000) "name":value joined by "," "}";
 *   array:  "[" elements joined by "," "]";
 *   string: '"' its UTF-8 with '"' -> \", '\' -> \\, 0x08 \b, 0x09 \t, 0x0A \n, 0x0C \f,
 *           0x0D \r, any other byte below 0x20 -> \u00xx (lower-case hex), the rest as is '"';
 *   int:    its decimal text; true, false, null.
 * tests/credential/test_native_jcs.py compares it with the rfc8785 reference and the Python
 * twin on generated and hand-made documents.
 */
#define PY_SSIZE_T_CLEAN
#define OPENSSL_API_COMPAT 0x10100000L /* SHA256_Init etc.: OpenSSL's libcrypto, as hashlib's */
#include <Python.h>
#include <openssl/sha.h>
#include <string.h>

#define BAIL (-2) /* not written here: the caller takes the reference path */
#define FAIL (-1) /* a Python error is set (memory) */
#define MAX_DEPTH 200
#define MAX_SAFE 9007199254740991LL /* 2**53 - 1 */

typedef struct {
    char *p;
    Py_ssize_t len, cap;
} Buf;

static int buf_grow(Buf *b, Py_ssize_t need) {
    Py_ssize_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < need) {
        if (cap > PY_SSIZE_T_MAX / 2) {
            PyErr_NoMemory();
            return FAIL;
        }
        cap *= 2;
    }
    char *p = PyMem_Realloc(b->p, (size_t)cap);
    if (p == NULL) {
        PyErr_NoMemory();
        return FAIL;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static inline int put(Buf *b, const char *s, Py_ssize_t n) {
    if (b->cap - b->len < n && buf_grow(b, n) < 0) return FAIL;
    memcpy(b->p + b->len, s, (size_t)n);
    b->len += n;
    return 0;
}

static inline int putc1(Buf *b, char c) {
    if (b->cap - b->len < 1 && buf_grow(b, 1) < 0) return FAIL;
    b->p[b->len++] = c;
    return 0;
}

/* The UTF-8 of an exact str, or BAIL (a lone surrogate: not valid Unicode). */
static int utf8_of(PyObject *s, const char **data, Py_ssize_t *size) {
    if (PyUnicode_IS_COMPACT_ASCII(s)) {
        *data = (const char *)PyUnicode_DATA(s);
        *size = PyUnicode_GET_LENGTH(s);
        return 0;
    }
    *data = PyUnicode_AsUTF8AndSize(s, size);
    if (*data == NULL) {
        if (PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
            PyErr_Clear();
            return BAIL;
        }
        return FAIL;
    }
    return 0;
}

static const char HEX[] = "0123456789abcdef";

static int put_string(Buf *b, const char *s, Py_ssize_t n) {
    /* worst case every byte becomes \u00xx (6 bytes), plus the quotes */
    if (n > (PY_SSIZE_T_MAX - 2) / 6) {
        PyErr_NoMemory();
        return FAIL;
    }
    if (b->cap - b->len < 6 * n + 2 && buf_grow(b, 6 * n + 2) < 0) return FAIL;
    char *o = b->p + b->len;
    *o++ = '"';
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case 0x08: *o++ = 'b'; break;
        case 0x09: *o++ = 't'; break;
        case 0x0A: *o++ = 'n'; break;
        case 0x0C: *o++ = 'f'; break;
        case 0x0D: *o++ = 'r'; break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = HEX[c >> 4];
            *o++ = HEX[c & 15];
        }
    }
    *o++ = '"';
    b->len = o - b->p;
    return 0;
}

typedef struct {
    const char *key;
    Py_ssize_t len;
    PyObject *value;
} Member;

static int member_cmp(const void *pa, const void *pb) {
    const Member *a = pa, *b = pb;
    Py_ssize_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->key, b->key, (size_t)n);
    if (c) return c;
    return (a->len > b->len) - (a->len < b->len);
}

/* Where the two members sit in F (offsets into the buffer). */
typedef struct {
    PyObject *proof;  /* document["proof"] */
    Py_ssize_t i, start, end; /* the member "proof": its '"', its value's first and end byte */
    Py_ssize_t j, k; /* the member "proofValue" of the proof: its '"', its value's end */
    int found_proof, found_value;
} Marks;

enum { PLAIN = 0, TOP = 1, PROOF = 2 };

static int write_value(Buf *b, PyObject *o, int depth, Marks *m, int role);

static int write_object(Buf *b, PyObject *o, int depth, Marks *m, int role) {
    Py_ssize_t n = PyDict_GET_SIZE(o);
    Member small[16];
    Member *items = small;
    if (n > 16) {
        items = PyMem_Malloc(sizeof(Member) * (size_t)n);
        if (items == NULL) {
            PyErr_NoMemory();
            return FAIL;
        }
    }
    int rc = 0;
    Py_ssize_t pos = 0, count = 0;
    PyObject *key, *value;
    while (PyDict_Next(o, &pos, &key, &value)) {
        if (!PyUnicode_CheckExact(key)) {
            rc = BAIL;
            goto done;
        }
        const char *data;
        Py_ssize_t size;
        rc = utf8_of(key, &data, &size);
        if (rc < 0) goto done;
        for (Py_ssize_t i = 0; i < size; i++) {
            if ((unsigned char)data[i] >= 0xEE) { /* U+E000 and above: UTF-16 order may differ */
                rc = BAIL;
                goto done;
            }
        }
        items[count].key = data;
        items[count].len = size;
        items[count].value = value;
        count++;
    }
    if (count != n) { /* (the dict changed size: cannot happen without other threads) */
        rc = BAIL;
        goto done;
    }
    if (count > 1) {
        if (count <= 16) { /* insertion sort: objects are small */
            for (Py_ssize_t i = 1; i < count; i++) {
                Member t = items[i];
                Py_ssize_t j = i;
                while (j > 0 && member_cmp(&items[j - 1], &t) > 0) {
                    items[j] = items[j - 1];
                    j--;
                }
                items[j] = t;
            }
        } else {
            qsort(items, (size_t)count, sizeof(Member), member_cmp);
        }
    }
    if ((rc = putc1(b, '{')) < 0) goto done;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (i && (rc = putc1(b, ',')) < 0) goto done;
        Py_ssize_t member_start = b->len;
        if ((rc = put_string(b, items[i].key, items[i].len)) < 0) goto done;
        if ((rc = putc1(b, ':')) < 0) goto done;
        int child = PLAIN;
        if (role == TOP && items[i].len == 5 && memcmp(items[i].key, "proof", 5) == 0) {
            if (items[i].value != m->proof) {
                rc = BAIL;
                goto done;
            }
            m->i = member_start;
            m->start = b->len;
            child = PROOF;
        }
        if (role == PROOF && items[i].len == 10 && memcmp(items[i].key, "proofValue", 10) == 0) {
            if (!PyUnicode_CheckExact(items[i].value)) {
                rc = BAIL;
                goto done;
            }
            m->j = member_start;
        }
        if ((rc = write_value(b, items[i].value, depth + 1, m, child)) < 0) goto done;
        if (child == PROOF) {
            m->end = b->len;
            m->found_proof = 1;
        }
        if (role == PROOF && items[i].len == 10 && memcmp(items[i].key, "proofValue", 10) == 0) {
            m->k = b->len;
            m->found_value = 1;
        }
    }
    rc = putc1(b, '}');
done:
    if (items != small) PyMem_Free(items);
    return rc;
}

static int write_value(Buf *b, PyObject *o, int depth, Marks *m, int role) {
    if (depth > MAX_DEPTH) return BAIL;
    if (PyUnicode_CheckExact(o)) {
        const char *data;
        Py_ssize_t size;
        int rc = utf8_of(o, &data, &size);
        if (rc < 0) return rc;
        return put_string(b, data, size);
    }
    if (PyDict_CheckExact(o)) {
        if (role == PROOF && o != m->proof) return BAIL;
        return write_object(b, o, depth, m, role);
    }
    if (role == PROOF) return BAIL; /* the proof must be the dict itself */
    if (PyList_CheckExact(o)) {
        if (putc1(b, '[') < 0) return FAIL;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(o); i++) {
            if (i && putc1(b, ',') < 0) return FAIL;
            int rc = write_value(b, PyList_GET_ITEM(o, i), depth + 1, m, PLAIN);
            if (rc < 0) return rc;
        }
        return putc1(b, ']');
    }
    if (o == Py_True) return put(b, "true", 4);
    if (o == Py_False) return put(b, "false", 5);
    if (o == Py_None) return put(b, "null", 4);
    if (PyLong_CheckExact(o)) {
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
        if (v == -1 && PyErr_Occurred()) return FAIL;
        if (overflow || v > MAX_SAFE || v < -MAX_SAFE) return BAIL;
        char text[32];
        int len = snprintf(text, sizeof text, "%lld", v);
        return put(b, text, len);
    }
    return BAIL; /* float, tuple, a subclass, any other type */
}

/* The buffer of the last call, reused by the next (freed when above SPARE_MAX). */
static Buf spare = {NULL, 0, 0};
#define SPARE_MAX (1 << 20)

static void keep(Buf *b) {
    if (b->cap > SPARE_MAX) {
        PyMem_Free(b->p);
        b->p = NULL;
        b->cap = 0;
    }
    PyMem_Free(spare.p); /* (NULL unless a nested call left one: cannot happen under the GIL) */
    spare.p = b->p;
    spare.cap = b->cap;
    spare.len = 0;
}

/* JCS(document) written into ``b`` and its cuts (x, y, a, bb, c, d); 0, BAIL or FAIL. */
static int write_cuts(PyObject *document, PyObject *proof, Buf *b, Py_ssize_t cut[6]) {
    if (!PyDict_CheckExact(document) || !PyDict_CheckExact(proof)) return BAIL;
    PyObject *found = PyDict_GetItemString(document, "proof"); /* borrowed */
    if (found != proof) return BAIL;
    Marks m = {proof, -1, -1, -1, -1, -1, 0, 0};
    int rc = write_value(b, document, 0, &m, TOP);
    if (rc < 0) return rc;
    if (!m.found_proof || !m.found_value) return BAIL;
    const char *f = b->p;
    Py_ssize_t n = b->len;
    if (m.i > 0 && f[m.i - 1] == ',') { /* a member before it: drop the comma before it */
        cut[0] = m.i - 1;
        cut[1] = m.end;
    } else if (m.end < n && f[m.end] == ',') { /* the first member of several */
        cut[0] = m.i;
        cut[1] = m.end + 1;
    } else { /* the only member */
        cut[0] = m.i;
        cut[1] = m.end;
    }
    cut[2] = m.start;
    if (f[m.j - 1] == ',') {
        cut[3] = m.j - 1;
        cut[4] = m.k;
    } else if (f[m.k] == ',') {
        cut[3] = m.j;
        cut[4] = m.k + 1;
    } else {
        cut[3] = m.j;
        cut[4] = m.k;
    }
    cut[5] = m.end;
    return 0;
}

/* The arguments (document, proof) parsed by ``format``, JCS(document) written into ``b`` (the
 * spare buffer) and its cuts: 0, or BAIL / FAIL with ``b`` already given back to the spare. */
static int cuts_of(PyObject *args, const char *format, Buf *b, Py_ssize_t cut[6]) {
    PyObject *document, *proof;
    if (!PyArg_ParseTuple(args, format, &document, &proof)) return FAIL;
    b->p = spare.p; /* (the GIL is held throughout: one call at a time) */
    b->len = 0;
    b->cap = spare.cap;
    spare.p = NULL;
    spare.cap = 0;
    int rc = write_cuts(document, proof, b, cut);
    if (rc < 0) keep(b);
    return rc;
}

static PyObject *jcs_cuts(PyObject *self, PyObject *args) {
    Buf b;
    Py_ssize_t cut[6];
    int rc = cuts_of(args, "OO:jcs_cuts", &b, cut);
    if (rc == FAIL) return NULL;
    if (rc < 0) Py_RETURN_NONE;
    PyObject *full = PyBytes_FromStringAndSize(b.p, b.len);
    keep(&b);
    if (full == NULL) return NULL;
    return Py_BuildValue("(Nnnnnnn)", full, cut[0], cut[1], cut[2], cut[3], cut[4], cut[5]);
}

/* jcs_digests(document, proof) -> (hashData, credential hash) or None: what check 3 hashes
 * from the cuts of jcs_cuts (integrity.verify_and_hash): SHA-256(F[a:b] + F[c:d]) +
 * SHA-256(F[:x] + F[y:]) (64 bytes), and SHA-256(F); None whenever jcs_cuts answers None. */
static PyObject *jcs_digests(PyObject *self, PyObject *args) {
    Buf b;
    Py_ssize_t cut[6];
    int rc = cuts_of(args, "OO:jcs_digests", &b, cut);
    if (rc == FAIL) return NULL;
    if (rc < 0) Py_RETURN_NONE;
    const unsigned char *f = (const unsigned char *)b.p;
    unsigned char data[64], chash[32];
    SHA256_CTX unsecured, full, options;
    SHA256_Init(&unsecured); /* F[:x] once, for both F and F[:x] + F[y:] */
    SHA256_Update(&unsecured, f, (size_t)cut[0]);
    full = unsecured;
    SHA256_Update(&full, f + cut[0], (size_t)(b.len - cut[0]));
    SHA256_Update(&unsecured, f + cut[1], (size_t)(b.len - cut[1]));
    SHA256_Init(&options);
    SHA256_Update(&options, f + cut[2], (size_t)(cut[3] - cut[2]));
    SHA256_Update(&options, f + cut[4], (size_t)(cut[5] - cut[4]));
    SHA256_Final(data, &options);
    SHA256_Final(data + 32, &unsecured);
    SHA256_Final(chash, &full);
    keep(&b);
    return Py_BuildValue("(y#y#)", (const char *)data, (Py_ssize_t)64, (const char *)chash,
                         (Py_ssize_t)32);
}

/* ---------------------------------------------------------------------------------------------
 * json_guard(raw, doc) -> bool: whether ``doc`` (orjson.loads(raw)) is provably what the
 * duplicate-refusing reference parse (json.loads with object_pairs_hook) gives for ``raw``: the
 * C twin of the checks in credential/jsonread.py's `vouches_python`. True only when
 *   - ``raw`` holds no escaped colon (\u003a, \u003A) and, outside its strings, no run of 19 or
 *     more ASCII digits (an integer orjson may have read as a float; a hash's hex text in a
 *     string often holds one: 3.6% of anchored credentials took the slow parse for it), and
 *   - the colons of ``raw`` are as many as the members of every object of ``doc`` plus the
 *     colons inside its strings (keys and values): in valid JSON every colon outside strings
 *     separates one member and a colon inside a string is literal unless escaped, so the counts
 *     differ exactly when a member was dropped as a duplicate (what the twin learns by counting
 *     the colons of orjson.dumps(doc), which writes one per member and never escapes one);
 *   - ``doc`` is made of dict / list / str / int / float / bool / None of the exact types and
 *     nests at most GUARD_DEPTH levels (orjson.dumps refuses deeper values: the twin's path).
 * False sends the text to the reference parse, which decides (and words any error).
 */
#define GUARD_DEPTH 200

static Py_ssize_t colons_in(PyObject *s) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(s), count = 0;
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    if (kind == PyUnicode_1BYTE_KIND) {
        const unsigned char *p = data, *end = p + n;
        while ((p = memchr(p, ':', (size_t)(end - p))) != NULL) {
            count++;
            p++;
        }
    } else if (kind == PyUnicode_2BYTE_KIND) {
        const Py_UCS2 *p = data;
        for (Py_ssize_t i = 0; i < n; i++) count += p[i] == ':';
    } else {
        const Py_UCS4 *p = data;
        for (Py_ssize_t i = 0; i < n; i++) count += p[i] == ':';
    }
    return count;
}

/* members + colons in strings of ``o``, or -1 (a type or a depth the guard does not vouch for) */
static Py_ssize_t guard_count(PyObject *o, int depth) {
    if (depth > GUARD_DEPTH) return -1;
    if (PyUnicode_CheckExact(o)) return colons_in(o);
    if (PyDict_CheckExact(o)) {
        Py_ssize_t pos = 0, total = PyDict_GET_SIZE(o);
        PyObject *key, *value;
        while (PyDict_Next(o, &pos, &key, &value)) {
            if (!PyUnicode_CheckExact(key)) return -1;
            Py_ssize_t k = colons_in(key), v = guard_count(value, depth + 1);
            if (v < 0) return -1;
            total += k + v;
        }
        return total;
    }
    if (PyList_CheckExact(o)) {
        Py_ssize_t total = 0;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(o); i++) {
            Py_ssize_t v = guard_count(PyList_GET_ITEM(o, i), depth + 1);
            if (v < 0) return -1;
            total += v;
        }
        return total;
    }
    if (PyLong_CheckExact(o) || PyFloat_CheckExact(o) || o == Py_True || o == Py_False ||
        o == Py_None)
        return 0;
    return -1;
}

static PyObject *json_guard(PyObject *self, PyObject *args) {
    Py_buffer raw;
    PyObject *doc;
    if (!PyArg_ParseTuple(args, "y*O:json_guard", &raw, &doc)) return NULL;
    const unsigned char *p = raw.buf;
    Py_ssize_t n = raw.len, colons = 0, digits = 0;
    int ok = 1, in_string = 0, escaped = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c == ':') {
            colons++;
        } else if (c == '\\' && i + 5 < n && p[i + 1] == 'u' && p[i + 2] == '0' &&
                   p[i + 3] == '0' && p[i + 4] == '3' && (p[i + 5] == 'a' || p[i + 5] == 'A')) {
            ok = 0;
            break;
        }
        /* digits inside a string are text, not an integer orjson may misread: only runs
         * outside strings count (``raw`` is JSON orjson parsed, so its strings are exactly the
         * spans between unescaped quotes) */
        if (in_string) {
            if (escaped)
                escaped = 0;
            else if (c == '\\')
                escaped = 1;
            else if (c == '"')
                in_string = 0;
            continue;
        }
        if (c == '"') {
            in_string = 1;
            digits = 0;
            continue;
        }
        if (c >= '0' && c <= '9') {
            if (++digits >= 19) {
                ok = 0;
                break;
            }
            continue;
        }
        digits = 0;
    }
    PyBuffer_Release(&raw);
    if (ok) ok = guard_count(doc, 0) == colons;
    return PyBool_FromLong(ok);
}

/* ---------------------------------------------------------------------------------------------
 * merkle_root(credential_hash, leaf_index, tree_size, path) -> bytes or None: the root an RFC 9162
 * inclusion proof leads to, the C twin of credential/merkle.py's `root_from_inclusion` (the
 * same decisions: with last = size - 1, the first inner = bit_length(index ^ last) hashes are
 * siblings inside the subtree where the leaf's and the last leaf's paths part, on the right when
 * the index's bit is 0; the hashes after them are left siblings). None for anything but exact
 * bytes of 32 (the hash, each path entry, in a tuple or list), exact ints with
 * 0 <= index < size <= 2**32 - 1 and a path of exactly the length the tree needs: the Python
 * twin then answers or raises its error.
 */
/* SHA-256 through the low-level calls: OpenSSL 3's one-shot SHA256() looks the digest up
 * (EVP) on every call, several times the cost of hashing 65 bytes. */
static void sha256(const unsigned char *data, size_t n, unsigned char *out) {
    SHA256_CTX c;
    SHA256_Init(&c);
    SHA256_Update(&c, data, n);
    SHA256_Final(out, &c);
}

static PyObject *merkle_root(PyObject *self, PyObject *args) {
    PyObject *leaf, *index_obj, *size_obj, *path;
    if (!PyArg_ParseTuple(args, "OOOO:merkle_root", &leaf, &index_obj, &size_obj, &path))
        return NULL;
    if (!PyBytes_CheckExact(leaf) || PyBytes_GET_SIZE(leaf) != 32) Py_RETURN_NONE;
    if (!PyLong_CheckExact(index_obj) || !PyLong_CheckExact(size_obj)) Py_RETURN_NONE;
    int overflow = 0;
    long long index = PyLong_AsLongLongAndOverflow(index_obj, &overflow);
    if (overflow || (index == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    long long size = PyLong_AsLongLongAndOverflow(size_obj, &overflow);
    if (overflow || (size == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    if (size < 1 || size > 4294967295LL || index < 0 || index >= size) Py_RETURN_NONE;
    PyObject **items;
    Py_ssize_t n;
    if (PyTuple_CheckExact(path)) {
        items = &PyTuple_GET_ITEM(path, 0);
        n = PyTuple_GET_SIZE(path);
    } else if (PyList_CheckExact(path)) {
        items = PyList_GET_SIZE(path) ? &PyList_GET_ITEM(path, 0) : NULL;
        n = PyList_GET_SIZE(path);
    } else {
        Py_RETURN_NONE;
    }
    unsigned long long bits = (unsigned long long)(index ^ (size - 1));
    int inner = 0;
    while (bits) {
        inner++;
        bits >>= 1;
    }
    int needed = inner + __builtin_popcountll((unsigned long long)index >> inner);
    if (n != needed) Py_RETURN_NONE;
    for (Py_ssize_t k = 0; k < n; k++) {
        if (!PyBytes_CheckExact(items[k]) || PyBytes_GET_SIZE(items[k]) != 32) Py_RETURN_NONE;
    }
    unsigned char block[65], r[32];
    block[0] = 0x00;
    memcpy(block + 1, PyBytes_AS_STRING(leaf), 32);
    sha256(block, 33, r);
    block[0] = 0x01;
    for (Py_ssize_t k = 0; k < n; k++) {
        const char *p = PyBytes_AS_STRING(items[k]);
        if (k < inner && !((index >> k) & 1)) { /* the sibling on the right */
            memcpy(block + 1, r, 32);
            memcpy(block + 33, p, 32);
        } else { /* on the left */
            memcpy(block + 1, p, 32);
            memcpy(block + 33, r, 32);
        }
        sha256(block, 65, r);
    }
    return PyBytes_FromStringAndSize((const char *)r, 32);
}

/* hex_hashes(path) -> tuple of bytes or None: the fast twin of credential/anchor.py's
 * `_hashes_from_hex_reference` for an anchor proof's "path". Answers only when path is an exact
 * list whose every entry is an exact, ASCII str of 66 characters: "0x" and 64 hex digits (either
 * case); each becomes its 32 bytes. Anything else (a wrong type, length or digit, whitespace,
 * a str subclass) answers None, and the caller takes the reference path for its precise error. */
static int hex_nibble(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static PyObject *hex_hashes(PyObject *self, PyObject *path) {
    if (!PyList_CheckExact(path)) Py_RETURN_NONE;
    Py_ssize_t n = PyList_GET_SIZE(path);
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *s = PyList_GET_ITEM(path, k);
        if (!PyUnicode_CheckExact(s) || !PyUnicode_IS_COMPACT_ASCII(s) ||
            PyUnicode_GET_LENGTH(s) != 66)
            Py_RETURN_NONE;
        const unsigned char *t = (const unsigned char *)PyUnicode_DATA(s);
        if (t[0] != '0' || t[1] != 'x') Py_RETURN_NONE;
        for (int i = 2; i < 66; i++)
            if (hex_nibble(t[i]) < 0) Py_RETURN_NONE;
    }
    PyObject *out = PyTuple_New(n);
    if (out == NULL) return NULL;
    for (Py_ssize_t k = 0; k < n; k++) {
        /* (the list cannot change meanwhile: no Python code runs between the two loops) */
        const unsigned char *t = (const unsigned char *)PyUnicode_DATA(PyList_GET_ITEM(path, k));
        PyObject *b = PyBytes_FromStringAndSize(NULL, 32);
        if (b == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        unsigned char *o = (unsigned char *)PyBytes_AS_STRING(b);
        for (int i = 0; i < 32; i++)
            o[i] = (unsigned char)((hex_nibble(t[2 + 2 * i]) << 4) | hex_nibble(t[3 + 2 * i]));
        PyTuple_SET_ITEM(out, k, b);
    }
    return out;
}

static PyMethodDef methods[] = {
    {"hex_hashes", hex_hashes, METH_O,
     "hex_hashes(path) -> tuple of 32-byte bytes or None: an anchor proof's path entries "
     "(\"0x\" + 64 hex digits each, an exact list of exact str) decoded "
     "(anchor._hashes_from_hex_reference), None when not exact."},
    {"jcs_cuts", jcs_cuts, METH_VARARGS,
     "jcs_cuts(document, proof) -> (F, x, y, a, b, c, d) or None: F = JCS(document), "
     "F[:x] + F[y:] = JCS(document without proof), F[a:b] + F[c:d] = JCS(proof without "
     "proofValue); None for anything it does not write exactly (see the source)."},
    {"jcs_digests", jcs_digests, METH_VARARGS,
     "jcs_digests(document, proof) -> (hashData, credential hash) or None: SHA-256 of the "
     "proof options' and of the unsecured document's JCS (64 bytes), and of the document's."},
    {"json_guard", json_guard, METH_VARARGS,
     "json_guard(raw, doc) -> bool: doc = orjson.loads(raw) is provably the duplicate-refusing "
     "reference parse of raw (no duplicated member, no integer beyond 64 bits; see the source)."},
    {"merkle_root", merkle_root, METH_VARARGS,
     "merkle_root(credential_hash, leaf_index, tree_size, path) -> bytes or None: the RFC 9162 "
     "root the inclusion proof leads to (merkle.root_from_inclusion), None when not exact."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "native",
    "The verifier's JCS cut of a signed credential in C (credential/integrity.py's fast twin).",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit_native(void) { return PyModule_Create(&module); }
