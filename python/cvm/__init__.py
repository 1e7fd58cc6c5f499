"""cvm: a deterministic integer inference runtime for CVM models.

>>> import cvm
>>> model = cvm.Model.load("examples/models/lenet_28")
>>> heads = model.run(x)          # x: integers of model.input.shape
>>> out = model.infer_bytes(b)    # the C API's bytes

``cvm.runtime`` has the reference runtime's Python calls (CVMAPILoadModel, ...);
``cvm.dask`` scores data sets on a Dask cluster.
"""

from ._errors import Error, ModelError, RuntimeFailure
from ._model import Model, TensorInfo
from . import _native

__version__ = _native.__version__

__all__ = ["Model", "TensorInfo", "Error", "ModelError", "RuntimeFailure", "__version__"]
