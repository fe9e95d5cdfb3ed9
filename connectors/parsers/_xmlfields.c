/* The field texts of XML records in C: one walk of each record's libxml2 nodes into column buffers.
 *
 * Nothing here declares a field: connectors/parsers/xmlcolumns.py passes each layout's plan, compiled
 * from its declaration (connectors/parsers/layouts.py), to read().  A record is an lxml element of a
 * tree the hardened iterparse of connectors/parsers/xmlread.py built; this file only reads its nodes
 * (type, name, namespace, children, siblings, content), it calls no libxml2 function and changes nothing.
 *
 * A plan is a tuple of nodes (tag: bytes, parent: int, field: int, group: int): a child element of the
 * record (parent -1) or of the element its parent node matched, in no namespace, whose name is tag;
 * field >= 0: the column whose text it is; group != 0: an element of the group, read by the group's plan
 * (not descended otherwise).  As XmlLayout.read takes them (the oracle): a field's text is the element's
 * text (lxml's .text: the text and CDATA nodes from its first child on, XInclude markers skipped), the
 * first element found in document order gives it, and every element found is counted: a row's count of
 * field elements is returned beside its texts, for the caller to leave rows with a field given twice
 * or empty to the Python path.
 *
 * read(records, plan, group_plan) -> (columns, counts, group) with columns a list (one per field) of
 * (offsets: bytes of int32, data: bytes) — an Arrow string column's buffers — and counts bytes of
 * int32, one per row; group None, or (record: int32 1-based, seq: int32 1-based, columns, counts).
 * Built by `make codec` with XMLFIELDS_SOURCE_SHA256 set to this file's SHA-256 and LXML_BUILT_WITH to
 * the lxml whose element layout it read; connectors/parsers/compiled.py checks both at import.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <libxml/tree.h>
#include <stdint.h>
#include <string.h>

#ifndef XMLFIELDS_SOURCE_SHA256
#error "build with -DXMLFIELDS_SOURCE_SHA256=\"<sha256 of this file>\" (make codec)"
#endif
#ifndef LXML_BUILT_WITH
#error "build with -DLXML_BUILT_WITH=\"<lxml version>\" (make codec)"
#endif

/* The head of lxml's _Element (lxml/etree.h, struct LxmlElement). */
typedef struct {
    PyObject_HEAD
    void *doc;
    xmlNode *node;
} LxmlElement;

static PyTypeObject *element_type = NULL;

#define MAX_NODES 64
#define MAX_FIELDS 64

typedef struct {
    Py_ssize_t n;
    const char *tag[MAX_NODES];
    int parent[MAX_NODES];
    int field[MAX_NODES];
    int group[MAX_NODES];
    int fields;
} Plan;

typedef struct {
    int32_t *offsets;
    Py_ssize_t rows, cap;
    char *data;
    size_t len, dcap;
} Column;

typedef struct {
    const Plan *plan;
    Column cols[MAX_FIELDS];
    int32_t *counts, *record, *seq;
    Py_ssize_t rows, cap;
} Table;

static int parse_plan(PyObject *obj, Plan *plan) {
    if (!PyTuple_Check(obj) || PyTuple_GET_SIZE(obj) > MAX_NODES) {
        PyErr_SetString(PyExc_ValueError, "a plan is a tuple of at most 64 nodes");
        return -1;
    }
    plan->n = PyTuple_GET_SIZE(obj);
    plan->fields = 0;
    for (Py_ssize_t i = 0; i < plan->n; i++) {
        PyObject *node = PyTuple_GET_ITEM(obj, i);
        if (!PyArg_ParseTuple(node, "yiii", &plan->tag[i], &plan->parent[i], &plan->field[i], &plan->group[i])) {
            return -1;
        }
        if (plan->parent[i] < -1 || plan->parent[i] >= i || plan->field[i] >= MAX_FIELDS) {
            PyErr_SetString(PyExc_ValueError, "a plan node's parent comes before it; at most 64 fields");
            return -1;
        }
        if (plan->field[i] >= plan->fields) {
            plan->fields = plan->field[i] + 1;
        }
    }
    return 0;
}

static int grow(void **buf, size_t *cap, size_t need, size_t item) {
    if (need <= *cap) {
        return 0;
    }
    size_t cap2 = *cap ? *cap : 64;
    while (cap2 < need) {
        cap2 *= 2;
    }
    void *p = PyMem_Realloc(*buf, cap2 * item);
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    *buf = p;
    *cap = cap2;
    return 0;
}

/* lxml's _textNodeOrSkip: the node if text or CDATA, skipping XInclude markers; else NULL. */
static xmlNode *text_or_skip(xmlNode *n) {
    while (n != NULL) {
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
            return n;
        }
        if (n->type != XML_XINCLUDE_START && n->type != XML_XINCLUDE_END) {
            return NULL;
        }
        n = n->next;
    }
    return NULL;
}

/* Append one row's cell: the text of elem (lxml's .text), or an empty cell when elem is NULL. */
static int append_text(Column *col, xmlNode *elem) {
    size_t rowcap = (size_t)col->cap;
    if (grow((void **)&col->offsets, &rowcap, (size_t)col->rows + 2, sizeof(int32_t)) < 0) {
        return -1;
    }
    col->cap = (Py_ssize_t)rowcap;
    if (col->rows == 0) {
        col->offsets[0] = 0;
    }
    for (xmlNode *t = elem == NULL ? NULL : text_or_skip(elem->children); t != NULL; t = text_or_skip(t->next)) {
        if (t->content == NULL) {
            continue;
        }
        size_t k = strlen((const char *)t->content);
        if (col->len + k > INT32_MAX) {
            PyErr_SetString(PyExc_OverflowError, "a chunk's texts of one field exceed 2 GiB");
            return -1;
        }
        if (grow((void **)&col->data, &col->dcap, col->len + k, 1) < 0) {
            return -1;
        }
        memcpy(col->data + col->len, t->content, k);
        col->len += k;
    }
    col->offsets[++col->rows] = (int32_t)col->len;
    return 0;
}

static int matches(const xmlNode *c, const char *tag) {
    return c->type == XML_ELEMENT_NODE && (c->ns == NULL || c->ns->href == NULL) && strcmp((const char *)c->name, tag) == 0;
}

static int read_row(Table *table, Table *group, xmlNode *elem, int32_t record, int32_t seq);

/* Walk the children of elem below plan node `at` (-1: the row's element): first[field] and *count. */
static int walk(Table *table, Table *group, xmlNode *elem, int at, xmlNode **first, int32_t *count, int32_t record,
                int32_t *grouped) {
    const Plan *plan = table->plan;
    for (xmlNode *c = elem->children; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) {
            continue;
        }
        for (Py_ssize_t k = 0; k < plan->n; k++) {
            if (plan->parent[k] != at || !matches(c, plan->tag[k])) {
                continue;
            }
            int f = plan->field[k];
            if (f >= 0) {
                if (first[f] == NULL) {
                    first[f] = c;
                }
                (*count)++;
            }
            if (plan->group[k]) {
                if (group == NULL) {
                    PyErr_SetString(PyExc_ValueError, "a plan with a group node needs the group's plan");
                    return -1;
                }
                if (read_row(group, NULL, c, record, ++*grouped) < 0) {
                    return -1;
                }
            } else if (walk(table, group, c, (int)k, first, count, record, grouped) < 0) {
                return -1;
            }
            break; /* tags of one parent are distinct */
        }
    }
    return 0;
}

static int read_row(Table *table, Table *group, xmlNode *elem, int32_t record, int32_t seq) {
    xmlNode *first[MAX_FIELDS] = {NULL};
    int32_t count = 0, grouped = 0;
    if (walk(table, group, elem, -1, first, &count, record, &grouped) < 0) {
        return -1;
    }
    for (int f = 0; f < table->plan->fields; f++) {
        if (append_text(&table->cols[f], first[f]) < 0) {
            return -1;
        }
    }
    size_t cap = (size_t)table->cap;
    size_t cap2 = cap, cap3 = cap;
    if (grow((void **)&table->counts, &cap, (size_t)table->rows + 1, sizeof(int32_t)) < 0 ||
        grow((void **)&table->record, &cap2, (size_t)table->rows + 1, sizeof(int32_t)) < 0 ||
        grow((void **)&table->seq, &cap3, (size_t)table->rows + 1, sizeof(int32_t)) < 0) {
        return -1;
    }
    table->cap = (Py_ssize_t)cap;
    table->counts[table->rows] = count;
    table->record[table->rows] = record;
    table->seq[table->rows] = seq;
    table->rows++;
    return 0;
}

static void free_table(Table *t) {
    for (int f = 0; f < MAX_FIELDS; f++) {
        PyMem_Free(t->cols[f].offsets);
        PyMem_Free(t->cols[f].data);
    }
    PyMem_Free(t->counts);
    PyMem_Free(t->record);
    PyMem_Free(t->seq);
}

static PyObject *int32s(const int32_t *values, Py_ssize_t n) {
    return PyBytes_FromStringAndSize(n ? (const char *)values : "", n * (Py_ssize_t)sizeof(int32_t));
}

/* (columns, counts) of a table as Python objects. */
static PyObject *table_result(const Table *t) {
    PyObject *columns = PyList_New(t->plan->fields);
    if (columns == NULL) {
        return NULL;
    }
    for (int f = 0; f < t->plan->fields; f++) {
        const Column *c = &t->cols[f];
        int32_t zero = 0;
        PyObject *cell = Py_BuildValue("(y#y#)", c->rows ? (const char *)c->offsets : (const char *)&zero,
                                       (Py_ssize_t)((c->rows + 1) * sizeof(int32_t)), c->len ? c->data : "", (Py_ssize_t)c->len);
        if (cell == NULL) {
            Py_DECREF(columns);
            return NULL;
        }
        PyList_SET_ITEM(columns, f, cell);
    }
    PyObject *counts = int32s(t->counts, t->rows);
    if (counts == NULL) {
        Py_DECREF(columns);
        return NULL;
    }
    return Py_BuildValue("(NN)", columns, counts);
}

static PyObject *read_records(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *records, *plan_obj, *group_obj;
    if (!PyArg_ParseTuple(args, "O!OO", &PyList_Type, &records, &plan_obj, &group_obj)) {
        return NULL;
    }
    Plan plan, group_plan;
    if (parse_plan(plan_obj, &plan) < 0 || (group_obj != Py_None && parse_plan(group_obj, &group_plan) < 0)) {
        return NULL;
    }
    Table table = {.plan = &plan}, group = {.plan = &group_plan};
    Table *grouped = group_obj == Py_None ? NULL : &group;
    PyObject *result = NULL;
    Py_ssize_t n = PyList_GET_SIZE(records);
    if (n > INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "too many records");
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyList_GET_ITEM(records, i);
        if (!PyObject_TypeCheck(item, element_type) || ((LxmlElement *)item)->node == NULL ||
            ((LxmlElement *)item)->node->type != XML_ELEMENT_NODE) {
            PyErr_SetString(PyExc_TypeError, "a record is an lxml element");
            goto done;
        }
        if (read_row(&table, grouped, ((LxmlElement *)item)->node, (int32_t)(i + 1), 0) < 0) {
            goto done;
        }
    }
    PyObject *rows = table_result(&table);
    if (rows == NULL) {
        goto done;
    }
    if (grouped == NULL) {
        result = Py_BuildValue("(NO)", rows, Py_None);
        goto done;
    }
    PyObject *group_rows = table_result(&group);
    if (group_rows == NULL) {
        Py_DECREF(rows);
        goto done;
    }
    result = Py_BuildValue("(N(NNN))", rows, int32s(group.record, group.rows), int32s(group.seq, group.rows), group_rows);
done:
    free_table(&table);
    free_table(&group);
    return result;
}

static PyMethodDef methods[] = {
    {"read", read_records, METH_VARARGS, "read(records, plan, group_plan): the field texts of records into column buffers"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "connectors.parsers._xmlfields", NULL, -1, methods};

PyMODINIT_FUNC PyInit__xmlfields(void) {
    PyObject *etree = PyImport_ImportModule("lxml.etree");
    if (etree == NULL) {
        return NULL;
    }
    element_type = (PyTypeObject *)PyObject_GetAttrString(etree, "_Element");
    Py_DECREF(etree);
    if (element_type == NULL) {
        return NULL;
    }
    if (!PyType_Check(element_type) || element_type->tp_basicsize < (Py_ssize_t)sizeof(LxmlElement)) {
        PyErr_SetString(PyExc_ImportError, "lxml.etree._Element is not the element this file reads");
        return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    if (PyModule_AddStringConstant(m, "SOURCE_SHA256", XMLFIELDS_SOURCE_SHA256) < 0 ||
        PyModule_AddStringConstant(m, "LXML_BUILT_WITH", LXML_BUILT_WITH) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
