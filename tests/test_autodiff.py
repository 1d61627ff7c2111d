"""GradManager and the recorded graph: what is differentiated, when, and how gradients add up."""
import gc
import weakref

import numpy as np
import pytest

import tutorlib as tl
import tutorlib.functional as F
from tutorlib.autodiff import GradManager, Graph


def test_doc_example_gradients_accumulate():
    w, b = tl.Parameter(3.0), tl.Parameter(-1.0)
    x = tl.Tensor(2.0)
    gm = GradManager().attach([w, b])
    with gm:
        y = w * x + b
        gm.backward(y)
    assert w.grad.item() == 2.0 and b.grad.item() == 1.0
    with gm:
        gm.backward(w * x + b)
    assert w.grad.item() == 4.0 and b.grad.item() == 2.0       # no clearing: accumulated


def test_backward_outside_recording_raises():
    w = tl.Parameter(1.0)
    gm = GradManager().attach(w)
    y = w * 2
    with pytest.raises(RuntimeError, match="no computation history"):
        gm.backward(y)


def test_backward_runs_once_per_recording():
    w = tl.Parameter(1.0)
    gm = GradManager().attach(w)
    with gm:
        y = w * 2
        gm.backward(y)
        assert not gm.is_recording
        with pytest.raises(RuntimeError, match="no computation history"):
            gm.backward(y)


def test_record_twice_raises():
    gm = GradManager()
    gm.record()
    with pytest.raises(RuntimeError, match="already recording"):
        gm.record()
    gm.release()


def test_attach_returns_self_and_accepts_one_tensor():
    w = tl.Parameter(1.0)
    gm = GradManager()
    assert gm.attach(w) is gm and gm.attach([w]) is gm
    assert gm.attached_tensors() == [w]


def test_only_ops_after_attach_and_while_recording_are_differentiated():
    w, v = tl.Parameter(2.0), tl.Parameter(5.0)
    gm = GradManager().attach(w)
    early = w * 10                     # not recording: a constant
    with gm:
        gm.attach(v)                   # attached during recording: tracked from now on
        y = early * w + w * v
        gm.backward(y)
    assert w.grad.item() == 20 + 5 and v.grad.item() == 2.0


def test_unattached_tensors_get_no_gradient():
    w, u = tl.Parameter(2.0), tl.Parameter(3.0)
    gm = GradManager().attach(w)
    with gm:
        gm.backward(w * u)
    assert w.grad.item() == 3.0 and u.grad is None


def test_backward_of_a_constant_is_an_error():
    gm = GradManager().attach(tl.Parameter(1.0))
    with gm:
        with pytest.raises(RuntimeError, match="not computed from any attached tensor"):
            gm.backward(tl.Tensor(3.0) * 2)


def test_callbacks_transform_the_gradient_before_accumulation():
    w = tl.Parameter([1.0, 2.0])
    seen = []

    def double(t, g):
        seen.append(t)
        return g * 2

    gm = GradManager().attach(w, callbacks=double)
    gm.attach(w, callbacks=[lambda t, g: g + 1])               # callbacks are concatenated
    with gm:
        gm.backward((w * w).sum())
    assert seen == [w]
    np.testing.assert_allclose(w.grad.numpy(), [2 * 2 + 1, 4 * 2 + 1])


def test_fan_out_accumulates_gradients():
    x = tl.Parameter([1.0, -2.0])
    gm = GradManager().attach(x)
    with gm:
        y = x * 3
        z = y * y + y + F.exp(y) * 0 + x      # y used three times, x twice
        gm.backward(z.sum())
    np.testing.assert_allclose(x.grad.numpy(), 2 * 9 * np.array([1.0, -2.0]) + 3 + 1)


def test_backward_with_dy_and_several_outputs():
    x = tl.Parameter([1.0, 2.0])
    gm = GradManager().attach(x)
    with gm:
        gm.backward([x * 2, x * x], [tl.Tensor([1.0, 10.0]), tl.Tensor([1.0, 1.0])])
    np.testing.assert_allclose(x.grad.numpy(), [2 + 2, 20 + 4])


def test_dy_shape_must_match():
    x = tl.Parameter([1.0, 2.0])
    gm = GradManager().attach(x)
    with gm:
        with pytest.raises(ValueError, match=r"dy has shape \(3,\) but y has shape \(2,\)"):
            gm.backward(x * 2, tl.Tensor([1.0, 1.0, 1.0]))


def test_gradient_of_a_broadcast_parameter_is_summed_back():
    b = tl.Parameter([1.0, 2.0, 3.0])
    gm = GradManager().attach(b)
    with gm:
        gm.backward((tl.Tensor(np.ones((4, 3))) + b).sum())
    np.testing.assert_allclose(b.grad.numpy(), [4.0, 4.0, 4.0])
    assert b.grad.dtype == np.float32


def test_graph_is_freed_after_backward():
    w = tl.Parameter(2.0)
    gm = GradManager().attach(w)
    with gm:
        y = w * 3
        hidden = F.exp(y)
        probe = weakref.ref(hidden)
        gm.backward(F.sum(hidden * y))
    assert y._node is None and gm._tape == []
    del hidden
    gc.collect()
    assert probe() is None        # nothing keeps intermediate tensors alive


def test_release_without_backward_frees_the_graph_too():
    w = tl.Parameter(2.0)
    gm = GradManager().attach(w)
    with gm:
        y = w * 3
    assert y._node is None and w.grad is None


def test_graph_from_tensor_lists_ops_and_shapes():
    w = tl.Parameter(np.ones((3, 2)), name="w")
    x = tl.Tensor(np.ones((4, 3)), name="x")
    gm = GradManager().attach(w)
    with gm:
        y = F.relu(F.matmul(x, w)).sum()
        g = Graph.from_tensor(y)
        gm.backward(y)
    ops = [(n.label, n.shape) for n in g.nodes if n.kind == "op"]
    assert ops == [("matmul", (4, 2)), ("relu", (4, 2)), ("sum", ())]
    inputs = {n.label: n.shape for n in g.nodes if n.kind == "tensor"}
    assert inputs == {"x": (4, 3), "w": (3, 2)}
    assert g.nodes[g.output].label == "sum"
    with pytest.raises(RuntimeError, match="not produced by a recorded op"):
        Graph.from_tensor(tl.Tensor(1.0))


def test_two_grad_managers_record_independently():
    a, b = tl.Parameter(2.0), tl.Parameter(3.0)
    gm_a, gm_b = GradManager().attach(a), GradManager().attach(b)
    with gm_a, gm_b:
        y = a * b
        gm_b.backward(y)
        assert b.grad.item() == 2.0
        gm_a.backward(a * a)
    assert a.grad.item() == 4.0


def test_integer_inputs_do_not_break_float_gradients():
    w = tl.Parameter([1.0, 2.0])
    gm = GradManager().attach(w)
    with gm:
        gm.backward((w * tl.Tensor([3, 4])).sum())
    np.testing.assert_allclose(w.grad.numpy(), [3.0, 4.0])


def test_backward_tells_ops_which_inputs_need_gradients():
    """Ops see ``needs_input_grad`` so they can skip e.g. the input gradient of a first layer."""
    import numpy as np

    import tutorlib as tl
    from tutorlib.autodiff import GradManager
    from tutorlib.ops.core import Op, apply

    seen = []

    class Scale(Op):
        def forward(self, x, w):
            self.x, self.w = x, w
            return x * w

        def backward(self, g):
            seen.append(self.needs_input_grad)
            return g * self.w if self.needs_input_grad[0] else None, g * self.x

    w = tl.Parameter(np.ones(3, np.float32))
    x = tl.Tensor(np.arange(3, dtype=np.float32))
    with GradManager().attach([w]) as gm:
        gm.backward(apply(Scale(), x, w).sum())
    assert seen == [(False, True)]
    np.testing.assert_allclose(w.grad.numpy(), [0, 1, 2])
