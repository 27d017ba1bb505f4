/* talentproof.credential.native_merkle: the root of an RFC 9162 Merkle tree in C.
 *
 * tree_root(hashes) -> bytes or None: the root of the tree whose leaves are the 32-byte credential
 * hashes joined in ``hashes`` (exact bytes, 32 * n bytes for 1 <= n <= 2**32 - 1 leaves): leaf
 * SHA-256(0x00 || h), inner node SHA-256(0x01 || left || right), an unpaired last node promoted
 * unchanged to the next level; the same tree, bottom-up, as credential/merkle.py's `MerkleTree`,
 * its Python twin (`merkle.tree_root` takes it whenever this answers None: anything but exact
 * bytes of a whole, non-zero number of hashes within the contract's uint32 leaf count).
 *
 * Why: the bulk runner builds one tree per chunk of up to 8,192 credentials only for its root
 * (the batch keeps its leaves; readers derive paths). hashlib costs ~0.4-0.6 us a hash through
 * OpenSSL 3's EVP lookups, ~0.85 us a leaf in all; the low-level calls below hash one
 * 33- or 65-byte block in well under 0.1 us with SHA-NI. The levels are computed in place in
 * one buffer of n hashes (the level above never outgrows the one below), the GIL released
 * while hashing (the buffer is this call's own copy).
 */
#define PY_SSIZE_T_CLEAN
#define OPENSSL_API_COMPAT 0x10100000L /* SHA256_Init etc.: OpenSSL's libcrypto, as hashlib's */
#include <Python.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#define HASH 32
#define MAX_LEAVES 4294967295ULL

static void sha256(const unsigned char *data, size_t n, unsigned char *out) {
    SHA256_CTX c;
    SHA256_Init(&c);
    SHA256_Update(&c, data, n);
    SHA256_Final(out, &c);
}

static void root_of(unsigned char *level, size_t n, unsigned char *root) {
    unsigned char block[1 + 2 * HASH];
    block[0] = 0x00;
    for (size_t i = 0; i < n; i++) { /* the leaves, in place */
        memcpy(block + 1, level + i * HASH, HASH);
        sha256(block, 1 + HASH, level + i * HASH);
    }
    block[0] = 0x01;
    while (n > 1) {
        size_t pairs = n / 2;
        for (size_t i = 0; i < pairs; i++) { /* node i of the next level from 2i and 2i + 1 */
            memcpy(block + 1, level + 2 * i * HASH, 2 * HASH);
            sha256(block, 1 + 2 * HASH, level + i * HASH);
        }
        if (n & 1) /* the unpaired last node, promoted unchanged */
            memmove(level + pairs * HASH, level + (n - 1) * HASH, HASH);
        n = pairs + (n & 1);
    }
    memcpy(root, level, HASH);
}

static PyObject *tree_root(PyObject *self, PyObject *hashes) {
    if (!PyBytes_CheckExact(hashes)) Py_RETURN_NONE;
    Py_ssize_t len = PyBytes_GET_SIZE(hashes);
    if (len <= 0 || len % HASH != 0 || (unsigned long long)(len / HASH) > MAX_LEAVES)
        Py_RETURN_NONE;
    size_t n = (size_t)(len / HASH);
    unsigned char *level = malloc((size_t)len);
    if (level == NULL) return PyErr_NoMemory();
    memcpy(level, PyBytes_AS_STRING(hashes), (size_t)len);
    unsigned char root[HASH];
    Py_BEGIN_ALLOW_THREADS
    root_of(level, n, root);
    Py_END_ALLOW_THREADS
    free(level);
    return PyBytes_FromStringAndSize((const char *)root, HASH);
}

static PyMethodDef methods[] = {
    {"tree_root", tree_root, METH_O,
     "tree_root(hashes) -> bytes or None: the RFC 9162 root over the 32-byte hashes joined in "
     "hashes (merkle.MerkleTree(...).root), None when not exact bytes of 1 to 2**32 - 1 hashes."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "native_merkle",
    "The root of an RFC 9162 Merkle tree in C (credential/native_merkle.c).", -1, methods,
};

PyMODINIT_FUNC PyInit_native_merkle(void) { return PyModule_Create(&module); }
