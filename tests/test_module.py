"""Module: traversal order, state dicts, train/eval, hooks, repr, errors."""
from collections import OrderedDict

import numpy as np
import pytest

import tutorlib as tl
import tutorlib.functional as F
import tutorlib.module as M
from tutorlib.module.module import StateDictError


class LeNet(M.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = M.Conv2d(1, 6, 5)
        self.bn1 = M.BatchNorm2d(6)
        self.pool = M.MaxPool2d(2, 2)
        self.fc = M.Linear(6 * 12 * 12, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        return self.fc(F.flatten(x, 1))


def test_parameters_come_in_sorted_name_order():
    net = LeNet()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["bn1.bias", "bn1.weight", "conv1.bias", "conv1.weight", "fc.bias", "fc.weight"]
    assert [id(p) for p in net.parameters()] == [id(p) for _, p in net.named_parameters()]
    assert next(n for n, _ in net.named_parameters(prefix="net")) == "net.bn1.bias"
    assert [n for n, _ in net.named_buffers()] == ["bn1.running_mean", "bn1.running_var"]
    assert [n for n, _ in net.named_children()] == ["bn1", "conv1", "fc", "pool"]
    assert [n for n, _ in net.named_modules()] == ["", "bn1", "conv1", "fc", "pool"]
    assert list(net.parameters(recursive=False)) == []


def test_sequential_names_sort_as_strings():
    net = M.Sequential(*[M.Linear(2, 2) for _ in range(11)])
    keys = [n.split(".")[0] for n, _ in net.named_parameters()][::2]
    assert keys == ["0", "1", "10", "2", "3", "4", "5", "6", "7", "8", "9"]
    assert [type(m).__name__ for m in net] == ["Linear"] * 11   # iteration keeps layer order


def test_shared_parameters_and_nested_containers_are_visited_once():
    class Shared(M.Module):
        def __init__(self):
            super().__init__()
            self.a = M.Linear(2, 2)
            self.b = self.a
            self.blocks = [M.Linear(2, 3), {"y": M.Linear(3, 1), "x": M.ReLU()}]

    names = [n for n, _ in Shared().named_parameters()]
    assert names == ["a.bias", "a.weight", "blocks.0.bias", "blocks.0.weight",
                     "blocks.1.y.bias", "blocks.1.y.weight"]


def test_sequential_indexing_slicing_and_ordered_dict():
    a, b, c = M.Linear(4, 3), M.ReLU(), M.Linear(3, 2)
    net = M.Sequential(OrderedDict(fc1=a, act=b, fc2=c))
    assert net[0] is a and net[-1] is c and len(net) == 3
    head = net[:2]
    assert isinstance(head, M.Sequential) and list(head) == [a, b]
    x = tl.Tensor(np.ones((5, 4)))
    np.testing.assert_allclose(net(x).numpy(), c(b(a(x))).numpy())
    assert [n for n, _ in net.named_parameters()] == ["fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight"]
    with pytest.raises(TypeError, match="not a Module"):
        M.Sequential(M.ReLU(), lambda x: x)


def test_state_dict_shapes_copies_and_round_trip():
    net = LeNet()
    sd = net.state_dict()
    assert list(sd) == ["bn1.bias", "bn1.running_mean", "bn1.running_var", "bn1.weight",
                        "conv1.bias", "conv1.weight", "fc.bias", "fc.weight"]
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    for key in ("bn1.bias", "bn1.running_mean", "bn1.running_var", "bn1.weight"):
        assert sd[key].shape == (6,)
    assert net.bn1.weight.shape == (1, 6, 1, 1)
    assert sd["conv1.bias"].shape == net.conv1.bias.shape == (1, 6, 1, 1)
    sd["fc.bias"][:] = 7                      # a copy: the model is untouched
    assert not np.any(net.fc.bias.numpy() == 7)

    other = LeNet()
    other.load_state_dict(net.state_dict())
    for (n1, v1), (n2, v2) in zip(net.state_dict().items(), other.state_dict().items()):
        assert n1 == n2
        np.testing.assert_array_equal(v1, v2)
    assert other.bn1.running_var.shape == (1, 6, 1, 1)
    x = tl.Tensor(np.random.default_rng(0).normal(size=(2, 1, 28, 28)))
    net.eval(), other.eval()
    np.testing.assert_array_equal(net(x).numpy(), other(x).numpy())


def test_load_state_dict_keeps_dtype_and_replaces_arrays():
    fc = M.Linear(3, 2)
    before = fc.weight.detach()
    old = before.numpy()
    fc.load_state_dict({"weight": np.ones((2, 3), np.float64), "bias": tl.Tensor([1.0, 2.0])})
    assert fc.weight.dtype == np.float32
    np.testing.assert_array_equal(fc.weight.numpy(), np.ones((2, 3)))
    np.testing.assert_array_equal(before.numpy(), old)       # earlier snapshot unchanged
    np.testing.assert_array_equal(fc.bias.numpy(), [1.0, 2.0])


def test_load_state_dict_errors_list_every_problem():
    fc = M.Linear(3, 2)
    bad = {"weight": np.zeros((3, 2)), "extra": np.zeros(1), "other": np.zeros(1)}
    with pytest.raises(StateDictError) as info:
        fc.load_state_dict(bad)
    msg = str(info.value)
    assert "missing keys: ['bias']" in msg
    assert "unexpected keys: ['extra', 'other']" in msg
    assert "weight: expected (2, 3), got (3, 2)" in msg
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)
    w = fc.weight.numpy()
    np.testing.assert_array_equal(fc.weight.numpy(), w)      # nothing was loaded

    fc.load_state_dict({"bias": np.array([5.0, 6.0]), "extra": 1}, strict=False)
    np.testing.assert_array_equal(fc.bias.numpy(), [5.0, 6.0])
    with pytest.raises(StateDictError, match="wrong shapes"):
        fc.load_state_dict({"bias": np.zeros(3)}, strict=False)
    with pytest.raises(StateDictError, match=r"conv1.bias: expected \(1, 6, 1, 1\), got \(6,\)"):
        sd = LeNet().state_dict()
        sd["conv1.bias"] = sd["conv1.bias"].reshape(-1)   # only BN accepts the 1-D form
        LeNet().load_state_dict(sd)


def test_load_state_dict_with_closure():
    net = LeNet()
    seen = []

    def closure(key, var):
        seen.append(key)
        return np.full(var.shape, 0.5) if key.endswith("bias") else None

    w = net.fc.weight.numpy()
    net.load_state_dict(closure)
    assert seen == list(net.state_dict())
    np.testing.assert_array_equal(net.fc.bias.numpy(), np.full(10, 0.5))
    np.testing.assert_array_equal(net.fc.weight.numpy(), w)


def test_train_eval_propagate():
    net = M.Sequential(M.Linear(2, 2), M.Sequential(M.Dropout(0.5), M.BatchNorm1d(2)))
    assert all(m.training for m in net.modules())
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net.train(False, recursive=False)
    assert not net.training and net[1][0].training


def test_apply_visits_every_module():
    net = LeNet()
    visited = []
    net.apply(lambda m: visited.append(type(m).__name__))
    assert visited == ["LeNet", "BatchNorm2d", "Conv2d", "Linear", "MaxPool2d"]


def test_forward_hooks_and_removable_handles():
    fc = M.Linear(2, 2)
    calls = []
    pre = fc.register_forward_pre_hook(lambda m, inputs: (inputs[0] * 0,))
    post = fc.register_forward_hook(lambda m, inputs, out: calls.append(out.shape) or out + 1)
    y = fc(tl.Tensor(np.ones((3, 2))))
    np.testing.assert_allclose(y.numpy(), np.ones((3, 2)))   # zero input, zero bias, +1
    assert calls == [(3, 2)]
    pre.remove(), post.remove()
    pre.remove()                                             # a second remove is harmless
    x = tl.Tensor(np.ones((3, 2)))
    np.testing.assert_allclose(fc(x).numpy(), F.linear(x, fc.weight, fc.bias).numpy())
    assert calls == [(3, 2)]


def test_repr_is_a_tree():
    text = repr(LeNet())
    assert text == (
        "LeNet(\n"
        "  (conv1): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))\n"
        "  (bn1): BatchNorm2d(6, eps=1e-05, momentum=0.9, affine=True, track_running_stats=True)\n"
        "  (pool): MaxPool2d(kernel_size=2, stride=2, padding=0)\n"
        "  (fc): Linear(in_features=864, out_features=10, bias=True)\n"
        ")")
    nested = repr(M.Sequential(M.Linear(1, 1), M.Sequential(M.ReLU())))
    assert nested == ("Sequential(\n  (0): Linear(in_features=1, out_features=1, bias=True)\n"
                      "  (1): Sequential(\n    (0): ReLU()\n  )\n)")


def test_forward_must_be_defined():
    class NoForward(M.Module):
        pass

    with pytest.raises(NotImplementedError, match="NoForward must define forward"):
        NoForward()(1)
