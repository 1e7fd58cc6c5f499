"""cvm.Model: loading, properties, inputs of every kind, bad inputs, batches,
pickling and threads."""

import pickle
import threading

import numpy as np
import pytest

import cvm
from conftest import EXAMPLES, decode


@pytest.fixture(scope="module")
def lenet(lenet_dir):
    return cvm.Model.load(lenet_dir)


@pytest.fixture(scope="module")
def lenet_input(lenet, lenet_dir):
    data = (lenet_dir / "input.bin").read_bytes()
    return np.frombuffer(data, np.int8).reshape(lenet.input.shape)


@pytest.fixture(scope="module")
def lenet_expected(lenet_dir):
    return (lenet_dir / "output.bin").read_bytes()


def random_inputs(model, n, seed):
    rng = np.random.default_rng(seed)
    limit = 127 if model.input.precision <= 8 else 2 ** (model.input.precision - 1) - 1
    return rng.integers(-limit, limit + 1, size=(n,) + model.input.shape[1:]).astype(
        model.input.dtype)


def test_properties(lenet, lenet_dir):
    assert lenet.input == cvm.TensorInfo("data", (1, 1, 28, 28), 8, np.int8)
    [out] = lenet.outputs
    assert out.shape == (1, 10) and out.dtype == np.int32 and out.precision == 8
    case = __import__("json").loads((lenet_dir / "case.json").read_text())
    assert lenet.gas == case["gas"]
    assert lenet.storage_size == case["storage_size"]
    assert lenet.version == "cvm_1.0.0"
    assert lenet.postprocess == ""
    assert cvm.__version__.count(".") == 2


def test_three_ways_to_load_agree(lenet_dir, lenet_files, lenet_input):
    a = cvm.Model.load(lenet_dir)
    b = cvm.Model.from_files(lenet_dir / "symbol.json", lenet_dir / "params.bin")
    c = cvm.Model(*lenet_files)
    d = cvm.Model(lenet_files[0].decode(), bytearray(lenet_files[1]))
    outs = [m.run(lenet_input)[0] for m in (a, b, c, d)]
    assert all(np.array_equal(outs[0], o) for o in outs[1:])


def test_run_equals_recorded_bytes(lenet, lenet_input, lenet_expected):
    [head] = lenet.run(lenet_input)
    assert np.array_equal(head.ravel(), decode(lenet_expected, 1))
    assert lenet.infer_bytes(lenet_input.tobytes()) == lenet_expected
    assert lenet.infer_bytes(memoryview(lenet_input.tobytes())) == lenet_expected
    [again] = lenet(lenet_input)
    assert np.array_equal(head, again)


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", ">i4", "<i8", ">i2",
                                   "float32", "float64", ">f8"])
def test_every_integer_and_whole_float_dtype(lenet, lenet_input, dtype):
    [want] = lenet.run(lenet_input)
    [got] = lenet.run(lenet_input.astype(dtype))
    assert np.array_equal(got, want)


def test_unsigned_values_that_fit(lenet, lenet_input):
    x = np.abs(lenet_input.astype(np.int16)).clip(0, 127)
    [want] = lenet.run(x.astype(np.int8))
    for dtype in ("uint8", "uint16", "uint32", "uint64"):
        assert np.array_equal(lenet.run(x.astype(dtype))[0], want)


def test_non_contiguous_and_list_inputs(lenet, lenet_input):
    [want] = lenet.run(lenet_input)
    strided = np.zeros((1, 1, 28, 56), np.int32)[..., ::2]
    strided[...] = lenet_input
    assert not strided.flags.c_contiguous
    assert np.array_equal(lenet.run(strided)[0], want)
    transposed = np.ascontiguousarray(lenet_input.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)
    assert not transposed.flags.c_contiguous
    assert np.array_equal(lenet.run(transposed)[0], want)
    assert np.array_equal(lenet.run(lenet_input.tolist())[0], want)


def test_values_are_clamped_to_the_precision(tmp_path):
    # cifar_resnet20's input: int8 bytes, precision 8 -> -128 becomes -127.
    model = cvm.Model.load(EXAMPLES / "cifar_resnet20")
    x = random_inputs(model, 1, 5)
    x.ravel()[::7] = -128
    clamped = np.maximum(x, -127)
    assert np.array_equal(model.run(x)[0], model.run(clamped)[0])


def error_of(call, *args):
    with pytest.raises(cvm.Error) as err:
        call(*args)
    message = str(err.value)
    assert "\n" not in message and message
    return err.value


def test_bad_inputs_raise_model_errors(lenet, lenet_input):
    cases = {
        "None": (None, "input is None, expected an array of shape (1, 1, 28, 28)"),
        "shape": (lenet_input[0], "input shape (1, 28, 28), expected (1, 1, 28, 28)"),
        "batch": (np.concatenate([lenet_input] * 2), "use run_batch"),
        "bool": (lenet_input > 0, "input dtype bool, expected integers"),
        "fraction": (lenet_input + 0.5, "is not a whole number"),
        "nan": (np.full(lenet_input.shape, np.nan), "is not a whole number"),
        "too large": (lenet_input.astype(np.int32) + 200, "does not fit the model's int8 input"),
        "uint8 image": (np.full(lenet_input.shape, 176, np.uint8), "value 176"),
        "strings": (np.full(lenet_input.shape, "a"), "input dtype"),
        "complex": (lenet_input.astype(np.complex64), "input dtype complex64"),
    }
    for name, (x, words) in cases.items():
        err = error_of(lenet.run, x)
        assert isinstance(err, cvm.ModelError) and err.code == 1, name
        assert words in str(err), (name, str(err))


def test_bad_bytes_and_blobs(lenet, lenet_files):
    json_text, params = lenet_files
    assert error_of(lenet.infer_bytes, b"\0" * 10).code == 1
    assert "input length 10, expected 784" in str(error_of(lenet.infer_bytes, b"\0" * 10))
    assert error_of(lenet.infer_bytes, None).code == 1
    assert error_of(lenet.infer_bytes, 42).code == 1
    assert error_of(cvm.Model, json_text, params[: len(params) // 2]).code == 1
    assert error_of(cvm.Model, json_text, b"").code == 1
    assert error_of(cvm.Model, json_text, None).code == 1
    assert error_of(cvm.Model, b"{", params).code == 2
    assert error_of(cvm.Model, json_text, params, 1000).code == 1  # max_memory_bytes
    assert error_of(cvm.Model, json_text, params, 0, 1).code == 2  # no GPU


def test_missing_files_are_named(tmp_path):
    err = error_of(cvm.Model.load, tmp_path / "nowhere")
    assert "nowhere" in str(err) and "does not exist" in str(err) and err.code == 1
    err = error_of(cvm.Model.load, tmp_path)
    assert "symbol.json" in str(err)
    err = error_of(cvm.Model.from_files, tmp_path, tmp_path)
    assert "is a directory" in str(err)


def test_run_batch_equals_one_by_one():
    model = cvm.Model.load(EXAMPLES / "cifar_resnet20")
    xs = random_inputs(model, 7, 11)
    [got] = model.run_batch(xs)
    assert got.shape == (7,) + model.outputs[0].shape[1:]
    for i in range(7):
        assert np.array_equal(got[i], model.run(xs[i:i + 1])[0][0])
    assert model.run_batch(xs[:0])[0].shape == (0, 10)
    assert error_of(model.run_batch, xs[:, :2]).code == 1
    assert error_of(model.run_batch, None).code == 1


def test_pickle_round_trip(lenet, lenet_input):
    lenet_copy = pickle.loads(pickle.dumps(lenet))
    assert lenet_copy is not lenet
    assert lenet_copy.input == lenet.input and lenet_copy.gas == lenet.gas
    assert np.array_equal(lenet_copy.run(lenet_input)[0], lenet.run(lenet_input)[0])


def test_threads_setting(lenet_files, lenet_input):
    model = cvm.Model(*lenet_files)
    model.threads = 1
    assert model.threads == 1
    model.threads = 3
    assert model.threads == 3
    assert pickle.loads(pickle.dumps(model)).threads == 3
    [a] = model.run(lenet_input)
    model.threads = 1
    assert np.array_equal(model.run(lenet_input)[0], a)


def test_two_models_in_two_threads_and_one_model_from_four():
    model_dir = EXAMPLES / "cifar_resnet20"
    models = [cvm.Model.load(model_dir) for _ in range(2)]
    xs = random_inputs(models[0], 16, 3)
    serial = [models[0].run(xs[i:i + 1])[0] for i in range(16)]

    def score(model, indices, results):
        for _ in range(3):
            for i in indices:
                results[i] = model.run(xs[i:i + 1])[0]

    for sharing in (models, [models[0]] * 4):
        results = {}
        workers = [threading.Thread(target=score, args=(m, range(k, 16, len(sharing)), results))
                   for k, m in enumerate(sharing)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert sorted(results) == list(range(16))
        assert all(np.array_equal(results[i], serial[i]) for i in range(16))
