"""cvm.quantize: exactness of the twin against the runtime, the verifier, bad input errors.

Run by ctest (python_quantize) with PYTHONPATH=build/python; skipped when torch is missing.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch (Debian python3-torch) is not installed: "
                                           "the quantizer tests need it")

import cvm  # noqa: E402
from cvm import fashion_mnist as fm  # noqa: E402
from cvm.preprocess import from_meta, quantize_input  # noqa: E402
from cvm.quantize import QuantizeError, quantize  # noqa: E402
from cvm.quantize.storage_plan import share_storage  # noqa: E402
from cvm.quantize.twin import right_shift  # noqa: E402

torch.set_num_threads(2)
INPUT_SCALE = 127 * fm.STD / (255 - fm.MEAN)
N_TEST = 500


@pytest.fixture(scope="module")
def data():
    if not os.path.exists(fm.DATA_DIR):
        pytest.skip(f"Fashion-MNIST not found in {fm.DATA_DIR} (Debian dataset-fashion-mnist)")
    train, _ = fm.load("train")
    test, labels = fm.load("test")
    calib = fm.normalize(train[:512])
    xf = fm.normalize(test[:N_TEST])
    return {"calib": [calib[:256], calib[256:]], "xf": xf,
            "xi": quantize_input(xf.numpy(), INPUT_SCALE), "labels": labels[:N_TEST]}


@pytest.mark.parametrize("name", ["lenet", "shufflenet"])
def test_twin_equals_runtime_and_passes_verifier(name, data):
    model = fm.build(name)
    q = quantize(model, data["xf"][:50], data["calib"], input_scale=INPUT_SCALE)
    # The runtime's loader verifies shapes, precisions and parameter ranges.
    rt_model = cvm.Model(q.symbol_json.encode(), q.params)
    assert rt_model.input.shape == (50, 1, 28, 28) and rt_model.input.precision == 8
    assert rt_model.gas > 0
    runtime_out = rt_model.run_batch(data["xi"])[0]
    twin_out = q.twin(data["xi"])[0].numpy()
    assert runtime_out.shape == (N_TEST, 10)
    np.testing.assert_array_equal(runtime_out.astype(np.int64), twin_out)
    # And the quantized model is the float model: top-1 within 2 points on these images.
    with torch.no_grad():
        float_top1 = (model(data["xf"]).argmax(1).numpy() == data["labels"]).mean()
    quant_top1 = (twin_out.argmax(1) == data["labels"]).mean()
    assert quant_top1 > 0.75
    assert abs(float_top1 - quant_top1) <= 0.02


class Everything(torch.nn.Module):
    """The operators no Fashion-MNIST network uses: upsampling, hardtanh, clamp, mean over
    axes, avg pool with padding, permute, a residual add of differently scaled tensors."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.bn = torch.nn.BatchNorm2d(8)
        self.dw = torch.nn.Conv2d(8, 8, 3, stride=2, padding=2, dilation=2, groups=8)
        self.up = torch.nn.Upsample(scale_factor=2, mode="nearest")
        self.pool = torch.nn.AvgPool2d(3, 1, 1)
        self.fc = torch.nn.Linear(16, 5)

    def forward(self, x):
        y = torch.nn.functional.hardtanh(self.bn(self.conv(x)), -1.5, 2.0)
        z = self.up(self.dw(y))
        z = torch.clamp(z, min=0.0) + y
        z = self.pool(z).permute(0, 1, 3, 2)
        pooled = torch.flatten(torch.nn.functional.adaptive_avg_pool2d(z, 1), 1)
        return self.fc(torch.cat([z.mean(dim=(2, 3)), pooled], 1))


def test_every_operator_twin_equals_runtime():
    torch.manual_seed(3)
    model = Everything()
    model.bn.running_mean.uniform_(-0.2, 0.2)
    model.bn.running_var.uniform_(0.5, 2.0)
    model.eval()
    calib = [torch.randn(64, 1, 12, 12) for _ in range(2)]
    q = quantize(model, calib[0][:4], calib, scheme="percentile", weight_scheme="mse")
    funcs = {n["attrs"]["func_name"] for n in json.loads(q.symbol_json)["nodes"] if n["op"] != "null"}
    assert {"upsampling", "clip", "transpose", "sum", "concatenate", "elemwise_add"} <= funcs
    input_scale = q.input_scale  # 127 / max |calibration input| by default
    assert input_scale == pytest.approx(127 / float(max(c.abs().max() for c in calib)))
    x = quantize_input(torch.randn(40, 1, 12, 12).numpy(), input_scale)
    rt = cvm.Model(q.symbol_json.encode(), q.params)
    np.testing.assert_array_equal(rt.run_batch(x)[0].astype(np.int64), q.twin(x)[0].numpy())
    # The dequantized output follows the float model.
    xs = torch.from_numpy(x[:4].astype(np.float32)) / input_scale
    with torch.no_grad():
        ref = model(xs).numpy()
    got = q.twin(x[:4])[0].numpy() * q.output_scales[0]
    assert np.abs(got - ref).max() < 0.1 * np.abs(ref).max() + 0.05


def storage_bytes(graph):
    """The reference's GetStorageSize of a graph (dict): each storage id's pool is its largest
    entry's int32 values."""
    pools = {}
    for sid, shape in zip(graph["attrs"]["storage_id"][1], graph["attrs"]["shape"][1]):
        pools[sid] = max(pools.get(sid, 0), 4 * int(np.prod(shape)))
    return sum(pools.values())


def test_written_models_share_storage_and_give_the_same_bytes():
    torch.manual_seed(5)
    model = Everything()
    model.bn.running_mean.uniform_(-0.2, 0.2)
    model.bn.running_var.uniform_(0.5, 2.0)
    model.eval()
    calib = [torch.randn(32, 1, 12, 12) for _ in range(2)]
    shared = quantize(model, calib[0][:8], calib)                      # the default
    own = quantize(model, calib[0][:8], calib, share_storage=False)
    assert shared.params == own.params
    gs, go = json.loads(shared.symbol_json), json.loads(own.symbol_json)
    ids, n = gs["attrs"]["storage_id"][1], len(gs["nodes"])
    assert go["attrs"]["storage_id"][1] == list(range(n))
    del gs["attrs"]["storage_id"], go["attrs"]["storage_id"]
    assert gs == go                      # the same graph but for its storage plan
    # What the verifier checks (graph/graph.cc) and what the executor needs: ids >= 0; no
    # operator writes a pool it reads; parameters, data and the outputs have pools of their own.
    assert min(ids) >= 0
    for j, nd in enumerate(gs["nodes"]):
        assert all(ids[i[0]] != ids[j] for i in nd["inputs"]), nd["name"]
    alone = [j for j, nd in enumerate(gs["nodes"]) if nd["op"] == "null"]
    alone += [h[0] for h in gs["heads"]]
    assert all(ids.count(ids[j]) == 1 for j in alone)
    assert len(set(ids)) < n
    # The runtime's figure is the reference's formula on each plan, and sharing makes it smaller.
    rt_shared = cvm.Model(shared.symbol_json.encode(), shared.params)
    rt_own = cvm.Model(own.symbol_json.encode(), own.params)
    gs["attrs"]["storage_id"] = ["list_int", ids]
    go["attrs"]["storage_id"] = ["list_int", list(range(n))]
    assert rt_shared.storage_size == storage_bytes(gs)
    assert rt_own.storage_size == storage_bytes(go)
    assert rt_shared.storage_size < rt_own.storage_size
    # The same outputs, on every thread count, and the twin's (which ignores storage).
    x = quantize_input(torch.randn(24, 1, 12, 12).numpy(), shared.input_scale)
    want = shared.twin(x)[0].numpy()
    for threads in (1, 2):
        rt_shared.threads = rt_own.threads = threads
        out_shared = rt_shared.run_batch(x)[0]
        assert out_shared.tobytes() == rt_own.run_batch(x)[0].tobytes()
        np.testing.assert_array_equal(out_shared.astype(np.int64), want)
    # share_storage() on the written text makes the same plan as emission.
    assert json.loads(share_storage(own.symbol_json)) == json.loads(shared.symbol_json)


def test_right_shift_rounds_half_up_and_saturates():
    v = torch.tensor([-6, -5, -3, -2, -1, 0, 1, 2, 3, 5, 6, 1000, -1000])
    # round(v / 4) with halves toward +infinity, then clipped to 4 bits [-7, 7].
    want = torch.tensor([-1, -1, -1, 0, 0, 0, 0, 1, 1, 1, 2, 7, -7])
    assert torch.equal(right_shift(v, 4, 2), want)


# ------------------------------------------------------------------ bad input

class Sigmoid(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3)

    def forward(self, x):
        return torch.sigmoid(self.conv(x))


class Branchy(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3)

    def forward(self, x):
        if x.sum() > 0:
            return self.conv(x)
        return -self.conv(x)


def test_unsupported_operator_names_node_and_operator():
    with pytest.raises(QuantizeError) as e:
        quantize(Sigmoid(), torch.zeros(1, 1, 8, 8), [torch.randn(4, 1, 8, 8)])
    msg = str(e.value)
    assert "node 'sigmoid'" in msg and "torch.sigmoid" in msg
    assert "supported:" in msg and "Conv2d" in msg


def test_model_that_does_not_trace():
    with pytest.raises(QuantizeError, match="does not trace with torch.fx"):
        quantize(Branchy(), torch.zeros(1, 1, 8, 8), [torch.randn(4, 1, 8, 8)])


def test_calibration_of_the_wrong_shape():
    with pytest.raises(QuantizeError, match=r"calibration batch 1 has shape \(4, 1, 9, 8\); "
                                            r"expected \(N, 1, 8, 8\)"):
        quantize(small_model(), torch.zeros(1, 1, 8, 8),
                 [torch.randn(4, 1, 8, 8), torch.randn(4, 1, 9, 8)])


def test_empty_calibration_set():
    with pytest.raises(QuantizeError, match="calibration set is empty"):
        quantize(small_model(), torch.zeros(1, 1, 8, 8), [])
    with pytest.raises(QuantizeError, match="calibration set is empty"):
        quantize(small_model(), torch.zeros(1, 1, 8, 8), None)


def small_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                               torch.nn.Linear(144, 3)).eval()


# ----------------------------------------------------------- command and example

def test_command_line_writes_a_loadable_model(tmp_path, data):
    images, _ = fm.load("test")
    np.save(tmp_path / "calib.npy", images[:64])
    out = tmp_path / "lenet"
    r = subprocess.run([sys.executable, "-m", "cvm.quantize", "--model", "cvm.fashion_mnist:LeNet",
                        "--weights", os.path.join(fm.WEIGHTS_DIR, "lenet.pt"),
                        "--calibration", str(tmp_path / "calib.npy"), "--transform", "mnist",
                        "--input-shape", "1,28,28", "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    meta = json.loads((out / "model.json").read_text())
    assert meta["input"]["crop"] == [28, 28] and meta["input"]["mean"] == [72.94]
    m = cvm.Model.load(str(out))
    x = from_meta(images[:1], meta)
    assert x.shape == (1, 1, 28, 28) and x.dtype == np.int8
    assert m.run(x)[0].shape == (1, 10)

    r = subprocess.run([sys.executable, "-m", "cvm.quantize", "--model", "cvm.fashion_mnist:LeNet",
                        "--calibration", str(tmp_path), "--input-shape", "1,28,28",
                        "--out", str(tmp_path / "x")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "calibration set is empty" in r.stderr


def test_bundled_example_classifies_its_images():
    folder = os.path.join(os.environ.get("CVM_EXAMPLES_DIR", os.path.join(
        os.path.dirname(__file__), "..", "..", "examples", "models")), "fashion_mnist")
    if not os.path.exists(os.path.join(folder, "model.json")):
        pytest.skip(f"no bundled example in {folder}")
    meta = json.load(open(os.path.join(folder, "model.json")))
    m = cvm.Model.load(folder)
    images = sorted(f for f in os.listdir(os.path.join(folder, "images")) if f.endswith(".png"))
    assert len(images) == 10
    correct = 0
    for f in images:
        base = os.path.join(folder, "images", f[:-4])
        x = from_meta(base + ".png", meta)
        np.testing.assert_array_equal(x, np.load(base + ".npy"))  # PNG and npy agree
        label = meta["classes"][int(np.argmax(m.run(x)[0][0]))]
        correct += label.lower().replace("/", "_").replace(" ", "_") in f
    assert correct >= 8
