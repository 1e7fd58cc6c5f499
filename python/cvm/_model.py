"""cvm.Model: a loaded CVM model, numpy in and out."""

import os

import numpy as np

from . import _native
from ._errors import ModelError


class TensorInfo:
    """Name, shape, precision (bits) and numpy dtype of an input or output.

    ``dtype`` is the element type of the C API's bytes for the input (int8
    when the precision is at most 8, else int32) and int32 for outputs, the
    type :meth:`Model.run` returns."""

    __slots__ = ("name", "shape", "precision", "dtype")

    def __init__(self, name, shape, precision, dtype):
        self.name = name
        self.shape = tuple(shape)
        self.precision = precision
        self.dtype = np.dtype(dtype)

    def __eq__(self, other):
        return isinstance(other, TensorInfo) and (
            (self.name, self.shape, self.precision, self.dtype)
            == (other.name, other.shape, other.precision, other.dtype))

    def __repr__(self):
        return "TensorInfo(name=%r, shape=%r, precision=%d, dtype=%s)" % (
            self.name, self.shape, self.precision, self.dtype)


def _read(path, what):
    try:
        with open(path, "rb") as f:
            return f.read()
    except IsADirectoryError:
        raise ModelError("%s: %s is a directory, expected a file" % (path, what)) from None
    except OSError as e:
        raise ModelError("%s: cannot read %s (%s)" % (path, what, e.strerror)) from None


class Model(_native.NativeModel):
    """A CVM model (graph JSON + params blob), loaded and verified.

    ``Model(json_bytes, params_bytes, max_memory_bytes=0)``; or
    :meth:`Model.load` (a folder with symbol.json and params.bin) and
    :meth:`Model.from_files`. ``max_memory_bytes`` bounds the storage and
    parameters an untrusted model may claim (0: only the format's limits).

    ``run(x)`` (also ``model(x)``) takes an array of the input's shape, of any
    integer dtype (floats when every value is a whole number) whose values fit
    the input's element type, and returns one int32 array per head. Calls on
    one model are serialised; separate models run in parallel (the GIL is
    released during inference). A model pickles as its JSON and params."""

    def __init__(self, json, params, max_memory_bytes=0, device_type=0):
        if isinstance(json, str):
            json = json.encode("utf-8")
        super().__init__(json, params, int(max_memory_bytes), int(device_type))
        # Kept for pickling (references, not copies, when given bytes).
        self._json = json
        self._params = params
        self._max_memory = int(max_memory_bytes)
        self._device_type = int(device_type)
        name, shape, precision = self._input_info()
        self._input = TensorInfo(name, shape, precision, np.int8 if precision <= 8 else np.int32)
        self._outputs = [TensorInfo(n, s, p, np.int32) for n, s, p in self._output_infos()]

    @classmethod
    def from_files(cls, symbol, params, max_memory_bytes=0, device_type=0):
        """Loads ``symbol`` (graph JSON) and ``params`` (params blob) files."""
        return cls(_read(symbol, "the graph JSON"), _read(params, "the params blob"),
                   max_memory_bytes, device_type)

    @classmethod
    def load(cls, model_dir, max_memory_bytes=0, device_type=0):
        """Loads a model folder holding symbol.json and params.bin."""
        model_dir = os.fspath(model_dir)
        if not os.path.isdir(model_dir):
            what = "is not a folder" if os.path.exists(model_dir) else "does not exist"
            raise ModelError("%s: the model folder %s (expected a folder with symbol.json "
                             "and params.bin)" % (model_dir, what))
        return cls.from_files(os.path.join(model_dir, "symbol.json"),
                              os.path.join(model_dir, "params.bin"),
                              max_memory_bytes, device_type)

    @property
    def input(self):
        return self._input

    @property
    def outputs(self):
        return list(self._outputs)

    __call__ = _native.NativeModel.run

    def run_batch(self, xs):
        """Runs every item of ``xs``, whose leading axis may exceed the
        model's batch: split into the model's batches (the last one padded
        with zeros and trimmed), run, and stacked. Returns one array per head,
        of the head's shape with the leading (batch) axis of ``xs``."""
        if xs is None:
            raise ModelError("input is None, expected an array of shape (N,) + %r"
                             % (self._input.shape[1:],))
        xs = np.asarray(xs)
        shape = self._input.shape
        if len(shape) == 0 or xs.ndim != len(shape) or xs.shape[1:] != shape[1:]:
            raise ModelError("batch shape %r, expected (N,) + %r: the model's input is %r"
                             % (xs.shape, shape[1:], shape))
        batch = shape[0]
        for info in self._outputs:
            if not info.shape or info.shape[0] != batch:
                raise ModelError("run_batch needs heads whose leading axis is the batch (%d); "
                                 "head %r has shape %r" % (batch, info.name, info.shape))
        n = xs.shape[0]
        results = [np.empty((n,) + info.shape[1:], np.int32) for info in self._outputs]
        for start in range(0, n, batch):
            part = xs[start:start + batch]
            count = part.shape[0]
            if count < batch:
                padded = np.zeros(shape, part.dtype)
                padded[:count] = part
                part = padded
            for result, head in zip(results, self.run(part)):
                result[start:start + count] = head[:count]
        return results

    def __reduce__(self):
        return (_unpickle, (bytes(self._json), bytes(self._params), self._max_memory,
                            self._device_type, self.threads_setting))

    # The thread count as set (0: the default), for pickling.
    threads_setting = 0

    @property
    def threads(self):
        """Threads an inference may use (results never depend on it)."""
        return _native.NativeModel.threads.fget(self)

    @threads.setter
    def threads(self, n):
        _native.NativeModel.threads.fset(self, int(n))
        self.threads_setting = int(n)

    def __repr__(self):
        return "<cvm.Model input %r %s, %d output(s), gas %s>" % (
            self._input.shape, self._input.dtype, len(self._outputs), self._gas_text())

    def _gas_text(self):
        try:
            return str(self.gas)
        except Exception:  # a graph over the gas limits: no figure
            return "over the limit"


# Per process, how many models were made from pickles (tests check that a
# Dask worker loads a model once).
unpickled = 0


def _unpickle(json, params, max_memory, device_type, threads):
    global unpickled
    model = Model(json, params, max_memory, device_type)
    if threads:
        model.threads = threads
    unpickled += 1
    return model
