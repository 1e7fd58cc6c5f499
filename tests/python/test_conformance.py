"""Every recorded case through the Python package: the same verdicts, figures
and output bytes as the reference, through Model.run, Model.infer_bytes and
cvm.runtime."""

import numpy as np
import pytest

import cvm
from cvm import runtime
from conftest import decode, input_array, recorded_cases, shared_models

CASES = recorded_cases()
MODELS = shared_models()


def test_cases_found():
    # The copied cases are part of the checkout: a missing folder is a failure.
    assert len(CASES) >= 600


def heads_as_output(model, heads):
    """The C API's output values from run()'s heads, where no post-processing
    applies: one head as it is, several concatenated row by row."""
    if len(heads) == 1:
        return heads[0].ravel().astype(np.int64)
    rows = [h.reshape(-1, h.shape[-1]) for h in heads]
    return np.concatenate(rows, axis=1).ravel().astype(np.int64)


def check_case(case):
    json_text, params = case.read("symbol.json"), case.read("params.bin")
    data = case.read("input.bin")
    if case.status == "load_error":
        with pytest.raises(cvm.Error) as err:
            cvm.Model(json_text, params)
        assert err.value.code == case.code, str(err.value)
        with pytest.raises(Exception) as err:
            runtime.CVMAPILoadModel(json_text, params)
        assert str(err.value).startswith("API called with error code: %d" % case.code)
        return

    model = cvm.Model(json_text, params)
    for figure in ("gas", "storage_size", "input_length", "output_length",
                   "input_type_size", "output_type_size"):
        if figure in case.info:
            assert getattr(model, figure) == case.info[figure], figure

    x = input_array(model, data)
    if case.status == "infer_error":
        with pytest.raises(cvm.Error) as err:
            model.infer_bytes(data)
        assert err.value.code == case.code, str(err.value)
        # run() stops before post-processing, whose failures it cannot see.
        if x is not None and model.postprocess == "" and len(model.outputs) == 1:
            with pytest.raises(cvm.Error) as err:
                model.run(x)
            assert err.value.code == case.code
        return

    expected = case.expected
    assert model.infer_bytes(data) == expected
    net = runtime.CVMAPILoadModel(json_text, params, ctx=runtime.cpu())
    assert runtime.CVMAPIInference(net, data) == decode(expected, model.output_type_size).tolist()
    runtime.CVMAPIFreeModel(net)
    if x is not None:
        heads = model.run(x)
        assert [h.shape for h in heads] == [o.shape for o in model.outputs]
        assert all(h.dtype == np.int32 for h in heads)
        if model.postprocess == "":
            values = heads_as_output(model, heads)
            if model.output_type_size == 1:
                values = values.astype(np.int8).astype(np.int64)
            assert np.array_equal(values, decode(expected, model.output_type_size))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_recorded_case(case):
    check_case(case)


@pytest.mark.parametrize("case", MODELS, ids=lambda c: c.id)
def test_shared_model(case):
    check_case(case)
