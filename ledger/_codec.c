/* The ledger's canonical encoding in C: records, content hashes, entry framing and leaf hashes.
 *
 * Records are also built here from columns (records()), without a Python call per row.
 * Nothing here declares a record's fields: ledger/entries.py passes the codec table, generated
 * from ledger.entries._KINDS (the one declaration), to configure() at import.  The Python
 * encoders of ledger/entries.py stay the oracle (tests/ledger/test_codec.py compares both on
 * every record class); a value this file does not encode the usual way (not exactly str, int,
 * datetime.date, bytes, tuple or list; an int beyond int64; text that is not UTF-8-encodable)
 * makes encode() return None, and the caller asks the Python encoder, which raises its error.
 *
 * Layout (the module docstring of ledger/entries.py): a record is a 2-byte big-endian field
 * count, then each field as a 4-byte big-endian length (0xFFFFFFFF: null) and its bytes; a
 * list is the length-prefixed (4-byte count ‖ each item length-prefixed).  Built by `make codec`
 * with CODEC_SOURCE_SHA256 set to this file's SHA-256, which ledger/compiled.py checks at import.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <string.h>

#ifndef CODEC_SOURCE_SHA256
#error "build with -DCODEC_SOURCE_SHA256=\"<sha256 of this file>\" (make codec)"
#endif

enum { K_STR = 0, K_INT = 1, K_DATE = 2, K_BYTES = 3, K_LIST = 4 };

typedef struct {
    Py_ssize_t nfields;
    PyObject **names; /* owned references */
    int *kinds;
    Py_ssize_t *items; /* K_LIST: index of the item class */
} ClassSpec;

static ClassSpec *specs = NULL;
static Py_ssize_t nspecs = 0;
static PyObject *class_index = NULL; /* type -> int */
static EVP_MD_CTX *md_ctx = NULL;
static EVP_MD *sha256_md = NULL;

/* ---- a growing byte buffer ------------------------------------------------------------ */

typedef struct {
    char *data;
    Py_ssize_t len, cap;
} Buf;

static int buf_reserve(Buf *b, Py_ssize_t more) {
    if (b->len + more <= b->cap) return 0;
    Py_ssize_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + more) cap *= 2;
    char *data = PyMem_Realloc(b->data, (size_t)cap);
    if (!data) {
        PyErr_NoMemory();
        return -1;
    }
    b->data = data;
    b->cap = cap;
    return 0;
}

static inline void put_u32_at(char *p, uint32_t v) {
    p[0] = (char)(v >> 24); p[1] = (char)(v >> 16); p[2] = (char)(v >> 8); p[3] = (char)v;
}

static int put(Buf *b, const void *src, Py_ssize_t n) {
    if (buf_reserve(b, n) < 0) return -1;
    memcpy(b->data + b->len, src, (size_t)n);
    b->len += n;
    return 0;
}

static int put_u32(Buf *b, uint32_t v) {
    if (buf_reserve(b, 4) < 0) return -1;
    put_u32_at(b->data + b->len, v);
    b->len += 4;
    return 0;
}

static int put_lp(Buf *b, const void *src, Py_ssize_t n) {
    if (n >= (Py_ssize_t)0xFFFFFFFFu) {
        PyErr_SetString(PyExc_ValueError, "field too long");
        return -1;
    }
    if (put_u32(b, (uint32_t)n) < 0) return -1;
    return put(b, src, n);
}

/* ---- records -------------------------------------------------------------------------- */

#define UNHANDLED 1 /* not an error: the Python encoder decides (and raises its error) */

static int encode_into(Buf *b, Py_ssize_t cls, PyObject *record);

static int encode_field(Buf *b, int kind, Py_ssize_t item, PyObject *v) {
    if (v == Py_None) return kind == K_LIST ? UNHANDLED : put_u32(b, 0xFFFFFFFFu); /* a list is never null */
    switch (kind) {
    case K_STR: {
        if (!PyUnicode_CheckExact(v)) return UNHANDLED;
        if (PyUnicode_GET_LENGTH(v) == 0) return put_u32(b, 0xFFFFFFFFu);
        Py_ssize_t n;
        const char *s = PyUnicode_AsUTF8AndSize(v, &n);
        if (!s) {
            PyErr_Clear();
            return UNHANDLED;
        }
        return put_lp(b, s, n);
    }
    case K_INT: {
        if (!PyLong_CheckExact(v)) return UNHANDLED;
        int overflow;
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (overflow) return UNHANDLED;
        if (x == -1 && PyErr_Occurred()) return -1;
        unsigned char raw[12] = {0, 0, 0, 8};
        uint64_t u = (uint64_t)x;
        for (int i = 0; i < 8; i++) raw[4 + i] = (unsigned char)(u >> (56 - 8 * i));
        return put(b, raw, 12);
    }
    case K_DATE: {
        if (Py_TYPE(v) != PyDateTimeAPI->DateType) return UNHANDLED;
        int y = PyDateTime_GET_YEAR(v), mo = PyDateTime_GET_MONTH(v), d = PyDateTime_GET_DAY(v); /* 1..9999 */
        char raw[14] = {0, 0, 0, 10, (char)('0' + y / 1000), (char)('0' + y / 100 % 10), (char)('0' + y / 10 % 10),
                        (char)('0' + y % 10), '-', (char)('0' + mo / 10), (char)('0' + mo % 10), '-',
                        (char)('0' + d / 10), (char)('0' + d % 10)};
        return put(b, raw, 14);
    }
    case K_BYTES:
        if (!PyBytes_CheckExact(v)) return UNHANDLED;
        return put_lp(b, PyBytes_AS_STRING(v), PyBytes_GET_SIZE(v));
    case K_LIST: {
        if (!PyTuple_CheckExact(v) && !PyList_CheckExact(v)) return UNHANDLED;
        Py_ssize_t n = PySequence_Fast_GET_SIZE(v);
        Py_ssize_t outer = b->len;
        if (put_u32(b, 0) < 0 || put_u32(b, (uint32_t)n) < 0) return -1;
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_ssize_t at = b->len;
            if (put_u32(b, 0) < 0) return -1;
            int rc = encode_into(b, item, PySequence_Fast_GET_ITEM(v, i));
            if (rc) return rc;
            put_u32_at(b->data + at, (uint32_t)(b->len - at - 4));
        }
        put_u32_at(b->data + outer, (uint32_t)(b->len - outer - 4));
        return 0;
    }
    }
    return UNHANDLED;
}

static int encode_into(Buf *b, Py_ssize_t cls, PyObject *record) {
    ClassSpec *spec = &specs[cls];
    PyObject **dictptr = _PyObject_GetDictPtr(record);
    if (!dictptr || !*dictptr) return UNHANDLED;
    PyObject *d = *dictptr;
    unsigned char count[2] = {(unsigned char)(spec->nfields >> 8), (unsigned char)spec->nfields};
    if (put(b, count, 2) < 0) return -1;
    for (Py_ssize_t i = 0; i < spec->nfields; i++) {
        PyObject *v = PyDict_GetItemWithError(d, spec->names[i]);
        if (!v) {
            if (PyErr_Occurred()) return -1;
            return UNHANDLED;
        }
        int rc = encode_field(b, spec->kinds[i], spec->items[i], v);
        if (rc) return rc;
    }
    return 0;
}

static Buf scratch = {NULL, 0, 0};

/* 0: encoded into scratch; UNHANDLED; -1: error set */
static int encode_top(PyObject *record) {
    if (!class_index) {
        PyErr_SetString(PyExc_RuntimeError, "ledger._codec is not configured");
        return -1;
    }
    PyObject *index = PyDict_GetItemWithError(class_index, (PyObject *)Py_TYPE(record));
    if (!index) return PyErr_Occurred() ? -1 : UNHANDLED;
    scratch.len = 0;
    return encode_into(&scratch, PyLong_AsSsize_t(index), record);
}

static int sha256_parts(const void *a, size_t an, const void *b, size_t bn, const void *c, size_t cn, unsigned char *out) {
    if (EVP_DigestInit_ex(md_ctx, sha256_md, NULL) != 1 || EVP_DigestUpdate(md_ctx, a, an) != 1 ||
        (bn && EVP_DigestUpdate(md_ctx, b, bn) != 1) || (cn && EVP_DigestUpdate(md_ctx, c, cn) != 1) ||
        EVP_DigestFinal_ex(md_ctx, out, NULL) != 1) {
        PyErr_SetString(PyExc_RuntimeError, "OpenSSL SHA-256 failed");
        return -1;
    }
    return 0;
}

static PyObject *codec_encode(PyObject *self, PyObject *record) {
    int rc = encode_top(record);
    if (rc < 0) return NULL;
    if (rc == UNHANDLED) Py_RETURN_NONE;
    return PyBytes_FromStringAndSize(scratch.data, scratch.len);
}

/* encode_content(record, header) -> (content, SHA-256(header ‖ content)) or None */
static PyObject *codec_encode_content(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyBytes_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "encode_content(record, header: bytes)");
        return NULL;
    }
    int rc = encode_top(args[0]);
    if (rc < 0) return NULL;
    if (rc == UNHANDLED) Py_RETURN_NONE;
    unsigned char digest[32];
    if (sha256_parts(PyBytes_AS_STRING(args[1]), (size_t)PyBytes_GET_SIZE(args[1]), scratch.data, (size_t)scratch.len,
                     NULL, 0, digest) < 0)
        return NULL;
    /* the bytes first: making the tuple may run the collector, and Python code with it (which may encode) */
    PyObject *content = PyBytes_FromStringAndSize(scratch.data, scratch.len);
    PyObject *hash = PyBytes_FromStringAndSize((const char *)digest, 32);
    PyObject *pair = content && hash ? PyTuple_Pack(2, content, hash) : NULL;
    Py_XDECREF(content);
    Py_XDECREF(hash);
    return pair;
}

/* frame(parts, first_seq, prev_leaf_hash, date_field) -> (entries, offsets, leaf hashes)
 * parts: (header, content, annex field) per entry, in order; each entry is
 * header ‖ lp(seq) ‖ lp(prev leaf hash) ‖ date_field ‖ lp(content) ‖ annex field,
 * and its leaf hash SHA-256(0x00 ‖ entry) is the next one's prev.  The entries come back to back
 * in one bytes object, entry i at [offsets[i], offsets[i + 1]) (offsets: n + 1 native int64, as
 * an Arrow large-binary column's), so that no Python object is made per entry. */
static PyObject *codec_frame(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 4 || !PyList_Check(args[0]) || !PyBytes_Check(args[2]) || PyBytes_GET_SIZE(args[2]) != 32 ||
        !PyBytes_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "frame(parts: list, first_seq: int, prev_leaf_hash: 32 bytes, date_field: bytes)");
        return NULL;
    }
    long long seq = PyLong_AsLongLong(args[1]);
    if (seq == -1 && PyErr_Occurred()) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(args[0]);
    const char *date = PyBytes_AS_STRING(args[3]);
    Py_ssize_t date_len = PyBytes_GET_SIZE(args[3]), total = 0;
    enum { FIXED = 12 + 4 + 32 }; /* lp(seq) ‖ lp(prev leaf hash) */
    for (Py_ssize_t i = 0; i < n; i++) { /* checked and measured first: the entries are written once, in place */
        PyObject *item = PyList_GET_ITEM(args[0], i);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 3 || !PyBytes_Check(PyTuple_GET_ITEM(item, 0)) ||
            !PyBytes_Check(PyTuple_GET_ITEM(item, 1)) || !PyBytes_Check(PyTuple_GET_ITEM(item, 2))) {
            PyErr_SetString(PyExc_TypeError, "each part is (header, content, annex field), all bytes");
            return NULL;
        }
        if (PyBytes_GET_SIZE(PyTuple_GET_ITEM(item, 1)) >= (Py_ssize_t)0xFFFFFFFFu) {
            PyErr_SetString(PyExc_ValueError, "field too long");
            return NULL;
        }
        total += PyBytes_GET_SIZE(PyTuple_GET_ITEM(item, 0)) + FIXED + date_len + 4 + PyBytes_GET_SIZE(PyTuple_GET_ITEM(item, 1)) +
                 PyBytes_GET_SIZE(PyTuple_GET_ITEM(item, 2));
    }
    PyObject *leaves = PyList_New(n), *data = PyBytes_FromStringAndSize(NULL, total),
             *offsets = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)((size_t)(n + 1) * sizeof(int64_t)));
    if (!leaves || !data || !offsets) goto fail;
    char *out = PyBytes_AS_STRING(data);
    int64_t *at = (int64_t *)PyBytes_AS_STRING(offsets);
    unsigned char prev[32];
    memcpy(prev, PyBytes_AS_STRING(args[2]), 32);
    static const unsigned char leaf_prefix = 0;
    Py_ssize_t len = 0;
    for (Py_ssize_t i = 0; i < n; i++, seq++) {
        PyObject *item = PyList_GET_ITEM(args[0], i);
        PyObject *header = PyTuple_GET_ITEM(item, 0), *content = PyTuple_GET_ITEM(item, 1), *annex = PyTuple_GET_ITEM(item, 2);
        char *entry = out + len;
        at[i] = (int64_t)len;
        memcpy(out + len, PyBytes_AS_STRING(header), (size_t)PyBytes_GET_SIZE(header));
        len += PyBytes_GET_SIZE(header);
        put_u32_at(out + len, 8);
        uint64_t u = (uint64_t)seq;
        for (int k = 0; k < 8; k++) out[len + 4 + k] = (char)(u >> (56 - 8 * k));
        put_u32_at(out + len + 12, 32);
        memcpy(out + len + 16, prev, 32);
        len += FIXED;
        memcpy(out + len, date, (size_t)date_len);
        len += date_len;
        put_u32_at(out + len, (uint32_t)PyBytes_GET_SIZE(content));
        memcpy(out + len + 4, PyBytes_AS_STRING(content), (size_t)PyBytes_GET_SIZE(content));
        len += 4 + PyBytes_GET_SIZE(content);
        memcpy(out + len, PyBytes_AS_STRING(annex), (size_t)PyBytes_GET_SIZE(annex));
        len += PyBytes_GET_SIZE(annex);
        if (sha256_parts(&leaf_prefix, 1, entry, (size_t)(out + len - entry), NULL, 0, prev) < 0) goto fail;
        PyObject *leaf = PyBytes_FromStringAndSize((const char *)prev, 32);
        if (!leaf) goto fail;
        PyList_SET_ITEM(leaves, i, leaf);
    }
    at[n] = (int64_t)len;
    return Py_BuildValue("(NNN)", data, offsets, leaves);
fail:
    Py_XDECREF(leaves);
    Py_XDECREF(data);
    Py_XDECREF(offsets);
    return NULL;
}

/* records(cls, names, columns) -> [cls instance per row]: each instance's attributes are
 * names[j] -> columns[j][i], set as the dataclass constructor sets them (the caller passes
 * only classes whose constructor does nothing else: ledger.entries.records_from_columns). */
static PyObject *codec_records(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 3 || !PyType_Check(args[0]) || !PyTuple_Check(args[1]) || !PyList_Check(args[2]) ||
        PyTuple_GET_SIZE(args[1]) != PyList_GET_SIZE(args[2])) {
        PyErr_SetString(PyExc_TypeError, "records(cls: type, names: tuple[str, ...], columns: list[list]) with a column per name");
        return NULL;
    }
    PyTypeObject *cls = (PyTypeObject *)args[0];
    PyObject *names = args[1], *columns = args[2];
    Py_ssize_t width = PyTuple_GET_SIZE(names), n = 0;
    for (Py_ssize_t j = 0; j < width; j++) {
        PyObject *column = PyList_GET_ITEM(columns, j);
        if (!PyList_Check(column)) {
            PyErr_SetString(PyExc_TypeError, "each column is a list");
            return NULL;
        }
        if (j == 0) n = PyList_GET_SIZE(column);
        else if (PyList_GET_SIZE(column) != n) {
            PyErr_Format(PyExc_ValueError, "column %zd has %zd rows, column 0 has %zd", j, PyList_GET_SIZE(column), n);
            return NULL;
        }
    }
    PyObject *empty = PyTuple_New(0), *out = PyList_New(n);
    if (!empty || !out) goto fail;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *obj = PyBaseObject_Type.tp_new(cls, empty, NULL);
        if (!obj) goto fail;
        PyList_SET_ITEM(out, i, obj);
        for (Py_ssize_t j = 0; j < width; j++) /* object.__setattr__, as a frozen dataclass's constructor does */
            if (PyObject_GenericSetAttr(obj, PyTuple_GET_ITEM(names, j), PyList_GET_ITEM(PyList_GET_ITEM(columns, j), i)) < 0)
                goto fail;
    }
    Py_DECREF(empty);
    return out;
fail:
    Py_XDECREF(empty);
    Py_XDECREF(out);
    return NULL;
}

/* ---- batched hashes (the tree's nodes, a page's leaves, keyed fingerprints) ------------- */

/* The n 32-byte digests laid back to back at out, as a list of bytes (NULL with the error set). */
static PyObject *digest_list(const unsigned char *out, Py_ssize_t n) {
    PyObject *result = PyList_New(n);
    for (Py_ssize_t i = 0; result && i < n; i++) {
        PyObject *h = PyBytes_FromStringAndSize((const char *)out + 32 * i, 32);
        if (!h) Py_CLEAR(result);
        else PyList_SET_ITEM(result, i, h);
    }
    return result;
}

/* node_hashes(hashes) -> [SHA-256(0x01 ‖ hashes[2i] ‖ hashes[2i+1]) ...] (RFC 9162 interior
 * nodes of the level above; a trailing odd hash is left out), or None unless every item is
 * 32 bytes (then the Python loop decides).  Hashed without the GIL. */
static PyObject *codec_node_hashes(PyObject *self, PyObject *hashes) {
    if (!PyList_Check(hashes)) {
        PyErr_SetString(PyExc_TypeError, "node_hashes(hashes: list[bytes])");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(hashes), pairs = n / 2;
    for (Py_ssize_t i = 0; i < 2 * pairs; i++) {
        PyObject *h = PyList_GET_ITEM(hashes, i);
        if (!PyBytes_Check(h) || PyBytes_GET_SIZE(h) != 32) Py_RETURN_NONE;
    }
    unsigned char *in = PyMem_Malloc((size_t)(pairs ? pairs : 1) * 64), *out = PyMem_Malloc((size_t)(pairs ? pairs : 1) * 32);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    PyObject *result = NULL;
    if (!in || !out || !ctx) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < 2 * pairs; i++) memcpy(in + 32 * i, PyBytes_AS_STRING(PyList_GET_ITEM(hashes, i)), 32);
    int ok = 1;
    static const unsigned char node_prefix = 1;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < pairs && ok; i++)
        ok = EVP_DigestInit_ex(ctx, sha256_md, NULL) == 1 && EVP_DigestUpdate(ctx, &node_prefix, 1) == 1 &&
             EVP_DigestUpdate(ctx, in + 64 * i, 64) == 1 && EVP_DigestFinal_ex(ctx, out + 32 * i, NULL) == 1;
    Py_END_ALLOW_THREADS
    if (!ok) {
        PyErr_SetString(PyExc_RuntimeError, "OpenSSL SHA-256 failed");
        goto done;
    }
    result = digest_list(out, pairs);
done:
    EVP_MD_CTX_free(ctx);
    PyMem_Free(in);
    PyMem_Free(out);
    return result;
}

/* sha256_slices(data, bounds) -> [SHA-256(data[bounds[i]:bounds[i+1]]) ...]: data any buffer,
 * bounds a list of non-decreasing offsets into it.  Hashed without the GIL. */
static PyObject *codec_sha256_slices(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyList_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "sha256_slices(data: buffer, bounds: list[int])");
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0) return NULL;
    Py_ssize_t m = PyList_GET_SIZE(args[1]), n = m > 0 ? m - 1 : 0;
    Py_ssize_t *at = PyMem_Malloc((size_t)(m ? m : 1) * sizeof(Py_ssize_t));
    unsigned char *out = PyMem_Malloc((size_t)(n ? n : 1) * 32);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    PyObject *result = NULL;
    if (!at || !out || !ctx) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < m; i++) {
        at[i] = PyLong_AsSsize_t(PyList_GET_ITEM(args[1], i));
        if (at[i] == -1 && PyErr_Occurred()) goto done;
        if (at[i] < (i ? at[i - 1] : 0) || at[i] > view.len) {
            PyErr_Format(PyExc_ValueError, "bound %zd (%zd) is outside the data or before the bound before it", i, at[i]);
            goto done;
        }
    }
    int ok = 1;
    const unsigned char *data = view.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n && ok; i++)
        ok = EVP_DigestInit_ex(ctx, sha256_md, NULL) == 1 && EVP_DigestUpdate(ctx, data + at[i], (size_t)(at[i + 1] - at[i])) == 1 &&
             EVP_DigestFinal_ex(ctx, out + 32 * i, NULL) == 1;
    Py_END_ALLOW_THREADS
    if (!ok) {
        PyErr_SetString(PyExc_RuntimeError, "OpenSSL SHA-256 failed");
        goto done;
    }
    result = digest_list(out, n);
done:
    EVP_MD_CTX_free(ctx);
    PyMem_Free(at);
    PyMem_Free(out);
    PyBuffer_Release(&view);
    return result;
}

/* The field kind of a loose value by its exact type (str, int, datetime.date, bytes; None is null
 * in any), or -1: the Python encoder (ledger.entries.encode_values) decides. */
static int value_kind(PyObject *v) {
    if (v == Py_None || PyUnicode_CheckExact(v)) return K_STR;
    if (PyLong_CheckExact(v)) return K_INT;
    if (Py_TYPE(v) == PyDateTimeAPI->DateType) return K_DATE;
    if (PyBytes_CheckExact(v)) return K_BYTES;
    return -1;
}

/* hmac_values(key, messages) -> [HMAC-SHA256(key, encode_values(*message)) ...] or None: each
 * message a tuple of loose values, encoded as ledger.entries.encode_values encodes them (None if
 * a value is of another type, or beyond what encode_field takes: the Python path decides).
 * HMAC as RFC 2104 (and Python's hmac): the key's pads are hashed once, each message continues copies. */
static PyObject *codec_hmac_values(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyBytes_Check(args[0]) || !PyList_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "hmac_values(key: bytes, messages: list[tuple])");
        return NULL;
    }
    unsigned char block[64] = {0}, pad[64];
    const char *key = PyBytes_AS_STRING(args[0]);
    Py_ssize_t key_len = PyBytes_GET_SIZE(args[0]);
    EVP_MD_CTX *inner = EVP_MD_CTX_new(), *outer = EVP_MD_CTX_new(), *ctx = EVP_MD_CTX_new();
    Buf b = {NULL, 0, 0};
    PyObject *result = NULL;
    if (!inner || !outer || !ctx) {
        PyErr_NoMemory();
        goto done;
    }
    if (key_len > 64) {
        if (sha256_parts(key, (size_t)key_len, NULL, 0, NULL, 0, block) < 0) goto done;
    } else {
        memcpy(block, key, (size_t)key_len);
    }
    for (int i = 0; i < 64; i++) pad[i] = block[i] ^ 0x36;
    int ok = EVP_DigestInit_ex(inner, sha256_md, NULL) == 1 && EVP_DigestUpdate(inner, pad, 64) == 1;
    for (int i = 0; i < 64; i++) pad[i] = block[i] ^ 0x5c;
    ok = ok && EVP_DigestInit_ex(outer, sha256_md, NULL) == 1 && EVP_DigestUpdate(outer, pad, 64) == 1;
    if (!ok) {
        PyErr_SetString(PyExc_RuntimeError, "OpenSSL SHA-256 failed");
        goto done;
    }
    Py_ssize_t n = PyList_GET_SIZE(args[1]);
    result = PyList_New(n);
    if (!result) goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *message = PyList_GET_ITEM(args[1], i);
        if (!PyTuple_Check(message)) {
            PyErr_SetString(PyExc_TypeError, "each message is a tuple of values");
            goto fail;
        }
        b.len = 0;
        for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(message); j++) {
            PyObject *v = PyTuple_GET_ITEM(message, j);
            int kind = value_kind(v);
            int rc = kind < 0 ? UNHANDLED : encode_field(&b, kind, -1, v);
            if (rc < 0) goto fail;
            if (rc == UNHANDLED) {
                Py_CLEAR(result);
                result = Py_NewRef(Py_None);
                goto done;
            }
        }
        unsigned char digest[32];
        ok = EVP_MD_CTX_copy_ex(ctx, inner) == 1 && (b.len == 0 || EVP_DigestUpdate(ctx, b.data, (size_t)b.len) == 1) &&
             EVP_DigestFinal_ex(ctx, digest, NULL) == 1 && EVP_MD_CTX_copy_ex(ctx, outer) == 1 &&
             EVP_DigestUpdate(ctx, digest, 32) == 1 && EVP_DigestFinal_ex(ctx, digest, NULL) == 1;
        if (!ok) {
            PyErr_SetString(PyExc_RuntimeError, "OpenSSL SHA-256 failed");
            goto fail;
        }
        PyObject *h = PyBytes_FromStringAndSize((const char *)digest, 32);
        if (!h) goto fail;
        PyList_SET_ITEM(result, i, h);
    }
    goto done;
fail:
    Py_CLEAR(result);
done:
    PyMem_Free(b.data);
    EVP_MD_CTX_free(ctx);
    EVP_MD_CTX_free(inner);
    EVP_MD_CTX_free(outer);
    return result;
}

/* ---- the table ------------------------------------------------------------------------ */

static void free_specs(void) {
    for (Py_ssize_t c = 0; c < nspecs; c++) {
        for (Py_ssize_t i = 0; i < specs[c].nfields; i++) Py_XDECREF(specs[c].names[i]);
        PyMem_Free(specs[c].names);
        PyMem_Free(specs[c].kinds);
        PyMem_Free(specs[c].items);
    }
    PyMem_Free(specs);
    specs = NULL;
    nspecs = 0;
    Py_CLEAR(class_index);
}

/* configure([(cls, [(field name, kind, item class index or -1), ...]), ...]) */
static PyObject *codec_configure(PyObject *self, PyObject *table) {
    if (!PyList_Check(table)) {
        PyErr_SetString(PyExc_TypeError, "configure(table: list)");
        return NULL;
    }
    free_specs();
    Py_ssize_t n = PyList_GET_SIZE(table);
    specs = PyMem_Calloc((size_t)(n ? n : 1), sizeof(ClassSpec));
    class_index = PyDict_New();
    if (!specs || !class_index) goto fail;
    nspecs = n;
    for (Py_ssize_t c = 0; c < n; c++) {
        PyObject *cls, *fields;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(table, c), "OO!", &cls, &PyList_Type, &fields)) goto fail;
        PyObject *index = PyLong_FromSsize_t(c);
        if (!index || PyDict_SetItem(class_index, cls, index) < 0) {
            Py_XDECREF(index);
            goto fail;
        }
        Py_DECREF(index);
        Py_ssize_t m = PyList_GET_SIZE(fields);
        if (m > 0xFFFF) {
            PyErr_SetString(PyExc_ValueError, "too many fields");
            goto fail;
        }
        ClassSpec *spec = &specs[c];
        spec->names = PyMem_Calloc((size_t)(m ? m : 1), sizeof(PyObject *));
        spec->kinds = PyMem_Calloc((size_t)(m ? m : 1), sizeof(int));
        spec->items = PyMem_Calloc((size_t)(m ? m : 1), sizeof(Py_ssize_t));
        if (!spec->names || !spec->kinds || !spec->items) goto fail;
        spec->nfields = m;
        for (Py_ssize_t i = 0; i < m; i++) {
            PyObject *name;
            int kind;
            Py_ssize_t item;
            if (!PyArg_ParseTuple(PyList_GET_ITEM(fields, i), "Uin", &name, &kind, &item)) goto fail;
            if (kind < K_STR || kind > K_LIST || (kind == K_LIST && (item < 0 || item >= c))) {
                PyErr_Format(PyExc_ValueError, "bad kind %d (item %zd) for field %zd of class %zd", kind, item, i, c);
                goto fail;
            }
            Py_INCREF(name);
            PyUnicode_InternInPlace(&name);
            spec->names[i] = name;
            spec->kinds[i] = kind;
            spec->items[i] = item;
        }
    }
    Py_RETURN_NONE;
fail:
    free_specs();
    if (!PyErr_Occurred()) PyErr_NoMemory();
    return NULL;
}

static PyMethodDef methods[] = {
    {"configure", codec_configure, METH_O, "Take the codec table (generated from ledger.entries._KINDS)."},
    {"encode", codec_encode, METH_O, "A record's canonical bytes, or None: the Python encoder decides."},
    {"encode_content", (PyCFunction)(void (*)(void))codec_encode_content, METH_FASTCALL,
     "(content, SHA-256(header + content)) of a record, or None: the Python encoder decides."},
    {"frame", (PyCFunction)(void (*)(void))codec_frame, METH_FASTCALL,
     "Consecutive entries' bytes back to back, their offsets and their chained RFC 9162 leaf hashes."},
    {"records", (PyCFunction)(void (*)(void))codec_records, METH_FASTCALL,
     "Instances of a record class from a list of values per field."},
    {"node_hashes", codec_node_hashes, METH_O, "The RFC 9162 interior nodes over consecutive pairs of 32-byte hashes, or None."},
    {"sha256_slices", (PyCFunction)(void (*)(void))codec_sha256_slices, METH_FASTCALL,
     "SHA-256 of each slice of a buffer between consecutive bounds."},
    {"hmac_values", (PyCFunction)(void (*)(void))codec_hmac_values, METH_FASTCALL,
     "HMAC-SHA256 under a key of each message's values, encoded as encode_values does, or None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "ledger._codec", NULL, -1, methods};

PyMODINIT_FUNC PyInit__codec(void) {
    PyDateTime_IMPORT;
    if (!PyDateTimeAPI) return NULL;
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    md_ctx = EVP_MD_CTX_new();
    if (!sha256_md || !md_ctx) {
        PyErr_SetString(PyExc_ImportError, "OpenSSL has no SHA-256");
        return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    if (PyModule_AddStringConstant(m, "SOURCE_SHA256", CODEC_SOURCE_SHA256) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
