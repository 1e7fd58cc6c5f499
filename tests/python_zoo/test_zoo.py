"""cvm.zoo: a small-input variant of every family of the model tables (cvm.zoo.SMALL) is
quantized; the runtime gives the same bytes at every ISA level and thread count as the scalar
executor, the quantised twin equals the runtime byte for byte, and the quantized model follows
the float one. Skips when PyTorch is not installed."""
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch (python3-torch) is not installed")
pytest.importorskip("torchvision", reason="torchvision (python3-torchvision) is not installed")

import cvm  # noqa: E402
from cvm import zoo  # noqa: E402
from cvm.zoo import weights  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = list(zoo.SMALL)
BATCH = 2
LEVELS = ("scalar", "avx2", "avx512")


class Built:
    def __init__(self, root):
        self.root = root
        self.cache = {}

    def get(self, name):
        """(folder, float model, QuantizedModel, int8 input) of a small variant, built once."""
        if name not in self.cache:
            e = zoo.SMALL[name]
            model, q = zoo.quantize_entry(e, e.image_size, BATCH, seed=0)
            d = os.path.join(self.root, name)
            q.save(d)   # storage pools shared by liveness, as quantize writes them
            x = zoo.integer_input(e, e.image_size, BATCH, 0, q.input_scale)
            np.save(os.path.join(d, "input.npy"), x)
            self.cache[name] = (d, model, q, x)
        return self.cache[name]


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    return Built(str(tmp_path_factory.mktemp("zoo")))


def test_every_family_has_a_small_variant():
    assert {e.family for e in zoo.MODELS.values()} == {e.family for e in zoo.SMALL.values()}


@pytest.mark.parametrize("name", NAMES)
def test_twin_equals_runtime(built, name):
    d, model, q, x = built.get(name)
    runtime = cvm.Model.load(d)
    assert runtime.input.shape == x.shape
    out = runtime.run(x)
    twin = q.twin(x)
    assert len(out) == len(twin) == 1
    np.testing.assert_array_equal(out[0], twin[0].numpy().astype(np.int32))
    # Not a constant: the batch's two images give different outputs.
    assert not np.array_equal(out[0][0], out[0][1])


@pytest.mark.parametrize("name", NAMES)
def test_quantized_follows_float(built, name):
    """The written graph computes the float model: dequantized outputs near the float ones. A
    sanity bound only (a wrong channel order or slice gives a cosine near 0): random-weight
    networks with BatchNorm amplify small perturbations with depth (cosines from 0.4 for
    inception_v3 to 1.0; float sums on other thread counts move the deep ones too), so
    accuracy is measured on trained models (the quantizer's table), not here."""
    d, model, q, x = built.get(name)
    e = zoo.SMALL[name]
    float_in = weights.normalize(weights.random_images(BATCH, e.image_size, 300), e.dataset)
    with torch.no_grad():
        ref = model(float_in).double().numpy()
    got = cvm.Model.load(d).run(x)[0].astype(np.float64) * q.output_scales[0]
    cos = (ref * got).sum() / np.sqrt((ref ** 2).sum() * (got ** 2).sum())
    assert cos > 0.25, f"{name}: cosine {cos:.3f} between float and quantized outputs"


def _cpu_has(flag):
    try:
        with open("/proc/cpuinfo") as f:
            return any(flag in line.split() for line in f if line.startswith("flags"))
    except OSError:
        return False


def test_isa_levels_and_threads_give_the_scalar_bytes(built):
    dirs = [built.get(n)[0] for n in NAMES]
    for level in LEVELS:
        env = dict(os.environ, CVM_ISA=level)
        subprocess.run([sys.executable, os.path.join(HERE, "run_levels.py")] + dirs, env=env,
                       check=True, timeout=600)
    missing = [lv for lv, flag in (("avx2", "avx2"), ("avx512", "avx512_vnni")) if not _cpu_has(flag)]
    for name, d in zip(NAMES, dirs):
        ref = np.load(os.path.join(d, "out_scalar_t1_r0.npy"))
        assert ref.dtype == np.int32 and ref.shape[0] == BATCH
        for level in LEVELS:
            for threads in (1, 2, 3):
                for r in (0, 1):
                    got = np.load(os.path.join(d, f"out_{level}_t{threads}_r{r}.npy"))
                    assert got.tobytes() == ref.tobytes(), f"{name}: {level}, {threads} threads, run {r}"
    if missing:
        print("levels this CPU lacks (they ran at the best level it has):", missing)


def test_shufflenet_traceable_block_is_torchvision_block():
    import torchvision.models as tvm
    from cvm.zoo.nets import make_traceable_shufflenet
    torch.manual_seed(1)
    m = tvm.shufflenet_v2_x0_5(weights=None, num_classes=10).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        ref = m(x)
        got = make_traceable_shufflenet(m)(x)
    assert torch.equal(ref, got)


def test_command_line_writes_a_model_cvm_run_reproduces(tmp_path):
    out = tmp_path / "cifar_resnet20"
    env = dict(os.environ)
    r = subprocess.run([sys.executable, "-m", "cvm.zoo", "--small", "cifar_resnet20", "--out",
                        str(out), "--batch", "3", "--seed", "5"], env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    case = json.loads((out / "case.json").read_text())
    assert case["batch"] == 3 and case["seed"] == 5 and case["data_shape"] == [3, 3, 32, 32]
    x = np.load(out / "input.npy")
    assert x.dtype == np.int8 and x.shape == (3, 3, 32, 32)
    assert (out / "input.bin").read_bytes() == x.tobytes()
    expected = np.load(out / "output.npy")
    cli = os.environ.get("CVM_RUN")
    if cli and os.path.exists(cli):
        y = tmp_path / "y.npy"
        subprocess.run([cli, "--model", str(out), "--input", str(out / "input.npy"),
                        "--output", str(y)], check=True, timeout=120)
        assert np.load(y).tobytes() == expected.tobytes()
    model = cvm.Model.load(str(out))
    assert model.infer_bytes(x.tobytes()) == (out / "output.bin").read_bytes()
    np.testing.assert_array_equal(model.run(x)[0], expected)


def _listing(*args):
    r = subprocess.run([sys.executable, "-m", "cvm.zoo", "--list"] + list(args),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    rows = {}   # name -> (size, GMACs, parameters in millions, rest); the first row of a name
    for line in r.stdout.splitlines()[1:]:
        m = re.match(r"^(\S+)\s+.+?\s+(\d+)\s+([\d.]+|-)\s+([\d.]+|-)\s+(.*)$", line)
        assert m, line
        rows.setdefault(m.group(1), (int(m.group(2)), m.group(3), m.group(4), m.group(5)))
    return rows


def test_list_names_models_with_their_cost():
    # Listing every name builds every model (minutes): the CIFAR ones, and one too big here.
    rows = _listing("cifar")
    cifar = [n for n in zoo.MODELS if "cifar" in n]
    assert len(cifar) == 5
    for name in cifar:
        size, gmacs, params, _ = rows[name]
        assert size == 32 and float(gmacs) > 0.01 and float(params) > 0.1, rows[name]
    # WRN-28-10 costs more than WRN-16-4, resnet110 more than resnet20
    assert float(rows["cifar_wrn28_10"][1]) > 10 * float(rows["cifar_wrn16_4"][1])
    assert float(rows["cifar_resnet110"][1]) > 5 * float(rows["cifar_resnet20"][1])
    rows = _listing("alexnet", "--image-size", "64")
    assert rows["alexnet"][1] == "-" and "needs 224 x 224" in rows["alexnet"][3]


def test_unknown_name_is_a_clear_error():
    r = subprocess.run([sys.executable, "-m", "cvm.zoo", "resnet9", "--out", "/nonexistent"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "unknown" in r.stderr and "resnet18" in r.stderr


def test_with_batch_equals_quantizing_at_that_batch(built):
    """export.with_batch (the bench's batch-16 folders) writes the graph quantize writes."""
    from cvm.zoo.export import with_batch
    for name in ("shufflenet_v2_x0_5", "densenet_small"):
        e = zoo.SMALL[name]
        _, q1 = zoo.quantize_entry(e, e.image_size, 1, seed=0)
        _, q3 = zoo.quantize_entry(e, e.image_size, 3, seed=0)
        assert q3.params == q1.params
        derived = with_batch(q1, 3)
        assert json.loads(derived.symbol_json) == json.loads(q3.symbol_json)


def test_shared_storage_is_smaller_and_gives_the_same_bytes(built):
    d, _, q, x = built.get("googlenet")
    shared = cvm.Model.load(d)
    g = json.loads(q.symbol_json)
    ids = g["attrs"]["storage_id"][1]
    assert len(set(ids)) < len(ids) / 2
    g["attrs"]["storage_id"][1] = list(range(len(ids)))          # one pool per node
    own = cvm.Model(json.dumps(g).encode(), q.params)
    assert shared.storage_size < own.storage_size
    for threads in (1, 2):
        shared.threads = own.threads = threads
        assert shared.run(x)[0].tobytes() == own.run(x)[0].tobytes()
