"""The reference runtime's Python calls (its ``cvm.runtime``), over cvm.

A script written for the reference's ``cvm.runtime`` runs unchanged::

    from cvm import runtime
    net = runtime.CVMAPILoadModel(json_str, param_bytes, ctx=runtime.cpu())
    out = runtime.CVMAPIInference(net, input_bytes)   # a list of ints
    runtime.CVMAPIFreeModel(net)

Same names, arguments and return values. A failed call raises, as the
reference's ``check_call`` does, an exception whose message starts with
"API called with error code: N"; here it is a :class:`cvm.ModelError` (N = 1)
or :class:`cvm.RuntimeFailure` (N = 2), both subclasses of ``Exception``,
with the reason after the code.
"""

from ._errors import Error, error_for
from ._model import Model

# Device types of the reference's contexts (DLPack's numbering) and the
# runtime's device numbers they map to.
kDLCPU = 1
kDLGPU = 2
kDLFORMAL = 3
kDLOPENCL = 4
RuntimeDevAPIMap = {kDLCPU: 0, kDLGPU: 1, kDLFORMAL: 2, kDLOPENCL: 3}


class CVMContext:
    """A device: ``device_type`` (kDLCPU, kDLGPU, kDLFORMAL, kDLOPENCL) and
    ``device_id``."""

    MASK2STR = {kDLCPU: "cpu", kDLGPU: "gpu", kDLFORMAL: "formal", kDLOPENCL: "opencl"}
    STR2MASK = {v: k for k, v in MASK2STR.items()}

    def __init__(self, device_type, device_id):
        self.device_type = device_type
        self.device_id = device_id

    def __repr__(self):
        return "@{}({})".format(self.MASK2STR.get(self.device_type, self.device_type),
                                self.device_id)

    __str__ = __repr__


def context(dev_type, dev_id=0):
    """A context from a device type number or name ("cpu", "gpu", "formal", "opencl")."""
    if isinstance(dev_type, str):
        dev_type = dev_type.split()[0]
        if dev_type not in CVMContext.STR2MASK:
            raise ValueError("Unknown device type %s" % dev_type)
        dev_type = CVMContext.STR2MASK[dev_type]
    return CVMContext(dev_type, dev_id)


def cpu(dev_id=0):
    return CVMContext(kDLCPU, dev_id)


def gpu(dev_id=0):
    return CVMContext(kDLGPU, dev_id)


def formal(dev_id=0):
    return CVMContext(kDLFORMAL, dev_id)


def opencl(dev_id=0):
    return CVMContext(kDLOPENCL, dev_id)


def _check(call, *args):
    """Runs a call; a failure is raised as the reference's check_call words it."""
    try:
        return call(*args)
    except Error as e:
        raise error_for(e.code, "API called with error code: %d (%s)" % (e.code, e)) from None


def CVMAPILoadModel(json_str, param_bytes, ctx=None):
    """Loads a model from the graph JSON (str or bytes) and the params blob;
    returns its handle."""
    if ctx is None:
        ctx = cpu(0)
    device = RuntimeDevAPIMap.get(ctx.device_type, ctx.device_type)
    if isinstance(json_str, str):
        json_str = json_str.encode("utf-8")
    return _check(Model, json_str, param_bytes, 0, device)


def CVMAPIFreeModel(net):
    """Releases a handle (the model is freed with its last reference)."""
    if not isinstance(net, Model):
        raise error_for(2, "API called with error code: 2 (not a model handle)")


def _model(net):
    if not isinstance(net, Model):
        raise error_for(2, "API called with error code: 2 (not a model handle)")
    return net


def CVMAPIGetInputLength(net):
    return _model(net).input_length


def CVMAPIGetInputTypeSize(net):
    return _model(net).input_type_size


def CVMAPIGetOutputLength(net):
    return _model(net).output_length


def CVMAPIGetOutputTypeSize(net):
    return _model(net).output_type_size


def CVMAPIInference(net, input_data):
    """Runs the model on the C API's input bytes; returns the output as a
    list of ints (each element of the output type size, signed,
    little-endian), as the reference's wrapper decodes it."""
    model = _model(net)
    out = _check(model.infer_bytes, input_data)
    size = model.output_type_size
    return _decode(out, size)


def _decode(data, size):
    import numpy as np
    dtype = np.dtype("i1") if size == 1 else np.dtype("<i4")
    return np.frombuffer(data, dtype).astype(np.int64).tolist()
