/* talentproof.credential.native_frame: documents cut along a frame, in C.
 *
 * split_block(parts, blob, lengths) -> list or None: for each document of ``blob`` (the
 * documents joined, ``lengths`` the length of each, in order), what credential/frames.py's
 * `split(parts, document)` answers: the bytes between the frame's ``parts`` (a tuple of two or
 * more non-empty bytes without a NUL byte), joined by NUL bytes, or None when the document is
 * not the parts in order with something or nothing between them (it starts with the first,
 * each next one is found at its leftmost place after the one before, it ends with the last
 * after them) or a hole holds a NUL byte. None for the whole call (the Python twin decides,
 * and raises) when the arguments are anything else: parts not such a tuple, lengths not a
 * list of non-negative ints within the blob.
 *
 * Why: a bulk chunk's documents share ~1 KB of ~1.7 KB (the contexts, the status entries but
 * their index, the issuer, the proof's options, the type): stored once a chunk
 * (`issuer.db.DocumentFrame`), each row keeps ~0.6 KB, and SQLite writes, checkpoints and
 * syncs half the bytes. In Python the cut cost ~3-4 us a document (six finds and slices); here
 * memmem and one copy.
 */
#define PY_SSIZE_T_CLEAN
#define _GNU_SOURCE /* memmem */
#include <Python.h>
#include <string.h>

#define MAX_PARTS 64

/* The leftmost ``needle`` in ``hay``, or NULL: its first bytes by memmem (glibc's short-needle
 * search; a long needle pays the two-way algorithm's set-up every call), then the rest compared. */
static const char *find(const char *hay, Py_ssize_t n, const char *needle, Py_ssize_t m) {
    Py_ssize_t head = m < 8 ? m : 8;
    while (n >= m) {
        const char *at = memmem(hay, (size_t)(n - m + head), needle, (size_t)head);
        if (at == NULL) {
            return NULL;
        }
        if (memcmp(at + head, needle + head, (size_t)(m - head)) == 0) {
            return at;
        }
        n -= at + 1 - hay;
        hay = at + 1;
    }
    return NULL;
}

/* The holes of ``doc`` (NUL-joined) as new bytes, Py_None (a new reference) when it does not
 * fit, NULL on a memory error. */
static PyObject *split_one(const char *doc, Py_ssize_t n, Py_ssize_t count,
                           const char *const *part, const Py_ssize_t *plen, Py_ssize_t fixed) {
    Py_ssize_t start[MAX_PARTS], end[MAX_PARTS];
    if (n < fixed || memcmp(doc, part[0], (size_t)plen[0]) != 0) {
        Py_RETURN_NONE;
    }
    Py_ssize_t pos = plen[0];
    for (Py_ssize_t i = 1; i < count - 1; i++) {
        const char *found = find(doc + pos, n - pos, part[i], plen[i]);
        if (found == NULL) {
            Py_RETURN_NONE;
        }
        start[i - 1] = pos;
        end[i - 1] = found - doc;
        pos = end[i - 1] + plen[i];
    }
    Py_ssize_t last = n - plen[count - 1];
    if (last < pos || memcmp(doc + last, part[count - 1], (size_t)plen[count - 1]) != 0) {
        Py_RETURN_NONE;
    }
    start[count - 2] = pos;
    end[count - 2] = last;
    Py_ssize_t size = count - 2; /* the separators */
    for (Py_ssize_t h = 0; h < count - 1; h++) {
        if (memchr(doc + start[h], 0, (size_t)(end[h] - start[h])) != NULL) {
            Py_RETURN_NONE;
        }
        size += end[h] - start[h];
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, size);
    if (out == NULL) {
        return NULL;
    }
    char *w = PyBytes_AS_STRING(out);
    for (Py_ssize_t h = 0; h < count - 1; h++) {
        if (h) {
            *w++ = '\0';
        }
        memcpy(w, doc + start[h], (size_t)(end[h] - start[h]));
        w += end[h] - start[h];
    }
    return out;
}

static PyObject *split_block(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *parts, *blob_obj, *lengths;
    if (!PyArg_ParseTuple(args, "OOO", &parts, &blob_obj, &lengths)) {
        return NULL;
    }
    if (!PyTuple_CheckExact(parts) || !PyList_CheckExact(lengths)) {
        Py_RETURN_NONE;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(parts);
    if (count < 2 || count > MAX_PARTS) {
        Py_RETURN_NONE;
    }
    const char *part[MAX_PARTS];
    Py_ssize_t plen[MAX_PARTS];
    Py_ssize_t fixed = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *p = PyTuple_GET_ITEM(parts, i);
        if (!PyBytes_CheckExact(p) || PyBytes_GET_SIZE(p) == 0) {
            Py_RETURN_NONE;
        }
        part[i] = PyBytes_AS_STRING(p);
        plen[i] = PyBytes_GET_SIZE(p);
        if (memchr(part[i], 0, (size_t)plen[i]) != NULL) {
            Py_RETURN_NONE;
        }
        fixed += plen[i];
    }
    Py_buffer blob;
    if (PyObject_GetBuffer(blob_obj, &blob, PyBUF_SIMPLE) != 0) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    Py_ssize_t docs = PyList_GET_SIZE(lengths);
    Py_ssize_t total = 0;
    for (Py_ssize_t k = 0; k < docs; k++) { /* every length first: the list is not changed below */
        PyObject *item = PyList_GET_ITEM(lengths, k);
        if (!PyLong_CheckExact(item)) {
            PyBuffer_Release(&blob);
            Py_RETURN_NONE;
        }
        Py_ssize_t len = PyLong_AsSsize_t(item);
        if (len < 0 || len > blob.len - total) {
            PyErr_Clear();
            PyBuffer_Release(&blob);
            Py_RETURN_NONE;
        }
        total += len;
    }
    PyObject *out = PyList_New(docs);
    if (out == NULL) {
        PyBuffer_Release(&blob);
        return NULL;
    }
    const char *at = (const char *)blob.buf;
    for (Py_ssize_t k = 0; k < docs; k++) {
        Py_ssize_t len = PyLong_AsSsize_t(PyList_GET_ITEM(lengths, k));
        PyObject *one = split_one(at, len, count, part, plen, fixed);
        if (one == NULL) {
            Py_DECREF(out);
            PyBuffer_Release(&blob);
            return NULL;
        }
        PyList_SET_ITEM(out, k, one);
        at += len;
    }
    PyBuffer_Release(&blob);
    return out;
}

static PyMethodDef methods[] = {
    {"split_block", split_block, METH_VARARGS,
     "split_block(parts, blob, lengths) -> list or None: frames.split(parts, document) of each "
     "document of blob (lengths: each one's length, in order); None when the arguments are not "
     "a frame's parts (a tuple of 2 to 64 non-empty bytes without NUL), a buffer and a list of "
     "ints within it."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "native_frame",
    "Documents cut along a frame, in C (credential/native_frame.c).", -1, methods,
};

PyMODINIT_FUNC PyInit_native_frame(void) { return PyModule_Create(&module); }
