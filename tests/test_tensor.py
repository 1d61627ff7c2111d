"""Tensor behaviour that MegEngine users rely on: dtypes, repr, attributes, indexing, operators."""
import numpy as np
import pytest
from helpers import autodiff_grads

import tutorlib as tl
import tutorlib.functional as F


@pytest.mark.parametrize("data, dtype", [
    (np.arange(3, dtype=np.int64), np.int32), (np.zeros(2, dtype=np.float64), np.float32),
    (1.5, np.float32), (2, np.int32), ([1, 2], np.int32), ([1.0, 2], np.float32),
    (True, np.bool_), (np.zeros(2, dtype=np.uint8), np.uint8), (np.zeros(2, np.float16), np.float16),
])
def test_dtype_inference(data, dtype):
    assert tl.Tensor(data).dtype == dtype


def test_explicit_dtype_and_int_true_division():
    assert tl.Tensor([1, 2], dtype="float64").dtype == np.float32
    assert tl.Tensor([1.7], dtype="int32").numpy().tolist() == [1]
    q = tl.Tensor([1, 2]) / tl.Tensor([2, 4])
    assert q.dtype == np.float32 and q.numpy().tolist() == [0.5, 0.5]
    assert (tl.Tensor([1, 2]) + 0.5).dtype == np.float32
    assert (tl.Tensor([1, 2]) * 2).dtype == np.int32
    assert (tl.Tensor([1.0]) * np.float64(2)).dtype == np.float32


def test_repr_matches_megengine():
    assert repr(tl.Tensor([[1, 2, 3], [4, 5, 6]])) == \
        "Tensor([[1 2 3]\n [4 5 6]], dtype=int32, device=cpu0)"
    assert repr(tl.Tensor(2.0)) == "Tensor(2.0, device=cpu0)"
    assert repr(tl.Tensor([True, True, False])) == \
        "Tensor([ True  True False], dtype=bool, device=cpu0)"
    assert repr(tl.Parameter(3.0)) == "Parameter(3.0, device=cpu0)"
    assert repr(tl.Tensor([0.123456])) == "Tensor([0.1235], device=cpu0)"


def test_attributes_and_conversions():
    x = tl.Tensor(np.arange(6).reshape(2, 3))
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6 and type(x.size) is int
    assert str(x.device) == "cpu0"
    a = x.numpy()
    a[0, 0] = 100                                           # numpy() is a copy
    assert x.numpy()[0, 0] == 0
    assert tl.Tensor([[2.5]]).item() == 2.5 and type(tl.Tensor(3).item()) is int
    assert x.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert x.astype("float32").dtype == np.float32
    with pytest.raises(ValueError, match="one-element"):
        x.item()
    assert float(tl.Tensor(1.5)) == 1.5 and int(tl.Tensor(3)) == 3 and bool(tl.Tensor(1))
    with pytest.raises(AttributeError, match="reserved"):
        x.requires_grad


def test_tensor_copies_its_input():
    a = np.zeros(3, np.float32)
    t = tl.Tensor(a)
    a[0] = 1
    assert t.numpy()[0] == 0


def test_shape_methods_are_not_in_place():
    x = tl.Tensor(np.arange(24).reshape(2, 3, 4))
    assert x.reshape(6, 4).shape == (6, 4) and x.reshape((4, -1)).shape == (4, 6)
    assert x.shape == (2, 3, 4)
    assert x.transpose().shape == (4, 3, 2) and x.T.shape == (4, 3, 2)
    assert x.transpose(1, 0, 2).shape == (3, 2, 4) and x.transpose((2, 0, 1)).shape == (4, 2, 3)
    assert x.flatten().shape == (24,) and x.flatten(1).shape == (2, 12)
    np.testing.assert_array_equal(x.T.numpy(), x.numpy().T)


def test_detach_cuts_the_graph():
    w = tl.Parameter([1.0, 2.0])
    gm = tl.GradManager().attach(w)
    with gm:
        y = (w * w).detach() * w
        gm.backward(y.sum())
    np.testing.assert_allclose(w.grad.numpy(), [1.0, 4.0])      # only the outer factor


def test_len_iter_and_scalar_len():
    x = tl.Tensor([[1, 2], [3, 4], [5, 6]])
    assert len(x) == 3
    assert [r.tolist() for r in x] == [[1, 2], [3, 4], [5, 6]]
    with pytest.raises(TypeError, match="ndim is 0"):
        len(tl.Tensor(1.0))


def test_indexing_follows_numpy():
    a = np.arange(24).reshape(2, 3, 4)
    x = tl.Tensor(a)
    for index in [1, (1, 2), (slice(None), 1), (Ellipsis, -1), (None, 0), np.array([1, 0, 1]),
                  (slice(None), np.array([2, 0])), a % 2 == 0, (0, slice(None, None, -1))]:
        np.testing.assert_array_equal(x[index].numpy(), a[index])
    np.testing.assert_array_equal(x[tl.Tensor([1, 0])].numpy(), a[[1, 0]])


def test_setitem_replaces_storage_and_is_differentiable():
    x = tl.Tensor(np.zeros((2, 3)))
    same = x
    x[0, 1:] = tl.Tensor([1.0, 2.0])
    x[1] = 5
    assert same is x
    np.testing.assert_array_equal(x.numpy(), [[0, 1, 2], [5, 5, 5]])
    _, (gx, gv) = autodiff_grads(lambda t, v: _assign(t, v), [np.ones((2, 3)), np.ones(2)], [0, 1],
                                 dy=np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(gx, [[0, 0, 0], [3, 4, 5]])       # overwritten entries: 0
    np.testing.assert_array_equal(gv, [1, 2])


def _assign(t, v):
    out = t * 1
    out[0, 1:] = v
    return out


def test_broadcasting_arithmetic_and_reflected_operators():
    a, b = np.arange(6.0).reshape(2, 3), np.array([1.0, 2.0, 4.0])
    x, y = tl.Tensor(a), tl.Tensor(b)
    for ours, theirs in [(x + y, a + b), (x - y, a - b), (x * y, a * b), (x / y, a / b),
                         (2 - x, 2 - a), (2 / y, 2 / b), (x ** 2, a ** 2), (2 ** y, 2 ** b),
                         (-x, -a), (abs(x - 3), abs(a - 3)), (x // y, a // b), (x % y, a % b),
                         (b + x, b + a), (a * y, a * b)]:
        assert isinstance(ours, tl.Tensor)
        np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-6)
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(2,\)"):
        x + tl.Tensor([1.0, 2.0])


def test_comparisons_return_bool():
    x = tl.Tensor([1, 2, 3])
    for out, expected in [(x == 2, [False, True, False]), (x != 2, [True, False, True]),
                          (x < 2, [True, False, False]), (x <= 2, [True, True, False]),
                          (x > 2, [False, False, True]), (x >= 2, [False, True, True])]:
        assert out.dtype == np.bool_ and out.numpy().tolist() == expected
    assert (x == tl.Tensor([1, 0, 3])).sum().dtype == np.int32


def test_reductions_and_matmul_operator():
    a = np.arange(6.0).reshape(2, 3)
    x = tl.Tensor(a)
    assert x.sum().item() == 15 and x.mean().item() == 2.5
    np.testing.assert_array_equal(x.sum(axis=1).numpy(), [3, 12])
    np.testing.assert_array_equal(x.max(axis=0, keepdims=True).numpy(), [[3, 4, 5]])
    assert x.min().item() == 0 and x.prod(axis=1).numpy().tolist() == [0, 60]
    np.testing.assert_allclose((x @ x.T).numpy(), a @ a.T)
    np.testing.assert_allclose((a @ x.T).numpy(), a @ a.T)
    assert tl.Tensor([1, 2, 3]).mean().dtype == np.float32


def test_in_place_operators_keep_the_object():
    x = tl.Tensor([1.0, 2.0])
    same = x
    x += 1
    x *= tl.Tensor([2.0, 3.0])
    x -= 1
    x /= 2
    assert same is x
    np.testing.assert_allclose(x.numpy(), [1.5, 4.0])


def test_in_place_operator_while_recording_keeps_gradients():
    w = tl.Parameter([1.0, 2.0])
    gm = tl.GradManager().attach(w)
    with gm:
        y = w * 2
        z = y * 3                 # uses y before the in-place update
        y += 1
        gm.backward((z + y * y).sum())
    np.testing.assert_allclose(w.grad.numpy(), [6 + 4 * 3, 6 + 4 * 5])


def test_ops_on_parameters_return_tensors():
    w = tl.Parameter([1.0, 2.0])
    for out in (w * 2, w + w, w.reshape(2, 1), w.sum(), F.relu(w), w[0], w.astype("float32")):
        assert type(out) is tl.Tensor
    assert isinstance(w, tl.Tensor)


def test_tensor_alias_and_to():
    t = tl.tensor([1, 2], dtype="float32")
    assert type(t) is tl.Tensor and t.dtype == np.float32
    c = t.to("cpu0")
    assert c is not t and c.numpy().tolist() == [1.0, 2.0]


def test_object_data_is_rejected():
    with pytest.raises(TypeError, match="cannot make a tensor"):
        tl.Tensor([object()])
