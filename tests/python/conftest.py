"""Shared helpers of the Python tests: where the recorded cases are, and what
a conforming runtime does with each (the conformance README's rules, as
tests/conformance_test.cpp applies them)."""

import json
import os
import pathlib

import numpy as np
import pytest

HERE = pathlib.Path(__file__).resolve().parent
SOURCE = HERE.parent.parent
TEST_DATA = pathlib.Path(os.environ.get("CVM_TEST_DATA_DIR", SOURCE / "tests" / "data"))
SHARED_MODELS = pathlib.Path(os.environ.get("CVM_SHARED_MODELS_DIR",
                                            SOURCE.parent / "shared" / "conformance" / "models"))
EXAMPLES = SOURCE / "examples" / "models"


class Case:
    def __init__(self, group, path):
        self.group = group
        self.path = path
        self.id = "%s/%s" % (group, path.relative_to(path.parents[1 if group == "ops" else 0]))
        self.info = json.loads((path / "case.json").read_text())
        self.status = self.info.get("status", "")
        self.code = self.info.get("error_code", 0)
        self.output_file = "output.bin"
        kind = self.info.get("kind", "")
        if self.status == "crash" or kind in ("heads_bad", "params_truncated"):
            self.status, self.code = "load_error", 1
        elif self.info.get("op") == "cvm_left_shift" and "formal_status" in self.info:
            self.status = self.info["formal_status"]
            self.output_file = "output.formal.bin"

    def read(self, name):
        return (self.path / name).read_bytes()

    @property
    def expected(self):
        return self.read(self.output_file)

    def __repr__(self):
        return self.id


def collect(group, root, depth):
    if not root.exists():
        return []
    cases = []
    for case_json in sorted(root.rglob("case.json")):
        rel = case_json.parent.relative_to(root)
        if len(rel.parts) == depth:
            cases.append(Case(group, case_json.parent))
    return cases


def recorded_cases():
    return (collect("ops", TEST_DATA / "ops", 2) + collect("hostile", TEST_DATA / "hostile", 1)
            + collect("postprocess", TEST_DATA / "postprocess", 1))


def shared_models():
    return collect("models", SHARED_MODELS, 1)


def decode(data, type_size):
    """The C API's output bytes as integers."""
    return np.frombuffer(data, np.int8 if type_size == 1 else np.dtype("<i4")).astype(np.int64)


def input_array(model, data):
    """input.bin as an array of the model's input shape (None if its length
    is not the model's)."""
    if len(data) != model.input_length:
        return None
    values = decode(data, model.input_type_size)
    return values.astype(model.input.dtype).reshape(model.input.shape)


@pytest.fixture(scope="session")
def lenet_dir():
    return EXAMPLES / "lenet_28"


@pytest.fixture(scope="session")
def lenet_files(lenet_dir):
    return (lenet_dir / "symbol.json").read_bytes(), (lenet_dir / "params.bin").read_bytes()
