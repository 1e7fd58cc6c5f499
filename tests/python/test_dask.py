"""cvm.dask.score on a LocalCluster of two worker processes (loopback): the
same bytes as scoring in one process, the model loaded once per worker."""

import numpy as np
import pytest

import cvm
from conftest import EXAMPLES

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")
db = pytest.importorskip("dask.bag")
import cvm.dask  # noqa: E402


def unpickled_models():
    import cvm._model
    return cvm._model.unpickled


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None,
                                       silence_logs=40)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def test_score_array_and_bag_equal_single_process(client):
    model = cvm.Model.load(EXAMPLES / "cifar_resnet20")
    rng = np.random.default_rng(7)
    xs = rng.integers(-127, 128, size=(40,) + model.input.shape[1:]).astype(np.int8)
    [want] = model.run_batch(xs)

    [scored] = cvm.dask.score(model, da.from_array(xs, chunks=(6,) + xs.shape[1:]))
    got = scored.compute()
    assert got.dtype == np.int32 and got.tobytes() == want.tobytes()

    bag = db.from_sequence(list(xs), npartitions=5)
    items = cvm.dask.score(model, bag).compute()
    assert len(items) == 40
    assert np.stack([heads[0] for heads in items]).tobytes() == want.tobytes()

    # Seven array partitions and five bag partitions, two workers: each
    # worker made the model from its pickle at most once per score() call.
    loads = client.run(unpickled_models)
    assert len(loads) == 2 and all(1 <= n <= 2 for n in loads.values())


def test_score_rejects_what_it_cannot_score():
    model = cvm.Model.load(EXAMPLES / "lenet_28")
    with pytest.raises(cvm.ModelError, match="expected \\(N,\\)"):
        cvm.dask.score(model, da.zeros((4, 3, 28, 28), chunks=2))
    with pytest.raises(cvm.ModelError, match="dask array or bag"):
        cvm.dask.score(model, np.zeros((4, 1, 28, 28)))
    with pytest.raises(cvm.ModelError, match="cvm.Model"):
        cvm.dask.score("lenet", da.zeros((4, 1, 28, 28), chunks=2))
