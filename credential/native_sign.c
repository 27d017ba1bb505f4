/* talentproof.credential.native_sign: being written (issue 17.3); see the module docstring. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyMethodDef methods[] = {{NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "native_sign",
    "The signing side's per-credential byte work in C (issue 17.3); no functions yet.",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit_native_sign(void) { return PyModule_Create(&module); }
