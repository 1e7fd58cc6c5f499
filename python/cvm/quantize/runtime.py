"""Running a written model in the cvm runtime: through the package's binding (cvm.Model) when
it is built, else through libcvm.so's C API with ctypes (CVM_LIB names the library)."""
import ctypes
import os

import numpy as np


class CApiModel:
    """Minimal ctypes model over the C API: run(x) -> list of int32 arrays (one per head)."""

    def __init__(self, symbol_json, params, heads_shapes, lib_path=None):
        lib_path = lib_path or os.environ.get("CVM_LIB") or _find_lib()
        self.lib = ctypes.CDLL(lib_path)
        self.lib.CVMAPIGetLastError.restype = ctypes.c_char_p
        self.net = ctypes.c_void_p()
        js = symbol_json.encode() if isinstance(symbol_json, str) else symbol_json
        rc = self.lib.CVMAPILoadModel(js, len(js), params, len(params), ctypes.byref(self.net), 0, 0)
        if rc != 0:
            raise RuntimeError(f"CVMAPILoadModel failed ({rc}): "
                               f"{self.lib.CVMAPIGetLastError().decode()}")
        n = ctypes.c_ulonglong()
        self.lib.CVMAPIGetInputLength(self.net, ctypes.byref(n))
        self.input_len = n.value
        self.lib.CVMAPIGetOutputLength(self.net, ctypes.byref(n))
        self.output_len = n.value
        self.lib.CVMAPIGetInputTypeSize(self.net, ctypes.byref(n))
        self.input_type = np.int8 if n.value == 1 else np.int32
        self.lib.CVMAPIGetOutputTypeSize(self.net, ctypes.byref(n))
        self.output_type = np.int8 if n.value == 1 else np.int32
        self.heads_shapes = heads_shapes

    def run(self, x):
        data = np.ascontiguousarray(np.asarray(x).astype(self.input_type)).tobytes()
        if len(data) != self.input_len:
            raise ValueError(f"input of {len(data)} bytes, model takes {self.input_len}")
        out = ctypes.create_string_buffer(self.output_len)
        rc = self.lib.CVMAPIInference(self.net, data, len(data), out)
        if rc != 0:
            raise RuntimeError(f"CVMAPIInference failed ({rc}): "
                               f"{self.lib.CVMAPIGetLastError().decode()}")
        flat = np.frombuffer(out.raw, dtype=self.output_type).astype(np.int32)
        res, off = [], 0
        for s in self.heads_shapes:
            k = int(np.prod(s))
            res.append(flat[off:off + k].reshape(s))
            off += k
        return res

    def __del__(self):
        if getattr(self, "net", None):
            self.lib.CVMAPIFreeModel(self.net)
            self.net = None


def _find_lib():
    here = os.path.dirname(os.path.abspath(__file__))
    for cand in [os.path.join(here, "..", "..", "..", "libcvm.so"),          # build/python/cvm/quantize
                 os.path.join(here, "..", "..", "..", "build", "libcvm.so")]:  # python/cvm/quantize
        if os.path.exists(cand):
            return os.path.normpath(cand)
    raise FileNotFoundError("libcvm.so not found: build it, or set CVM_LIB")


def load(symbol_json, params):
    """A runtime model: cvm.Model when the binding is importable, else CApiModel."""
    try:
        import cvm
        if hasattr(cvm, "Model"):
            js = symbol_json.encode() if isinstance(symbol_json, str) else symbol_json
            return cvm.Model(js, params)
    except ImportError:
        pass
    import json
    g = json.loads(symbol_json)
    shapes = [tuple(g["attrs"]["shape"][1][h[0]]) for h in g["heads"]]
    return CApiModel(symbol_json, params, shapes)
