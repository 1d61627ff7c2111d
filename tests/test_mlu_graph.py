"""Fused mode (ct.trace), offline models (safe format, fresh process, crafted files) and the cost model."""
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import tutorlib as tl
import tutorlib.functional as F
import tutorlib.mlu.mlu_model as ct
import tutorlib.module as M
from tutorlib.examples.mnist_nets import GuideNet, LeNet
from tutorlib.mlu import cost, graph, mlu_quantize
from tutorlib.serialization import LoadError

SPEC = {"mean": [0], "std": [1 / 255], "firstconv": True}


def _mlu_net(net, raw, dtype="int8", spec=SPEC):
    net.eval()
    q = mlu_quantize.quantize_dynamic_mlu(net, spec, dtype=dtype, gen_quant=True)
    q(tl.Tensor(raw))
    m = mlu_quantize.quantize_dynamic_mlu(net, dtype=dtype)
    m.load_state_dict(q.state_dict(), strict=False)
    return m.to(ct.mlu_device())


def _raw(n=4, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 1, 28, 28)).astype(np.float32)


@pytest.fixture
def lenet_program():
    tl.random.seed(0)
    raw = _raw()
    model = _mlu_net(LeNet(), raw)
    x = tl.Tensor(raw).to(ct.mlu_device())
    return model, x, ct.trace(model, x)


def test_fused_program_equals_per_operator_mode_bit_for_bit(lenet_program):
    model, x, program = lenet_program
    np.testing.assert_array_equal(program(x).numpy(), model(x).numpy())
    # conv+relu and linear+relu fused: 14 ops launched per operator, 10 nodes in the program
    assert [n.label for n in program.nodes] == [
        "sub", "div", "conv2d+relu", "max_pool2d", "conv2d+relu", "max_pool2d", "reshape",
        "linear+relu", "linear+relu", "linear"]
    with ct.capture() as launches:
        model(x)
    assert len(launches) == 14
    tl.random.seed(1)
    other = ct.trace(_mlu_net(GuideNet(), _raw(2)), tl.Tensor(_raw(2)).to(ct.mlu_device()))
    assert [n.label for n in other.nodes] == [
        "sub", "div", "conv2d+relu", "conv2d+relu", "max_pool2d", "reshape", "linear+relu",
        "linear", "log_sum_exp", "sub"]


def test_batch_norm_is_folded_into_the_conv():
    tl.random.seed(0)
    net = LeNet(batch_norm=True)
    rng = np.random.default_rng(1)
    for bn in (net.bn1, net.bn2):
        c = bn.running_mean.shape
        bn.running_mean._data = rng.normal(0, 0.5, c).astype(np.float32)
        bn.running_var._data = rng.uniform(0.5, 2, c).astype(np.float32)
        bn.weight._data = rng.uniform(0.5, 2, bn.weight.shape).astype(np.float32)
    raw = _raw()
    model = _mlu_net(net, raw, dtype="int16")
    x = tl.Tensor(raw).to(ct.mlu_device())
    program = ct.trace(model, x)
    assert "batch_norm" not in [n.op for n in program.nodes]
    assert program.nodes[2].label == "conv2d+relu"
    want = net(tl.Tensor(raw)).numpy()
    # int16 weights of the folded conv: close to the float model (and to per-operator mode)
    np.testing.assert_allclose(program(x).numpy(), want, atol=0.01 * np.abs(want).max())
    np.testing.assert_allclose(program(x).numpy(), model(x).numpy(), atol=0.01 * np.abs(want).max())


class _BnNoBiasNet(M.Module):
    """conv (no bias) -> BN -> ReLU -> global average pooling -> linear: a ResNet's stem and head."""

    def __init__(self):
        super().__init__()
        self.conv = M.Conv2d(1, 8, 3, padding=1, bias=False)
        self.bn = M.BatchNorm2d(8)
        self.pool = M.AdaptiveAvgPool2d((1, 1))
        self.fc = M.Linear(8, 10)

    def forward(self, x):
        return self.fc(F.flatten(self.pool(F.relu(self.bn(self.conv(x)))), 1))


def test_bias_free_conv_folds_its_batch_norm_and_global_pooling_compiles(tmp_path):
    tl.random.seed(0)
    net = _BnNoBiasNet()
    rng = np.random.default_rng(2)
    net.bn.running_mean._data = rng.normal(0, 0.5, net.bn.running_mean.shape).astype(np.float32)
    net.bn.running_var._data = rng.uniform(0.5, 2, net.bn.running_var.shape).astype(np.float32)
    raw = _raw()
    model = _mlu_net(net, raw, dtype="int16")
    x = tl.Tensor(raw).to(ct.mlu_device())
    program = ct.trace(model, x)
    assert [n.label for n in program.nodes] == [
        "sub", "div", "conv2d+relu", "adaptive_avg_pool2d", "reshape", "linear"]
    want = net(tl.Tensor(raw)).numpy()
    np.testing.assert_allclose(program(x).numpy(), want, atol=0.01 * np.abs(want).max())
    path = _saved(program, tmp_path)
    np.testing.assert_array_equal(ct.load_offline(path)(x).numpy(), program(x).numpy())
    unfolded = graph.trace(model, x, fold=False)
    assert [n.op for n in unfolded.nodes][2:4] == ["conv2d", "batch_norm"]
    assert cost.flops_of("adaptive_avg_pool2d", [(4, 8, 28, 28)], (4, 8, 1, 1)) == 4 * 8 * 28 * 28


def test_buffer_plan_reuses_slots(lenet_program):
    _, _, program = lenet_program
    # 9 buffers without reuse (reshape is a view); ping-pong needs far fewer
    assert len(program.buffers) <= 4
    biggest = 4 * 6 * 28 * 28 * 2
    assert biggest <= program.peak_bytes <= 2 * biggest + 4 * 1 * 28 * 28 * 2
    assert "10 ops" in repr(program)


def test_program_errors(lenet_program):
    model, x, program = lenet_program
    assert program.run(x.numpy()).shape == (4, 10)
    with pytest.raises(ValueError, match=r"traced for input \(4, 1, 28, 28\), got \(2, 1, 28, 28\)"):
        program.run(np.zeros((2, 1, 28, 28), np.float32))
    with pytest.raises(ValueError, match="the input is on cpu0"):
        program(tl.Tensor(_raw()))
    with pytest.raises(ValueError, match="example must be a Tensor on the MLU"):
        ct.trace(model, tl.Tensor(_raw()))
    try:
        ct.set_cnml_enabled(False)
        with pytest.raises(ValueError, match="set_cnml_enabled\\(True\\)"):
            ct.trace(model, x)
    finally:
        ct.config.__init__()


def test_offline_model_runs_in_a_fresh_process_without_the_model_class(lenet_program, tmp_path):
    model, x, _ = lenet_program
    name = str(tmp_path / "lenet")
    try:
        ct.save_as_cambricon(name)
        ct.trace(model, x)
    finally:
        ct.save_as_cambricon("")
    path = name + ".cambricon"
    tl.save({"x": x.numpy(), "y": model(x).numpy()}, str(tmp_path / "io.tl"))
    code = ("import sys, numpy as np, tutorlib as tl, tutorlib.mlu.mlu_model as ct\n"
            "io = tl.load(sys.argv[2]); p = ct.load_offline(sys.argv[1])\n"
            "y = p(tl.Tensor(io['x']).to(ct.mlu_device())).numpy()\n"
            "assert 'tutorlib.examples.mnist_nets' not in sys.modules\n"
            "assert np.array_equal(y, io['y']), np.abs(y - io['y']).max()\n"
            "print('ok', len(p.nodes))\n")
    done = subprocess.run([sys.executable, "-c", code, path, str(tmp_path / "io.tl")],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ok", "10"]


def _saved(program, tmp_path, edit=None):
    path = str(tmp_path / "m.cambricon")
    program.save(path)
    if edit is not None:
        root = tl.load(path)
        edit(root)
        tl.save(root, path)
    return path


def test_crafted_offline_files_cannot_run_code(lenet_program, tmp_path):
    _, _, program = lenet_program
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.cambricon"
    path.write_bytes(pickle.dumps({"format": "tutorlib-cambricon-offline", "x": Evil()}))
    with pytest.raises(LoadError, match="evil.cambricon"):
        ct.load_offline(str(path))
    assert not marker.exists()

    def op(name):
        return lambda root: root["nodes"][0].update(op=name)

    cases = [
        (op("__import__('os').system"), "node 0: unknown op"),
        (lambda r: r["nodes"][2]["attrs"].update(stride="os.system"), "node 2: expected 2 ints"),
        (lambda r: r["nodes"][3].update(inputs=[["value", 9]]), "node 3: input reference"),
        (lambda r: r["nodes"][2].update(fixed_point=None), "needs fixed_point"),
        (lambda r: r["nodes"][2]["fixed_point"].update(scale_in=-1.0), "positive finite"),
        (lambda r: r.update(format="pickle"), "not a tutorlib MLU offline model"),
        (lambda r: r.update(version=99), "version 99"),
        (lambda r: r.update(output=99), "output must name a value"),
        (lambda r: r["nodes"][2]["attrs"].update(code="print(1)"), "needs attributes"),
    ]
    for edit, message in cases:
        with pytest.raises(ValueError, match=message):
            ct.load_offline(_saved(program, tmp_path, edit))
    good = _saved(program, tmp_path)
    with open(good, "rb") as f:
        data = f.read()
    with open(good, "wb") as f:
        f.write(data[: len(data) // 2])
    with pytest.raises(LoadError, match="m.cambricon"):
        ct.load_offline(good)


def test_cost_model_counts_and_modes(lenet_program):
    model, x, program = lenet_program
    card = cost.CARDS["MLU270"]
    c = cost.op_cost("conv2d", [(1, 1, 28, 28), (32, 1, 3, 3), (1, 32, 1, 1)], (1, 32, 26, 26),
                     8, card, 16)
    assert c.flops == 2 * 32 * 26 * 26 * 9
    assert c.bytes == 28 * 28 * 2 + 32 * 9 * 1 + 32 * 2 + 32 * 26 * 26 * 2
    c16 = cost.op_cost("conv2d", [(1, 1, 28, 28), (32, 1, 3, 3), (1, 32, 1, 1)],
                       (1, 32, 26, 26), 16, card, 16)
    assert c16.bytes == c.bytes + 32 * 9
    per_op, fused = ct.profile(model, x), ct.profile(program, x)
    assert per_op.launches == 13 and fused.launches == 1     # reshape is free
    assert fused.total_us < per_op.total_us
    assert sum(r.flops for r in per_op.rows) == sum(r.flops for r in fused.rows)
    assert sum(r.bytes for r in fused.rows) < sum(r.bytes for r in per_op.rows)
    text = str(per_op)
    assert "a model, not a measurement" in text and "sim µs" in text and "share" in text
    # fewer cores: slower compute; MLU220 is slower than MLU270
    one = program.profile(cores=1)
    assert one.total_us > fused.total_us
    assert program.profile(core_version="MLU220", cores=4).total_us > program.profile(cores=4).total_us
