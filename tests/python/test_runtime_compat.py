"""cvm.runtime: the reference package's calls, names, arguments and values."""

import numpy as np
import pytest

import cvm
from cvm import runtime
from conftest import EXAMPLES, decode


@pytest.mark.parametrize("name", ["lenet_28", "cifar_resnet20"])
def test_reference_script_runs_unchanged(name):
    folder = EXAMPLES / name
    json_str = (folder / "symbol.json").read_text()
    param_bytes = (folder / "params.bin").read_bytes()
    data = (folder / "input.bin").read_bytes()
    expected = decode((folder / "output.bin").read_bytes(), 1)
    for ctx in (None, runtime.cpu(), runtime.cpu(0), runtime.formal(),
                runtime.context("cpu"), runtime.context("formal", 0)):
        net = runtime.CVMAPILoadModel(json_str, param_bytes, ctx=ctx)
        assert runtime.CVMAPIGetInputLength(net) == len(data)
        assert runtime.CVMAPIGetInputTypeSize(net) == 1
        assert runtime.CVMAPIGetOutputTypeSize(net) == 1
        assert runtime.CVMAPIGetOutputLength(net) == len(expected)
        out = runtime.CVMAPIInference(net, data)
        assert isinstance(out, list) and all(type(v) is int for v in out)
        assert out == expected.tolist()
        runtime.CVMAPIFreeModel(net)


def test_int32_outputs_decode_signed():
    # A postprocess case with int32 output: the list holds signed values.
    folder = next((p for p in (EXAMPLES.parent.parent / "tests" / "data" / "postprocess").iterdir()
                   if "argmax" in p.name), None)
    assert folder is not None
    net = runtime.CVMAPILoadModel((folder / "symbol.json").read_bytes(),
                                  (folder / "params.bin").read_bytes())
    assert runtime.CVMAPIGetOutputTypeSize(net) == 4
    out = runtime.CVMAPIInference(net, (folder / "input.bin").read_bytes())
    assert out == decode((folder / "output.bin").read_bytes(), 4).tolist()


def test_contexts():
    assert repr(runtime.cpu(1)) == "@cpu(1)"
    assert str(runtime.formal()) == "@formal(0)"
    assert runtime.context("gpu").device_type == runtime.kDLGPU
    with pytest.raises(ValueError):
        runtime.context("tpu")


def test_errors_keep_the_reference_words_and_codes():
    folder = EXAMPLES / "lenet_28"
    json_str = (folder / "symbol.json").read_text()
    params = (folder / "params.bin").read_bytes()
    with pytest.raises(Exception) as err:
        runtime.CVMAPILoadModel(json_str, params, ctx=runtime.gpu())
    assert str(err.value).startswith("API called with error code: 2")
    assert isinstance(err.value, cvm.RuntimeFailure) and err.value.code == 2
    with pytest.raises(Exception) as err:
        runtime.CVMAPILoadModel(json_str, params[:100])
    assert str(err.value).startswith("API called with error code: 1")
    assert err.value.code == 1
    net = runtime.CVMAPILoadModel(json_str, params)
    with pytest.raises(Exception) as err:
        runtime.CVMAPIInference(net, b"\0" * 3)
    assert str(err.value).startswith("API called with error code: 1")
    with pytest.raises(Exception) as err:
        runtime.CVMAPIGetInputLength(None)
    assert str(err.value).startswith("API called with error code: 2")
