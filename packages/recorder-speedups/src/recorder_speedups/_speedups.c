/*
 * recorder_speedups._speedups: the LINE event of recorder-runtime in C.
 *
 * LineRecorder.on_line(code, frame, line) does what EventRecorder.on_line and
 * EventRecorder._capture_variables do (packages/recorder-runtime/src/recorder_runtime/
 * recorder.py) and hands the writer EXACTLY the same list of pieces: the Python
 * implementation is the reference, and this file is a transcription of it for the
 * common case. Whatever is not common is handed back to the Python code:
 *
 *   - inactive recorder, code object not registered yet, captured IO pending: the whole
 *     event goes to EventRecorder.on_line (the Python method);
 *   - a local seen for the first time, or redacted/dropped: EventRecorder._special_local;
 *   - a changed set of module globals: EventRecorder._global_block (pre-encodes them);
 *   - redaction counters and markers: EventRecorder._count_globals/_count/_redacted;
 *   - values: int/str/float/None/bool come from the encoder's own caches (ValueEncoder
 *     ._ints/._strs/._floats/._none_json/._true_json/._false_json, exactly the lookups
 *     ValueEncoder.encode starts with); everything else, and every cache miss, is encoded
 *     by the code object's Python encode function (CodeInfo.encode).
 *
 * LineRecorder.line(code, lineno) is the sys.monitoring LINE callback (monitoring.py's
 * `line` closure): DISABLE once the recorder finished, else the instrumented frame is
 * found on the stack and on_line runs. It is registered through the boundary guard like
 * every callback, so an exception raised here is classified by recorder_ffi exactly like
 * one raised by the Python callback.
 *
 * No global mutable state: the interned attribute names are created once at import and
 * never change; everything else lives in the LineRecorder instance, and every access to
 * shared Python objects happens with the GIL held (each call into Python may let another
 * thread run, so borrowed references are never held across such a call).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#if PY_VERSION_HEX < 0x030A0000
#error "recorder_speedups needs CPython 3.10 or newer"
#endif

/* Interned attribute names (constants after module init). */
static PyObject *S_active, *S_finished, *S_path_id, *S_pending, *S_last_path_id, *S_last_line,
    *S_last_frame_id, *S_steps, *S_step_texts, *S_step, *S_local_prefixes, *S_encode,
    *S_special_local, *S_global_block, *S_global_names, *S_epoch, *S_secret_epoch, *S_keys,
    *S_values, *S_make_global_block, *S_redacted, *S_dropped, *S_count_globals, *S_text,
    *S_volatile, *S_shadowable, *S_f_locals, *S_f_globals, *S_get, *S_count, *S_redacted_m,
    *S_writer, *S_variable_id, *S_value, *S_global, *S_redact, *S_none_json, *S_true_json,
    *S_false_json, *S_infos, *S_extend, *S_g, *S_close, *S_io, *S_encoder, *S_custom_encode,
    *S_ints, *S_strs, *S_floats, *S_stacks, *S_return_prefix, *S_ret_action, *S_allow,
    *S_activation_code, *S_finish_activation, *S_function_id, *S_arg_names, *S_arg_ids,
    *S_step_text, *S_call, *S_enter_caller, *S_return_to_caller;

/* Marker variable id of a redacted name (recorder.py: _REDACT). */
#define REDACT_ID (-1)

typedef struct {
    PyObject_HEAD
    PyObject *recorder;   /* the EventRecorder */
    PyObject *py_on_line; /* EventRecorder.on_line, the reference (an unbound function) */
    PyObject *missing;    /* recorder._MISSING */
    PyObject *disable;    /* sys.monitoring.DISABLE (None before 3.12) */
    PyObject *infos;      /* recorder._infos: code -> CodeInfo */
    PyObject *extend;     /* recorder._extend: writer.extend */
    PyObject *grammar;    /* recorder._g */
    PyObject *close;      /* recorder._close: grammar.value_suffix */
    PyObject *io;         /* recorder.io (None without IO capture) */
    PyObject *encoder;    /* recorder.encoder */
    PyObject *ints;       /* encoder._ints, or NULL: no cache lookups (custom encode) */
    PyObject *strs;       /* encoder._strs */
    PyObject *floats;     /* encoder._floats */
    PyObject *none_piece; /* encoder._none_json once built (never changes afterwards) */
    PyObject *true_piece;
    PyObject *false_piece;
    PyObject *empty_dict; /* `{}`: what a step without locals checks shadowed globals in */
    PyObject *py_on_return;  /* EventRecorder.on_return, the reference (unbound) */
    PyObject *py_on_start;   /* EventRecorder.on_start, the reference (unbound) */
    PyObject *stacks;        /* recorder._stacks: thread ident -> list of code objects */
    PyObject *return_prefix; /* grammar.return_prefix (Return = prefix + record + close) */
} LineRecorder;

/* ------------------------------------------------------------------ small helpers */

/* `except Exception:` — clear the pending error if it is an Exception (return 1), else
 * leave it pending (return 0: KeyboardInterrupt and friends belong to the program). */
static int
swallow_exception(void)
{
    if (PyErr_ExceptionMatches(PyExc_Exception)) {
        PyErr_Clear();
        return 1;
    }
    return 0;
}

/* Truth of obj.name; -1 on error. */
static int
attr_true(PyObject *obj, PyObject *name)
{
    PyObject *v = PyObject_GetAttr(obj, name);
    if (v == NULL) {
        return -1;
    }
    int r = PyObject_IsTrue(v);
    Py_DECREF(v);
    return r;
}

/* An exact str that is ASCII (readiness is automatic from 3.12). */
static int
ascii_str(PyObject *s)
{
    if (!PyUnicode_CheckExact(s)) {
        return 0;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(s) < 0) {
        PyErr_Clear();
        return 0;
    }
#endif
    return PyUnicode_IS_ASCII(s);
}

/* prefix + record + suffix, as Python's `+` would build it (str for JSON, bytes for the
 * binary format); one allocation in the common cases. */
static PyObject *
concat3(PyObject *a, PyObject *b, PyObject *c)
{
    if (ascii_str(a) && ascii_str(b) && ascii_str(c)) {
        Py_ssize_t na = PyUnicode_GET_LENGTH(a), nb = PyUnicode_GET_LENGTH(b);
        Py_ssize_t nc = PyUnicode_GET_LENGTH(c);
        PyObject *r = PyUnicode_New(na + nb + nc, 127);
        if (r == NULL) {
            return NULL;
        }
        char *out = (char *)PyUnicode_DATA(r);
        memcpy(out, PyUnicode_DATA(a), (size_t)na);
        memcpy(out + na, PyUnicode_DATA(b), (size_t)nb);
        memcpy(out + na + nb, PyUnicode_DATA(c), (size_t)nc);
        return r;
    }
    if (PyBytes_CheckExact(a) && PyBytes_CheckExact(b) && PyBytes_CheckExact(c)) {
        Py_ssize_t na = PyBytes_GET_SIZE(a), nb = PyBytes_GET_SIZE(b), nc = PyBytes_GET_SIZE(c);
        PyObject *r = PyBytes_FromStringAndSize(NULL, na + nb + nc);
        if (r == NULL) {
            return NULL;
        }
        char *out = PyBytes_AS_STRING(r);
        memcpy(out, PyBytes_AS_STRING(a), (size_t)na);
        memcpy(out + na, PyBytes_AS_STRING(b), (size_t)nb);
        memcpy(out + na + nb, PyBytes_AS_STRING(c), (size_t)nc);
        return r;
    }
    PyObject *ab = PyNumber_Add(a, b);
    if (ab == NULL) {
        return NULL;
    }
    PyObject *r = PyNumber_Add(ab, c);
    Py_DECREF(ab);
    return r;
}

/* A cached record of None/True/False: encoder.<name> once it is not empty (it is built
 * once by the encoder and never changes afterwards); NULL without error when not built. */
static PyObject *
cached_atom(LineRecorder *self, PyObject **slot, PyObject *name)
{
    if (*slot != NULL) {
        return Py_NewRef(*slot);
    }
    PyObject *piece = PyObject_GetAttr(self->encoder, name);
    if (piece == NULL) {
        return NULL;
    }
    int built = PyObject_IsTrue(piece);
    if (built <= 0) {
        Py_DECREF(piece);
        return NULL; /* error pending (-1) or not built yet (0) */
    }
    *slot = Py_NewRef(piece);
    return piece;
}

/* encode(value): ValueEncoder.encode's cache lookups for the atoms, then the Python
 * encode function of the code object (the reference) for everything else. */
static PyObject *
encode_value(LineRecorder *self, PyObject *encode, PyObject *v)
{
    if (self->ints != NULL) {
        PyTypeObject *t = Py_TYPE(v);
        PyObject *cache = NULL;
        if (t == &PyLong_Type) {
            cache = self->ints;
        }
        else if (t == &PyUnicode_Type) {
            cache = self->strs;
        }
        else if (t == &PyFloat_Type) {
            cache = self->floats;
        }
        else if (v == Py_None || t == &PyBool_Type) {
            PyObject **slot = v == Py_None ? &self->none_piece
                              : v == Py_True ? &self->true_piece
                                             : &self->false_piece;
            PyObject *name = v == Py_None ? S_none_json
                             : v == Py_True ? S_true_json
                                            : S_false_json;
            PyObject *piece = cached_atom(self, slot, name);
            if (piece != NULL || PyErr_Occurred()) {
                return piece;
            }
        }
        if (cache != NULL) {
            PyObject *piece = PyDict_GetItemWithError(cache, v);
            if (piece != NULL) {
                return Py_NewRef(piece);
            }
            if (PyErr_Occurred()) {
                return NULL;
            }
        }
    }
    return PyObject_CallOneArg(encode, v);
}

/* parts.append(prefix + encode(value) + close) */
static int
append_value(LineRecorder *self, PyObject *parts, PyObject *encode, PyObject *prefix,
             PyObject *value)
{
    PyObject *record = encode_value(self, encode, value);
    if (record == NULL) {
        return -1;
    }
    PyObject *piece = concat3(prefix, record, self->close);
    Py_DECREF(record);
    if (piece == NULL) {
        return -1;
    }
    int r = PyList_Append(parts, piece);
    Py_DECREF(piece);
    return r;
}

/* ------------------------------------------------------------------ locals */

/* The frame's locals, in `list(local_values.items())` order, as parallel arrays of new
 * references; *count < 0 when reading them failed with an Exception (recorded as "no
 * items", like the reference). Returns -1 on an error that must propagate. */
typedef struct {
    PyObject **names;
    PyObject **values;
    Py_ssize_t count;
    PyObject *small[2 * 32];
} Items;

static void
items_free(Items *items)
{
    for (Py_ssize_t i = 0; i < items->count; i++) {
        Py_DECREF(items->names[i]);
        Py_DECREF(items->values[i]);
    }
    if (items->names != NULL && items->names != items->small) {
        PyMem_Free(items->names);
    }
    items->names = items->values = NULL;
    items->count = 0;
}

static int
items_reserve(Items *items, Py_ssize_t n)
{
    if (n <= 32) {
        items->names = items->small;
    }
    else {
        items->names = PyMem_New(PyObject *, 2 * (size_t)n);
        if (items->names == NULL) {
            PyErr_NoMemory();
            return -1;
        }
    }
    items->values = items->names + (n <= 32 ? 32 : n);
    return 0;
}

static int
read_items(PyObject *local_values, Items *items)
{
    items->names = items->values = NULL;
    items->count = 0;
    if (PyDict_CheckExact(local_values)) {
        /* A snapshot, like list(d.items()): encoding may run Python code. */
        Py_ssize_t n = PyDict_GET_SIZE(local_values);
        if (items_reserve(items, n) < 0) {
            return -1;
        }
        Py_ssize_t pos = 0;
        PyObject *k, *v;
        while (items->count < n && PyDict_Next(local_values, &pos, &k, &v)) {
            items->names[items->count] = Py_NewRef(k);
            items->values[items->count] = Py_NewRef(v);
            items->count++;
        }
        return 0;
    }
    PyObject *list = PyMapping_Items(local_values); /* list(mapping.items()) */
    if (list == NULL) {
        if (swallow_exception()) {
            items->count = -1;
            return 0;
        }
        return -1;
    }
    Py_ssize_t n = PyList_GET_SIZE(list);
    if (items_reserve(items, n) < 0) {
        Py_DECREF(list);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *pair = PyList_GET_ITEM(list, i);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
            PyErr_SetString(PyExc_ValueError, "f_locals.items() gave an item that is not a pair");
            Py_DECREF(list);
            items_free(items);
            return -1;
        }
        items->names[i] = Py_NewRef(PyTuple_GET_ITEM(pair, 0));
        items->values[i] = Py_NewRef(PyTuple_GET_ITEM(pair, 1));
        items->count = i + 1;
    }
    Py_DECREF(list);
    return 0;
}

static int
capture_locals(LineRecorder *self, PyObject *info, PyObject *encode, Items *items,
               PyObject *parts)
{
    PyObject *prefixes = PyObject_GetAttr(info, S_local_prefixes);
    if (prefixes == NULL) {
        return -1;
    }
    int status = 0;
    for (Py_ssize_t i = 0; i < items->count && status == 0; i++) {
        PyObject *name = items->names[i], *value = items->values[i];
        PyObject *prefix;
        if (PyDict_CheckExact(prefixes)) {
            prefix = Py_XNewRef(PyDict_GetItemWithError(prefixes, name));
        }
        else {
            prefix = PyObject_CallMethodObjArgs(prefixes, S_get, name, NULL);
            if (prefix == Py_None) {
                Py_CLEAR(prefix);
            }
        }
        if (prefix != NULL) {
            status = append_value(self, parts, encode, prefix, value);
            Py_DECREF(prefix);
        }
        else if (PyErr_Occurred()) {
            status = -1;
        }
        else {
            PyObject *r = PyObject_CallMethodObjArgs(self->recorder, S_special_local, info, name,
                                                     value, parts, NULL);
            status = r == NULL ? -1 : 0;
            Py_XDECREF(r);
        }
    }
    Py_DECREF(prefixes);
    return status;
}

/* ------------------------------------------------------------------ globals */

/* The keys and values a step shows (recorder.py: `keys`, `values` in _capture_variables).
 * Returns 1 with new references, 0 when the step shows no globals (or reading them failed
 * with an Exception), -1 on an error to propagate. */
static int
global_keys_values(LineRecorder *self, PyObject *info, PyObject *global_values, PyObject **keys,
                   PyObject **values)
{
    PyObject *names = PyObject_GetAttr(info, S_global_names);
    if (names == NULL) {
        return -1;
    }
    *keys = *values = NULL;
    if (names == Py_None) {
        Py_DECREF(names);
        *keys = PySequence_Tuple(global_values);
        if (*keys != NULL) {
            PyObject *view = PyObject_CallMethodNoArgs(global_values, S_values);
            if (view != NULL) {
                *values = PySequence_Tuple(view);
                Py_DECREF(view);
            }
        }
        if (*values == NULL) {
            Py_CLEAR(*keys);
            return swallow_exception() ? 0 : -1;
        }
        return 1;
    }
    int shown = PyObject_IsTrue(names);
    if (shown <= 0) {
        Py_DECREF(names);
        return shown;
    }
    if (!PyTuple_CheckExact(names)) {
        Py_DECREF(names);
        PyErr_SetString(PyExc_TypeError, "CodeInfo.global_names is not a tuple");
        return -1;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(names);
    PyObject *tuple = PyTuple_New(n);
    if (tuple == NULL) {
        Py_DECREF(names);
        return -1;
    }
    PyObject *get = NULL;
    if (!PyDict_CheckExact(global_values)) {
        get = PyObject_GetAttr(global_values, S_get);
        if (get == NULL) {
            goto failed;
        }
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *name = PyTuple_GET_ITEM(names, i);
        PyObject *value;
        if (get == NULL) {
            value = Py_XNewRef(PyDict_GetItemWithError(global_values, name));
            if (value == NULL) {
                if (PyErr_Occurred()) {
                    goto failed;
                }
                value = Py_NewRef(self->missing);
            }
        }
        else {
            value = PyObject_CallFunctionObjArgs(get, name, self->missing, NULL);
            if (value == NULL) {
                goto failed;
            }
        }
        PyTuple_SET_ITEM(tuple, i, value);
    }
    Py_XDECREF(get);
    *keys = names;
    *values = tuple;
    return 1;
failed:
    Py_XDECREF(get);
    Py_DECREF(tuple);
    Py_DECREF(names);
    return swallow_exception() ? 0 : -1;
}

/* Whether the cached GlobalBlock still describes these globals (same epoch, same keys and
 * values by identity); 1 yes, 0 no, -1 error. */
static int
block_matches(LineRecorder *self, PyObject *block, PyObject *keys, PyObject *values)
{
    if (block == Py_None) {
        return 0;
    }
    PyObject *epoch = PyObject_GetAttr(block, S_epoch);
    if (epoch == NULL) {
        return -1;
    }
    PyObject *current = PyObject_GetAttr(self->recorder, S_secret_epoch);
    if (current == NULL) {
        Py_DECREF(epoch);
        return -1;
    }
    int same = PyObject_RichCompareBool(epoch, current, Py_EQ);
    Py_DECREF(epoch);
    Py_DECREF(current);
    if (same <= 0) {
        return same;
    }
    PyObject *old_keys = PyObject_GetAttr(block, S_keys);
    PyObject *old_values = old_keys ? PyObject_GetAttr(block, S_values) : NULL;
    int match = -1;
    if (old_values != NULL) {
        match = 0;
        Py_ssize_t n = PyTuple_GET_SIZE(keys);
        if (PyTuple_CheckExact(old_keys) && PyTuple_CheckExact(old_values) &&
            PyTuple_GET_SIZE(old_keys) == n && PyTuple_GET_SIZE(old_values) == n) {
            match = 1;
            for (Py_ssize_t i = 0; i < n && match; i++) {
                match = PyTuple_GET_ITEM(values, i) == PyTuple_GET_ITEM(old_values, i) &&
                        PyTuple_GET_ITEM(keys, i) == PyTuple_GET_ITEM(old_keys, i);
            }
        }
    }
    Py_XDECREF(old_keys);
    Py_XDECREF(old_values);
    return match;
}

/* The shadowable globals: shown unless a local of the same name hides them. */
static int
capture_shadowable(LineRecorder *self, PyObject *info, PyObject *encode, PyObject *shadowable,
                   PyObject *shadowed, PyObject *parts)
{
    PyObject *it = PyObject_GetIter(shadowable);
    if (it == NULL) {
        return -1;
    }
    PyObject *entry;
    int status = 0;
    while (status == 0 && (entry = PyIter_Next(it)) != NULL) {
        PyObject *name, *variable_id, *value;
        if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 3) {
            PyErr_SetString(PyExc_ValueError, "GlobalBlock.shadowable entry is not a triple");
            Py_DECREF(entry);
            status = -1;
            break;
        }
        name = PyTuple_GET_ITEM(entry, 0);
        variable_id = PyTuple_GET_ITEM(entry, 1);
        value = PyTuple_GET_ITEM(entry, 2);
        int hidden = PySequence_Contains(shadowed, name);
        if (hidden != 0) {
            status = hidden < 0 ? -1 : 0;
            Py_DECREF(entry);
            continue;
        }
        PyObject *text = NULL, *vid = NULL;
        long id = PyLong_AsLong(variable_id);
        if (id == -1 && PyErr_Occurred()) {
            Py_DECREF(entry);
            status = -1;
            break;
        }
        if (id == REDACT_ID) {
            PyObject *r =
                PyObject_CallMethodObjArgs(self->recorder, S_count, info, S_global, S_redact, NULL);
            if (r != NULL) {
                Py_DECREF(r);
                text = PyObject_CallMethodObjArgs(self->recorder, S_redacted_m, info, value, NULL);
            }
            if (text != NULL) {
                PyObject *writer = PyObject_GetAttr(self->recorder, S_writer);
                if (writer != NULL) {
                    vid = PyObject_CallMethodOneArg(writer, S_variable_id, name);
                    Py_DECREF(writer);
                }
            }
        }
        else {
            text = encode_value(self, encode, value);
            vid = Py_NewRef(variable_id);
        }
        if (text != NULL && vid != NULL) {
            PyObject *event = PyObject_CallMethodObjArgs(self->grammar, S_value, vid, text, NULL);
            status = event == NULL ? -1 : PyList_Append(parts, event);
            Py_XDECREF(event);
        }
        else {
            status = -1;
        }
        Py_XDECREF(text);
        Py_XDECREF(vid);
        Py_DECREF(entry);
    }
    Py_DECREF(it);
    if (status == 0 && PyErr_Occurred()) {
        status = -1;
    }
    return status;
}

static int
capture_globals(LineRecorder *self, PyObject *info, PyObject *encode, PyObject *global_values,
                PyObject *local_values, int have_items, PyObject *parts)
{
    PyObject *keys, *values;
    int shown = global_keys_values(self, info, global_values, &keys, &values);
    if (shown <= 0) {
        return shown;
    }
    int status = -1;
    PyObject *block = PyObject_GetAttr(info, S_global_block);
    PyObject *volatile_ = NULL, *shadowable = NULL;
    if (block == NULL) {
        goto done;
    }
    int match = block_matches(self, block, keys, values);
    if (match < 0) {
        goto done;
    }
    if (!match) {
        Py_SETREF(block, PyObject_CallMethodObjArgs(self->recorder, S_make_global_block, info,
                                                    keys, values, NULL));
        if (block == NULL || PyObject_SetAttr(info, S_global_block, block) < 0) {
            goto done;
        }
    }
    int counted = attr_true(block, S_redacted);
    if (counted == 0) {
        counted = attr_true(block, S_dropped);
    }
    if (counted < 0) {
        goto done;
    }
    if (counted) {
        PyObject *r =
            PyObject_CallMethodObjArgs(self->recorder, S_count_globals, info, block, NULL);
        if (r == NULL) {
            goto done;
        }
        Py_DECREF(r);
    }
    PyObject *text = PyObject_GetAttr(block, S_text);
    if (text == NULL) {
        goto done;
    }
    int has_text = PyObject_IsTrue(text);
    if (has_text > 0) {
        has_text = PyList_Append(parts, text) < 0 ? -1 : 1;
    }
    Py_DECREF(text);
    if (has_text < 0) {
        goto done;
    }
    volatile_ = PyObject_GetAttr(block, S_volatile);
    if (volatile_ == NULL) {
        goto done;
    }
    if (PyList_CheckExact(volatile_)) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(volatile_); i++) {
            PyObject *entry = PyList_GET_ITEM(volatile_, i);
            if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 2) {
                PyErr_SetString(PyExc_ValueError, "GlobalBlock.volatile entry is not a pair");
                goto done;
            }
            Py_INCREF(entry);
            int r = append_value(self, parts, encode, PyTuple_GET_ITEM(entry, 0),
                                 PyTuple_GET_ITEM(entry, 1));
            Py_DECREF(entry);
            if (r < 0) {
                goto done;
            }
        }
    }
    else {
        PyErr_SetString(PyExc_TypeError, "GlobalBlock.volatile is not a list");
        goto done;
    }
    shadowable = PyObject_GetAttr(block, S_shadowable);
    if (shadowable == NULL) {
        goto done;
    }
    int any = PyObject_IsTrue(shadowable);
    if (any < 0) {
        goto done;
    }
    if (any) {
        PyObject *shadowed = have_items ? local_values : self->empty_dict;
        if (capture_shadowable(self, info, encode, shadowable, shadowed, parts) < 0) {
            goto done;
        }
    }
    status = 0;
done:
    Py_XDECREF(shadowable);
    Py_XDECREF(volatile_);
    Py_XDECREF(block);
    Py_DECREF(keys);
    Py_DECREF(values);
    return status;
}

/* EventRecorder._capture_variables */
static int
capture_variables(LineRecorder *self, PyObject *info, PyObject *frame, PyObject *parts)
{
    PyObject *local_values = PyObject_GetAttr(frame, S_f_locals);
    if (local_values == NULL) {
        return swallow_exception() ? 0 : -1;
    }
    PyObject *global_values = PyObject_GetAttr(frame, S_f_globals);
    if (global_values == NULL) {
        Py_DECREF(local_values);
        return swallow_exception() ? 0 : -1;
    }
    int status = -1;
    Items items = {0};
    PyObject *encode = PyObject_GetAttr(info, S_encode);
    if (encode == NULL) {
        goto done;
    }
    int have_items = 0;
    if (local_values != global_values) {
        if (read_items(local_values, &items) < 0) {
            goto done;
        }
        have_items = items.count >= 0;
        if (!have_items) {
            items.count = 0;
        }
    }
    if (have_items && capture_locals(self, info, encode, &items, parts) < 0) {
        goto done;
    }
    status = capture_globals(self, info, encode, global_values, local_values, have_items, parts);
done:
    items_free(&items);
    Py_XDECREF(encode);
    Py_DECREF(local_values);
    Py_DECREF(global_values);
    return status;
}

/* ------------------------------------------------------------------ events */

static PyObject *
python_on_line(LineRecorder *self, PyObject *code, PyObject *frame, PyObject *line)
{
    PyObject *args[4] = {self->recorder, code, frame, line};
    return PyObject_Vectorcall(self->py_on_line, args, 4, NULL);
}

/* Whether the event is the common case this file handles (1), or goes to Python (0). */
static int
common_case(LineRecorder *self, PyObject *info, PyObject **path_id)
{
    *path_id = PyObject_GetAttr(info, S_path_id);
    if (*path_id == NULL) {
        return -1;
    }
    int registered = PyLong_CheckExact(*path_id) && PyLong_AsLong(*path_id) >= 0;
    if (PyErr_Occurred()) {
        return -1;
    }
    if (!registered) {
        return 0;
    }
    if (self->io != Py_None) {
        int pending = attr_true(self->io, S_pending);
        if (pending != 0) {
            return pending < 0 ? -1 : 0;
        }
    }
    return 1;
}

/* recorder._last_path_id, _last_line, _last_frame_id, steps (on_line's bookkeeping). */
static int
note_step(LineRecorder *self, PyObject *path_id, PyObject *frame, PyObject *line)
{
    PyObject *rec = self->recorder;
    if (PyObject_SetAttr(rec, S_last_path_id, path_id) < 0 ||
        PyObject_SetAttr(rec, S_last_line, line) < 0) {
        return -1;
    }
    PyObject *frame_id = PyLong_FromVoidPtr(frame); /* id(frame) */
    if (frame_id == NULL) {
        return -1;
    }
    int r = PyObject_SetAttr(rec, S_last_frame_id, frame_id);
    Py_DECREF(frame_id);
    if (r < 0) {
        return -1;
    }
    PyObject *steps = PyObject_GetAttr(rec, S_steps);
    if (steps == NULL) {
        return -1;
    }
    PyObject *one = PyLong_FromLong(1);
    PyObject *next = one ? PyNumber_Add(steps, one) : NULL;
    Py_XDECREF(one);
    Py_DECREF(steps);
    if (next == NULL) {
        return -1;
    }
    r = PyObject_SetAttr(rec, S_steps, next);
    Py_DECREF(next);
    return r;
}

/* info.step_texts.get(line), built by the grammar (and cached) on first use. */
static PyObject *
step_text(LineRecorder *self, PyObject *info, PyObject *path_id, PyObject *line)
{
    PyObject *texts = PyObject_GetAttr(info, S_step_texts);
    if (texts == NULL) {
        return NULL;
    }
    PyObject *step = Py_XNewRef(PyDict_GetItemWithError(texts, line));
    if (step == NULL && !PyErr_Occurred()) {
        step = PyObject_CallMethodObjArgs(self->grammar, S_step, path_id, line, NULL);
        if (step != NULL && PyDict_SetItem(texts, line, step) < 0) {
            Py_CLEAR(step);
        }
    }
    Py_DECREF(texts);
    return step;
}

static PyObject *
on_line_impl(LineRecorder *self, PyObject *code, PyObject *frame, PyObject *line)
{
    int active = attr_true(self->recorder, S_active);
    if (active <= 0) {
        return active < 0 ? NULL : Py_NewRef(Py_None);
    }
    PyObject *info = Py_XNewRef(PyDict_GetItemWithError(self->infos, code));
    if (info == NULL) {
        return PyErr_Occurred() ? NULL : python_on_line(self, code, frame, line);
    }
    PyObject *result = NULL, *path_id = NULL, *parts = NULL, *step = NULL;
    int common = common_case(self, info, &path_id);
    if (common <= 0) {
        if (common == 0) {
            result = python_on_line(self, code, frame, line);
        }
        goto done;
    }
    if (note_step(self, path_id, frame, line) < 0) {
        goto done;
    }
    step = step_text(self, info, path_id, line);
    if (step == NULL) {
        goto done;
    }
    parts = PyList_New(1);
    if (parts == NULL) {
        goto done;
    }
    PyList_SET_ITEM(parts, 0, Py_NewRef(step));
    if (capture_variables(self, info, frame, parts) < 0) {
        goto done;
    }
    result = PyObject_CallOneArg(self->extend, parts);
    if (result != NULL) {
        Py_SETREF(result, Py_NewRef(Py_None));
    }
done:
    Py_XDECREF(step);
    Py_XDECREF(parts);
    Py_XDECREF(path_id);
    Py_DECREF(info);
    return result;
}

/* recorder.<name>(len(stack)) */
static int
call_with_depth(LineRecorder *self, PyObject *name, PyObject *stack)
{
    PyObject *depth = PyLong_FromSsize_t(PyList_GET_SIZE(stack));
    if (depth == NULL) {
        return -1;
    }
    PyObject *r = PyObject_CallMethodOneArg(self->recorder, name, depth);
    Py_DECREF(depth);
    Py_XDECREF(r);
    return r == NULL ? -1 : 0;
}

/* EventRecorder.on_return (also PY_YIELD and PY_UNWIND): the Return event of a frame whose
 * start was recorded on this thread; io pending or a filtered return value go to Python. */
static PyObject *
on_return_impl(LineRecorder *self, PyObject *code, PyObject *value)
{
    PyObject *ident = PyLong_FromUnsignedLong(PyThread_get_thread_ident());
    if (ident == NULL) {
        return NULL;
    }
    PyObject *stack = Py_XNewRef(PyDict_GetItemWithError(self->stacks, ident));
    Py_DECREF(ident);
    if (stack == NULL) {
        return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
    }
    PyObject *result = NULL, *info = NULL, *action = NULL, *encode = NULL, *parts = NULL;
    if (!PyList_CheckExact(stack)) {
        PyErr_SetString(PyExc_TypeError, "EventRecorder._stacks holds a non-list");
        goto done;
    }
    Py_ssize_t depth = PyList_GET_SIZE(stack);
    if (depth == 0 || PyList_GET_ITEM(stack, depth - 1) != code) {
        result = Py_NewRef(Py_None); /* a frame whose start was never recorded */
        goto done;
    }
    info = Py_XNewRef(PyDict_GetItemWithError(self->infos, code));
    action = info ? PyObject_GetAttr(info, S_ret_action) : NULL;
    if (action == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_SetObject(PyExc_KeyError, code);
        }
        goto done;
    }
    int pending = self->io == Py_None ? 0 : attr_true(self->io, S_pending);
    int allow = PyUnicode_Check(action) ? PyUnicode_Compare(action, S_allow) == 0 : 0;
    if (pending < 0 || PyErr_Occurred()) {
        goto done;
    }
    if (pending || !allow) {
        PyObject *args[3] = {self->recorder, code, value};
        result = PyObject_Vectorcall(self->py_on_return, args, 3, NULL);
        goto done;
    }
    encode = PyObject_GetAttr(info, S_encode);
    parts = encode ? PyList_New(0) : NULL;
    if (parts == NULL || append_value(self, parts, encode, self->return_prefix, value) < 0) {
        goto done;
    }
    PyObject *r = PyObject_CallOneArg(self->extend, parts);
    if (r == NULL) {
        goto done;
    }
    Py_DECREF(r);
    /* stack.pop(), only once the Return is buffered (see TraceWriter.extend) */
    depth = PyList_GET_SIZE(stack);
    if (depth > 0 && PyList_SetSlice(stack, depth - 1, depth, NULL) < 0) {
        goto done;
    }
    /* recorder._return_to_caller(len(stack)): output after a return is the caller's */
    if (call_with_depth(self, S_return_to_caller, stack) < 0) {
        goto done;
    }
    PyObject *activation = PyObject_GetAttr(self->recorder, S_activation_code);
    if (activation == NULL) {
        goto done;
    }
    int finished = activation == code && PyList_GET_SIZE(stack) == 0;
    Py_DECREF(activation);
    if (finished) {
        result = PyObject_CallMethodNoArgs(self->recorder, S_finish_activation);
        if (result == NULL) {
            goto done;
        }
        Py_DECREF(result);
    }
    result = Py_NewRef(Py_None);
done:
    Py_XDECREF(parts);
    Py_XDECREF(encode);
    Py_XDECREF(action);
    Py_XDECREF(info);
    Py_DECREF(stack);
    return result;
}

/* The argument values of a start: (variable_id, record) pairs appended to `args`, their Value
 * events to `parts` (EventRecorder._capture_args, once every id is a plain variable id). */
static int
capture_args(LineRecorder *self, PyObject *info, PyObject *frame, PyObject *names,
             PyObject *ids, PyObject *parts, PyObject *args)
{
    PyObject *local_values = PyObject_GetAttr(frame, S_f_locals);
    if (local_values == NULL) {
        return swallow_exception() ? 0 : -1; /* record no args */
    }
    PyObject *encode = PyObject_GetAttr(info, S_encode);
    int status = encode == NULL ? -1 : 0;
    for (Py_ssize_t i = 0; status == 0 && i < PyTuple_GET_SIZE(names); i++) {
        PyObject *vid = PyTuple_GET_ITEM(ids, i);
        PyObject *value = PyObject_GetItem(local_values, PyTuple_GET_ITEM(names, i));
        if (value == NULL) {
            status = swallow_exception() ? 0 : -1; /* deleted or unbound: nothing to show */
            continue;
        }
        PyObject *record = encode_value(self, encode, value);
        Py_DECREF(value);
        if (record == NULL) {
            status = -1;
            break;
        }
        PyObject *event = PyObject_CallMethodObjArgs(self->grammar, S_value, vid, record, NULL);
        PyObject *pair = event ? PyTuple_Pack(2, vid, record) : NULL;
        Py_DECREF(record);
        if (pair == NULL || PyList_Append(parts, event) < 0 || PyList_Append(args, pair) < 0) {
            status = -1;
        }
        Py_XDECREF(event);
        Py_XDECREF(pair);
    }
    Py_XDECREF(encode);
    Py_DECREF(local_values);
    return status;
}

/* Whether a start is the common case: active, registered code, no IO pending, argument ids
 * resolved and none redacted or dropped. Sets *names/*ids (new references) when it is. */
static int
start_is_common(LineRecorder *self, PyObject *info, PyObject **names, PyObject **ids)
{
    *names = *ids = NULL;
    PyObject *fid = PyObject_GetAttr(info, S_function_id);
    if (fid == NULL) {
        return -1;
    }
    int registered = PyLong_CheckExact(fid) && PyLong_AsLong(fid) >= 0;
    Py_DECREF(fid);
    if (PyErr_Occurred()) {
        return -1;
    }
    if (!registered) {
        return 0;
    }
    if (self->io != Py_None) {
        int pending = attr_true(self->io, S_pending);
        if (pending != 0) {
            return pending < 0 ? -1 : 0;
        }
    }
    *names = PyObject_GetAttr(info, S_arg_names);
    *ids = *names ? PyObject_GetAttr(info, S_arg_ids) : NULL;
    if (*ids == NULL) {
        Py_CLEAR(*names);
        return -1;
    }
    int common = PyTuple_CheckExact(*names) && PyTuple_CheckExact(*ids) &&
                 PyTuple_GET_SIZE(*names) == PyTuple_GET_SIZE(*ids);
    for (Py_ssize_t i = 0; common && i < PyTuple_GET_SIZE(*ids); i++) {
        PyObject *vid = PyTuple_GET_ITEM(*ids, i);
        common = PyLong_CheckExact(vid) && PyLong_AsLong(vid) >= 0;
    }
    if (PyTuple_CheckExact(*names) && PyTuple_GET_SIZE(*names) == 0) {
        common = 1; /* no arguments: arg_ids may still be None */
    }
    if (!common || PyErr_Occurred()) {
        Py_CLEAR(*names);
        Py_CLEAR(*ids);
        return PyErr_Occurred() ? -1 : 0;
    }
    return 1;
}

/* This thread's stack of recorded code objects, created on first use (EventRecorder._stack). */
static PyObject *
thread_stack(LineRecorder *self)
{
    PyObject *ident = PyLong_FromUnsignedLong(PyThread_get_thread_ident());
    if (ident == NULL) {
        return NULL;
    }
    PyObject *stack = Py_XNewRef(PyDict_GetItemWithError(self->stacks, ident));
    if (stack == NULL && !PyErr_Occurred()) {
        stack = PyList_New(0);
        if (stack != NULL && PyDict_SetItem(self->stacks, ident, stack) < 0) {
            Py_CLEAR(stack);
        }
    }
    Py_DECREF(ident);
    return stack;
}

/* EventRecorder.on_start: argument Values, the Step at the definition line, the Call. */
static PyObject *
on_start_impl(LineRecorder *self, PyObject *code, PyObject *frame)
{
    int active = attr_true(self->recorder, S_active);
    PyObject *info = active > 0 ? Py_XNewRef(PyDict_GetItemWithError(self->infos, code)) : NULL;
    if (info == NULL) {
        if (PyErr_Occurred()) {
            return NULL;
        }
        PyObject *args[3] = {self->recorder, code, frame}; /* activation, first sight */
        return PyObject_Vectorcall(self->py_on_start, args, 3, NULL);
    }
    PyObject *names, *ids, *result = NULL, *parts = NULL, *args = NULL, *stack = NULL;
    int common = start_is_common(self, info, &names, &ids);
    if (common <= 0) {
        if (common == 0) {
            PyObject *call_args[3] = {self->recorder, code, frame};
            result = PyObject_Vectorcall(self->py_on_start, call_args, 3, NULL);
        }
        Py_DECREF(info);
        return result;
    }
    parts = PyList_New(0);
    args = parts ? PyList_New(0) : NULL;
    if (args == NULL || (PyTuple_GET_SIZE(names) > 0 &&
                         capture_args(self, info, frame, names, ids, parts, args) < 0)) {
        goto done;
    }
    PyObject *step = PyObject_GetAttr(info, S_step_text);
    if (step == NULL) {
        goto done;
    }
    int r = PyList_Append(parts, step);
    Py_DECREF(step);
    PyObject *fid = r < 0 ? NULL : PyObject_GetAttr(info, S_function_id);
    PyObject *call = fid ? PyObject_CallMethodObjArgs(self->grammar, S_call, fid, args, NULL) : NULL;
    Py_XDECREF(fid);
    if (call == NULL) {
        goto done;
    }
    r = PyList_Append(parts, call);
    Py_DECREF(call);
    stack = r < 0 ? NULL : thread_stack(self);
    if (stack == NULL) {
        goto done;
    }
    PyObject *written = PyObject_CallOneArg(self->extend, parts);
    if (written == NULL) {
        goto done;
    }
    Py_DECREF(written);
    /* recorder._enter_caller(len(stack)): where the caller was, for IO after the return */
    if (call_with_depth(self, S_enter_caller, stack) < 0) {
        goto done;
    }
    if (PyList_Append(stack, code) < 0) { /* only once the Call is buffered */
        goto done;
    }
    result = Py_NewRef(Py_None);
done:
    Py_XDECREF(stack);
    Py_XDECREF(args);
    Py_XDECREF(parts);
    Py_XDECREF(names);
    Py_XDECREF(ids);
    Py_DECREF(info);
    return result;
}

/* The frame running `code`: the innermost such frame on this thread's stack (the
 * callback's callers are the guard's wrapper and, under a failpoint, its firing wrapper). */
static PyObject *
frame_of(PyObject *code)
{
    PyFrameObject *top = PyEval_GetFrame(); /* borrowed */
    if (top == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "LINE event without a Python frame");
        return NULL;
    }
    PyFrameObject *frame = (PyFrameObject *)Py_NewRef(top);
    while (frame != NULL) {
        PyCodeObject *fcode = PyFrame_GetCode(frame);
        int found = (PyObject *)fcode == code;
        Py_DECREF(fcode);
        if (found) {
            return (PyObject *)frame;
        }
        PyFrameObject *back = PyFrame_GetBack(frame);
        Py_DECREF(frame);
        frame = back;
    }
    /* Not found (cannot happen for a real LINE event): the caller of the guard. */
    PyFrameObject *back = PyFrame_GetBack(top);
    return back != NULL ? (PyObject *)back : Py_NewRef((PyObject *)top);
}

/* ------------------------------------------------------------------ the type */

/* Guarded calls of an uninitialised instance would crash: refuse them instead. */
static PyObject *
check_ready(LineRecorder *self)
{
    if (self->recorder == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "LineRecorder used before __init__");
        return NULL;
    }
    return Py_None;
}

/* The vectorcall methods take exactly ``expected`` positional arguments. */
static int
check_arity(const char *name, Py_ssize_t nargs, Py_ssize_t expected)
{
    if (nargs != expected) {
        PyErr_Format(PyExc_TypeError, "%s() takes %zd arguments (%zd given)", name, expected,
                     nargs);
        return 0;
    }
    return 1;
}

static PyObject *
LineRecorder_on_line(LineRecorder *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (!check_arity("on_line", nargs, 3)) {
        return NULL;
    }
    return on_line_impl(self, args[0], args[1], args[2]);
}

static PyObject *
LineRecorder_line(LineRecorder *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (!check_arity("line", nargs, 2)) {
        return NULL;
    }
    int finished = attr_true(self->recorder, S_finished);
    if (finished != 0) {
        return finished < 0 ? NULL : Py_NewRef(self->disable);
    }
    PyObject *frame = frame_of(args[0]);
    if (frame == NULL) {
        return NULL;
    }
    PyObject *r = on_line_impl(self, args[0], frame, args[1]);
    Py_DECREF(frame);
    return r;
}

static PyObject *
LineRecorder_on_return(LineRecorder *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (!check_arity("on_return", nargs, 2) || check_ready(self) == NULL) {
        return NULL;
    }
    return on_return_impl(self, args[0], args[1]);
}

static PyObject *
LineRecorder_on_start(LineRecorder *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (!check_arity("on_start", nargs, 2) || check_ready(self) == NULL) {
        return NULL;
    }
    return on_start_impl(self, args[0], args[1]);
}

static int
LineRecorder_init(LineRecorder *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"recorder", "on_line",   "missing", "disable",
                             "on_return", "on_start", NULL};
    PyObject *recorder, *on_line, *missing, *disable = Py_None, *on_return = Py_None;
    PyObject *on_start = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO|OOO:LineRecorder", kwlist, &recorder,
                                     &on_line, &missing, &disable, &on_return, &on_start)) {
        return -1;
    }
    PyObject *stacks = PyObject_GetAttr(recorder, S_stacks);
    if (stacks == NULL) {
        return -1;
    }
    if (!PyDict_CheckExact(stacks)) {
        Py_DECREF(stacks);
        PyErr_SetString(PyExc_TypeError, "EventRecorder._stacks is not a dict");
        return -1;
    }
    PyObject *infos = PyObject_GetAttr(recorder, S_infos);
    PyObject *extend = infos ? PyObject_GetAttr(recorder, S_extend) : NULL;
    PyObject *grammar = extend ? PyObject_GetAttr(recorder, S_g) : NULL;
    PyObject *close = grammar ? PyObject_GetAttr(recorder, S_close) : NULL;
    PyObject *io = close ? PyObject_GetAttr(recorder, S_io) : NULL;
    PyObject *encoder = io ? PyObject_GetAttr(recorder, S_encoder) : NULL;
    PyObject *custom = encoder ? PyObject_GetAttr(recorder, S_custom_encode) : NULL;
    PyObject *ints = NULL, *strs = NULL, *floats = NULL;
    if (custom != NULL && custom == Py_None) {
        /* The caches are consulted only when values go through ValueEncoder.encode. */
        ints = PyObject_GetAttr(encoder, S_ints);
        strs = ints ? PyObject_GetAttr(encoder, S_strs) : NULL;
        floats = strs ? PyObject_GetAttr(encoder, S_floats) : NULL;
        if (floats != NULL &&
            !(PyDict_CheckExact(ints) && PyDict_CheckExact(strs) && PyDict_CheckExact(floats))) {
            PyErr_SetString(PyExc_TypeError, "the encoder's caches are not dicts");
            Py_CLEAR(floats);
        }
    }
    int ok = custom != NULL && (custom != Py_None || floats != NULL);
    if (ok && !PyDict_CheckExact(infos)) {
        PyErr_SetString(PyExc_TypeError, "EventRecorder._infos is not a dict");
        ok = 0;
    }
    PyObject *return_prefix = ok ? PyObject_GetAttr(grammar, S_return_prefix) : NULL;
    PyObject *empty = return_prefix ? PyDict_New() : NULL;
    if (empty == NULL) {
        ok = 0;
    }
    Py_XDECREF(custom);
    if (!ok) {
        Py_XDECREF(infos);
        Py_XDECREF(extend);
        Py_XDECREF(grammar);
        Py_XDECREF(close);
        Py_XDECREF(io);
        Py_XDECREF(encoder);
        Py_XDECREF(ints);
        Py_XDECREF(strs);
        Py_XDECREF(floats);
        Py_XDECREF(return_prefix);
        Py_DECREF(stacks);
        return -1;
    }
    Py_XSETREF(self->recorder, Py_NewRef(recorder));
    Py_XSETREF(self->py_on_line, Py_NewRef(on_line));
    Py_XSETREF(self->missing, Py_NewRef(missing));
    Py_XSETREF(self->disable, Py_NewRef(disable));
    Py_XSETREF(self->infos, infos);
    Py_XSETREF(self->extend, extend);
    Py_XSETREF(self->grammar, grammar);
    Py_XSETREF(self->close, close);
    Py_XSETREF(self->io, io);
    Py_XSETREF(self->encoder, encoder);
    Py_XSETREF(self->ints, ints);
    Py_XSETREF(self->strs, strs);
    Py_XSETREF(self->floats, floats);
    Py_XSETREF(self->empty_dict, empty);
    Py_XSETREF(self->stacks, stacks);
    Py_XSETREF(self->return_prefix, return_prefix);
    Py_XSETREF(self->py_on_return, Py_NewRef(on_return));
    Py_XSETREF(self->py_on_start, Py_NewRef(on_start));
    Py_CLEAR(self->none_piece);
    Py_CLEAR(self->true_piece);
    Py_CLEAR(self->false_piece);
    return 0;
}

static int
LineRecorder_traverse(LineRecorder *self, visitproc visit, void *arg)
{
    Py_VISIT(self->recorder);
    Py_VISIT(self->py_on_line);
    Py_VISIT(self->missing);
    Py_VISIT(self->disable);
    Py_VISIT(self->infos);
    Py_VISIT(self->extend);
    Py_VISIT(self->grammar);
    Py_VISIT(self->close);
    Py_VISIT(self->io);
    Py_VISIT(self->encoder);
    Py_VISIT(self->ints);
    Py_VISIT(self->strs);
    Py_VISIT(self->floats);
    Py_VISIT(self->none_piece);
    Py_VISIT(self->true_piece);
    Py_VISIT(self->false_piece);
    Py_VISIT(self->empty_dict);
    Py_VISIT(self->stacks);
    Py_VISIT(self->return_prefix);
    Py_VISIT(self->py_on_return);
    Py_VISIT(self->py_on_start);
    return 0;
}

static int
LineRecorder_clear(LineRecorder *self)
{
    Py_CLEAR(self->recorder);
    Py_CLEAR(self->py_on_line);
    Py_CLEAR(self->missing);
    Py_CLEAR(self->disable);
    Py_CLEAR(self->infos);
    Py_CLEAR(self->extend);
    Py_CLEAR(self->grammar);
    Py_CLEAR(self->close);
    Py_CLEAR(self->io);
    Py_CLEAR(self->encoder);
    Py_CLEAR(self->ints);
    Py_CLEAR(self->strs);
    Py_CLEAR(self->floats);
    Py_CLEAR(self->none_piece);
    Py_CLEAR(self->true_piece);
    Py_CLEAR(self->false_piece);
    Py_CLEAR(self->empty_dict);
    Py_CLEAR(self->stacks);
    Py_CLEAR(self->return_prefix);
    Py_CLEAR(self->py_on_return);
    Py_CLEAR(self->py_on_start);
    return 0;
}

static void
LineRecorder_dealloc(LineRecorder *self)
{
    PyObject_GC_UnTrack(self);
    LineRecorder_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
LineRecorder_on_line_checked(LineRecorder *self, PyObject *const *args, Py_ssize_t nargs)
{
    return check_ready(self) ? LineRecorder_on_line(self, args, nargs) : NULL;
}

static PyObject *
LineRecorder_line_checked(LineRecorder *self, PyObject *const *args, Py_ssize_t nargs)
{
    return check_ready(self) ? LineRecorder_line(self, args, nargs) : NULL;
}

static PyMethodDef LineRecorder_methods[] = {
    {"on_line", (PyCFunction)(void (*)(void))LineRecorder_on_line_checked, METH_FASTCALL,
     "on_line($self, code, frame, line, /)\n--\n\n"
     "EventRecorder.on_line in C: the Step and the visible variables of one LINE event."},
    {"on_start", (PyCFunction)(void (*)(void))LineRecorder_on_start, METH_FASTCALL,
     "on_start($self, code, frame, /)\n--\n\n"
     "EventRecorder.on_start in C: argument Values, the Step, the Call."},
    {"on_return", (PyCFunction)(void (*)(void))LineRecorder_on_return, METH_FASTCALL,
     "on_return($self, code, value, /)\n--\n\n"
     "EventRecorder.on_return in C (PY_RETURN, PY_YIELD and, through on_unwind, PY_UNWIND)."},
    {"line", (PyCFunction)(void (*)(void))LineRecorder_line_checked, METH_FASTCALL,
     "line($self, code, lineno, /)\n--\n\n"
     "The sys.monitoring LINE callback: DISABLE once recording finished, else on_line\n"
     "for the innermost frame running code."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject LineRecorderType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "recorder_speedups._speedups.LineRecorder",
    .tp_basicsize = sizeof(LineRecorder),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "LineRecorder(recorder, on_line, missing, disable=None)\n--\n\n"
              "The LINE event of an EventRecorder in C (see the module source).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)LineRecorder_init,
    .tp_dealloc = (destructor)LineRecorder_dealloc,
    .tp_traverse = (traverseproc)LineRecorder_traverse,
    .tp_clear = (inquiry)LineRecorder_clear,
    .tp_methods = LineRecorder_methods,
};

/* ------------------------------------------------------------------ module */

static int
intern_names(void)
{
#define NAME(var, text)                                                                        \
    if ((var = PyUnicode_InternFromString(text)) == NULL) {                                    \
        return -1;                                                                             \
    }
    NAME(S_active, "active");
    NAME(S_finished, "finished");
    NAME(S_path_id, "path_id");
    NAME(S_pending, "pending");
    NAME(S_last_path_id, "_last_path_id");
    NAME(S_last_line, "_last_line");
    NAME(S_last_frame_id, "_last_frame_id");
    NAME(S_steps, "steps");
    NAME(S_step_texts, "step_texts");
    NAME(S_step, "step");
    NAME(S_local_prefixes, "local_prefixes");
    NAME(S_encode, "encode");
    NAME(S_special_local, "_special_local");
    NAME(S_global_block, "global_block");
    NAME(S_global_names, "global_names");
    NAME(S_epoch, "epoch");
    NAME(S_secret_epoch, "_secret_epoch");
    NAME(S_keys, "keys");
    NAME(S_values, "values");
    NAME(S_make_global_block, "_global_block");
    NAME(S_redacted, "redacted");
    NAME(S_dropped, "dropped");
    NAME(S_count_globals, "_count_globals");
    NAME(S_text, "text");
    NAME(S_volatile, "volatile");
    NAME(S_shadowable, "shadowable");
    NAME(S_f_locals, "f_locals");
    NAME(S_f_globals, "f_globals");
    NAME(S_get, "get");
    NAME(S_count, "_count");
    NAME(S_redacted_m, "_redacted");
    NAME(S_writer, "writer");
    NAME(S_variable_id, "variable_id");
    NAME(S_value, "value");
    NAME(S_global, "global");
    NAME(S_redact, "redact");
    NAME(S_none_json, "_none_json");
    NAME(S_true_json, "_true_json");
    NAME(S_false_json, "_false_json");
    NAME(S_infos, "_infos");
    NAME(S_extend, "_extend");
    NAME(S_g, "_g");
    NAME(S_close, "_close");
    NAME(S_io, "io");
    NAME(S_encoder, "encoder");
    NAME(S_custom_encode, "_custom_encode");
    NAME(S_ints, "_ints");
    NAME(S_strs, "_strs");
    NAME(S_floats, "_floats");
    NAME(S_stacks, "_stacks");
    NAME(S_return_prefix, "return_prefix");
    NAME(S_ret_action, "ret_action");
    NAME(S_allow, "allow");
    NAME(S_activation_code, "activation_code");
    NAME(S_finish_activation, "_finish_activation");
    NAME(S_function_id, "function_id");
    NAME(S_arg_names, "arg_names");
    NAME(S_arg_ids, "arg_ids");
    NAME(S_step_text, "step_text");
    NAME(S_call, "call");
    NAME(S_enter_caller, "_enter_caller");
    NAME(S_return_to_caller, "_return_to_caller");
#undef NAME
    return 0;
}

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "recorder_speedups._speedups",
    .m_doc = "The LINE event of recorder-runtime's EventRecorder, in C.",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    if (intern_names() < 0 || PyType_Ready(&LineRecorderType) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&speedups_module);
    if (module == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(module, "LineRecorder", (PyObject *)&LineRecorderType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
