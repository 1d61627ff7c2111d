"""The grader <-> kernel data format: plain data round-trips; anything else is refused or stays
a handle; the grader's side never rebuilds an object from what a kernel sent."""

import json

import numpy as np
import pytest

import tutorlib
import tutorlib.module as M
from tutorlib.grading import wire


def roundtrip(value, **kwargs):
    return wire.loads(wire.dumps(value), **kwargs)


def test_plain_data_round_trips_with_types_and_dtypes():
    value = {"a": (1, 2.5, None, True, "s"), 3: [np.float32(1.5), np.arange(6, dtype=np.int16)
                                                 .reshape(2, 3)], (1, 2): float("-inf")}
    back = roundtrip(value)
    assert back.keys() == value.keys() and back["a"] == value["a"]
    assert type(back[3][0]) is np.float32 and back[3][0] == 1.5
    assert back[3][1].dtype == np.int16 and (back[3][1] == value[3][1]).all()
    assert back[(1, 2)] == float("-inf")


def test_numpy_strings_travel_as_strings():
    keys = np.array(["conv.weight", "fc.bias"])  # a state dict built from numpy string keys
    back = roundtrip({keys[0]: 1, keys[1]: [keys[1]]})
    assert back == {"conv.weight": 1, "fc.bias": ["fc.bias"]}
    assert all(type(k) is str for k in back)
    with pytest.raises(wire.WireError, match="numbers only"):
        wire.dumps(keys)  # an array of strings is still refused


def test_tensors_come_back_as_tensors():
    back = roundtrip([tutorlib.Tensor([1.0, 2.0]), tutorlib.Parameter([3.0])])
    assert type(back[0]) is tutorlib.Tensor and type(back[1]) is tutorlib.Parameter
    assert back[0].numpy().tolist() == [1.0, 2.0]


def test_the_grader_never_rebuilds_objects_from_a_kernel():
    sent = wire.dumps(M.Linear(3, 4))
    assert b'"$object"' in sent
    plain = wire.loads(sent)                 # the grader's side: objects=False
    assert isinstance(plain, dict) and not isinstance(plain, M.Module)
    model = wire.loads(sent, objects=True)   # the kernel's side
    assert type(model) is M.Linear and sum(p.size for p in model.parameters()) == 16


def test_a_class_of_the_check_arrives_as_its_tutorlib_base():
    class Local(M.Module):
        def __init__(self):
            super().__init__()
            self.fc = M.Linear(2, 2)

        def forward(self, x):
            return self.fc(x)

    model = roundtrip(Local(), objects=True)
    assert type(model) is M.Module and type(model.fc) is M.Linear


def test_only_tutorlib_and_numpy_names_are_rebuilt():
    assert roundtrip(np.mean, objects=True) is np.mean
    for name in ["os:system", "builtins:eval", "tutorlib.grading.ch01:reference_square_loss"]:
        with pytest.raises(wire.WireError, match="not a tutorlib or numpy name"):
            wire.loads(json.dumps({"$name": name}).encode(), objects=True)


@pytest.mark.parametrize("value", [lambda x: x, object(), np.array(["a"]),
                                   np.array([object()])])
def test_what_cannot_be_sent_is_refused(value):
    with pytest.raises(wire.WireError):
        wire.dumps(value)


@pytest.mark.parametrize("header, match", [
    ({"dtype": "|O8", "shape": [1]}, "bad array header"),
    ({"dtype": "<f8", "shape": [2]}, "needs 16 bytes, got 8"),
    ({"dtype": "<f8", "shape": [-1]}, "bad array header"),
])
def test_bad_arrays_from_a_kernel_are_refused(header, match):
    tree = {"$array": "AAAAAAAA8D8=", **header}
    with pytest.raises(wire.WireError, match=match):
        wire.loads(json.dumps(tree).encode())


def test_size_and_depth_are_capped():
    with pytest.raises(wire.WireError, match="too large"):
        wire.dumps(np.zeros(2**24))
    with pytest.raises(wire.WireError, match="too large"):
        wire.dumps("x" * 2000, limit=1000)
    nested = []
    for _ in range(100):
        nested = [nested]
    with pytest.raises(wire.WireError, match="nested"):
        wire.dumps(nested)
    with pytest.raises(wire.WireError, match="nested"):
        wire.loads(b"[" * 100 + b"]" * 100)


def test_handles_for_everything_else_on_the_kernel_side():
    kept = []
    sent = wire.dumps({"f": print}, to_handle=lambda obj: kept.append(obj) or {"$ref": 0})
    assert kept == [print]
    assert wire.loads(sent, from_handle=lambda tree: ("handle", tree["$ref"])) == {
        "f": ("handle", 0)}


def test_exceptions_keep_their_builtin_type():
    assert type(wire.exception_from("NotImplementedError", "")) is NotImplementedError
    assert type(wire.exception_from("SystemExit", "bye")).__name__ == "SystemExit"
    assert isinstance(wire.exception_from("SystemExit", "bye"), wire.StudentError)
