"""Batch scoring on a Dask cluster (``python3-distributed``).

Reach for it when a data set is larger than one process scores in the time
you have: its items are split into partitions that worker processes (on this
machine or many) score in parallel, each worker loading the model once. The
results are the same bytes as ``model.run_batch`` in one process: every value
is an integer and every operator exact.

>>> from dask.distributed import Client, LocalCluster
>>> client = Client(LocalCluster(n_workers=2, threads_per_worker=1))
>>> x = dask.array.from_array(images, chunks=(256, 1, 28, 28))
>>> [labels] = cvm.dask.score(model, x)        # dask arrays, one per head
>>> labels.compute()
"""

import numpy as np

from ._errors import ModelError
from ._model import Model


def _score_block(model, block):
    return model.run_batch(block)


def score(model, data):
    """Scores ``data`` with ``model`` on the current Dask scheduler.

    ``data``: a dask array whose leading axis holds the items (each item of
    the model's input shape without its batch axis), or a dask bag of such
    items. The model goes into the graph once, as one task, so each worker
    receives and loads it once, however many partitions it scores.

    Returns, for an array, one lazy dask array per head (leading axis the
    items, chunked as ``data``); for a bag, a bag of per-item lists of heads.
    """
    import dask
    import dask.array as da
    import dask.bag as db

    if not isinstance(model, Model):
        raise ModelError("score needs a cvm.Model, got %s" % type(model).__name__)
    batch = model.input.shape[0]
    for info in model.outputs:
        if not info.shape or info.shape[0] != batch:
            raise ModelError("scoring needs heads whose leading axis is the batch (%d); "
                             "head %r has shape %r" % (batch, info.name, info.shape))
    shared = dask.delayed(model, pure=True)

    if isinstance(data, db.Bag):
        def score_partition(items, model):
            items = list(items)
            if not items:
                return []
            heads = model.run_batch(np.stack([np.asarray(i) for i in items]))
            return [[h[k] for h in heads] for k in range(len(items))]
        return data.map_partitions(score_partition, shared)

    if not isinstance(data, da.Array):
        raise ModelError("score needs a dask array or bag, got %s" % type(data).__name__)
    item_shape = model.input.shape[1:]
    if data.ndim != len(model.input.shape) or tuple(data.shape[1:]) != item_shape:
        raise ModelError("data shape %r, expected (N,) + %r" % (data.shape, item_shape))
    # Items split along the leading axis only.
    data = data.rechunk({i: -1 for i in range(1, data.ndim)})
    blocks = data.to_delayed().ravel()
    scored = [dask.delayed(_score_block)(shared, b) for b in blocks]
    heads = []
    for k, info in enumerate(model.outputs):
        parts = [da.from_delayed(s[k], shape=(rows,) + info.shape[1:], dtype=np.int32)
                 for s, rows in zip(scored, data.chunks[0])]
        heads.append(da.concatenate(parts, axis=0))
    return heads
