"""The emulated MLU: device settings, calibration (quantize_dynamic_mlu) and fixed-point inference.

The central check: emulated int8/int16 inference of LeNet equals a reference integer computation
(int64 numpy, from nothing but the saved state dict) bit for bit in the integer sums, and within
float16 rounding of the float result.
"""
import numpy as np
import pytest

import tutorlib as tl
import tutorlib.functional as F
import tutorlib.mlu.mlu_model as ct
import tutorlib.module as M
import tutorlib.optimizer as optim
from tutorlib.examples.mnist_nets import LeNet
from tutorlib.mlu import mlu_quantize
from tutorlib.mlu.device import capture, half

MNIST_SPEC = {"mean": [0], "std": [1 / 255], "firstconv": True}


def _lenet(seed=0, **kw):
    tl.random.seed(seed)
    return LeNet(**kw)


def _images(n=4, seed=1):
    return np.random.default_rng(seed).integers(0, 256, (n, 1, 28, 28)).astype(np.float32)


def _calibrated_state(net, spec, dtype, batches):
    q = mlu_quantize.quantize_dynamic_mlu(net, spec, dtype=dtype, gen_quant=True)
    for x in batches:
        q(tl.Tensor(x))
    return q.state_dict()


def _mlu_model(net, state, dtype="int8"):
    q = mlu_quantize.quantize_dynamic_mlu(net, dtype=dtype)
    q.load_state_dict(state, strict=False)
    return q.to(ct.mlu_device())


# ---- the reference: int64 numpy from the state dict ---------------------------------------------
def _q(x, s, qmax):
    return np.clip(np.rint(x.astype(np.float64) * np.float64(s)), -qmax - 1, qmax).astype(np.int64)


def _conv_int64(q, w, padding):
    q = np.pad(q, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = np.lib.stride_tricks.sliding_window_view(q, w.shape[2:], axis=(2, 3))
    return np.einsum("nchwij,ocij->nohw", win, w, dtype=np.int64)


def _reference_lenet(state, raw, qmax):
    """(int64 sums of every conv/linear, float64 output before float16 rounding)."""
    sums = []

    def layer(name, x, padding=None):
        s_in, s_w = (np.float64(v) for v in state[name + ".scale"])
        qx, qw = _q(x, s_in, qmax), _q(state[name + ".weight"], s_w, qmax)
        acc = _conv_int64(qx, qw, padding) if padding is not None else qx @ qw.T
        sums.append(acc)
        b = state[name + ".bias"].astype(np.float32)
        y = acc / (np.float64(s_w) * s_in) + (b.reshape(1, -1, 1, 1) if padding is not None else b)
        return y

    def pool_relu(y):
        y = np.maximum(half(y.astype(np.float32)), 0)
        n, c, h, w = y.shape
        return y.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))

    x = half((raw - state["conv1.input_mean"]) / state["conv1.input_std"])
    x = pool_relu(layer("conv1", x, 2))
    x = pool_relu(layer("conv2", x, 0)).reshape(len(raw), -1)
    x = np.maximum(half(layer("fc1", x).astype(np.float32)), 0)
    x = np.maximum(half(layer("fc2", x).astype(np.float32)), 0)
    return sums, layer("fc3", x)


@pytest.mark.parametrize("dtype,qmax", [("int8", 127), ("int16", 32767)])
def test_lenet_inference_equals_int64_reference(dtype, qmax):
    net = _lenet()
    state = _calibrated_state(net, MNIST_SPEC, dtype, [_images(8, seed=2)])
    raw = _images(4)
    with capture(keep_accumulators=True) as launches:
        out = _mlu_model(net, state, dtype)(tl.Tensor(raw).to(ct.mlu_device()))
    assert out.device is ct.mlu_device()
    sums = [launch.accumulator for launch in launches if launch.fixed_point is not None]
    ref_sums, ref_y = _reference_lenet(state, raw, qmax)
    assert len(sums) == len(ref_sums) == 5
    for got, want in zip(sums, ref_sums):
        assert got.dtype == (np.int32 if dtype == "int8" else np.int64)
        np.testing.assert_array_equal(got, want)                # bit for bit
    got = out.numpy()
    np.testing.assert_array_equal(got, half(ref_y.astype(np.float32)))
    ulp = np.spacing(np.abs(got).astype(np.float16)).astype(np.float64)
    assert np.all(np.abs(got - ref_y) <= ulp / 2 + 1e-12)     # within float16 rounding


def test_int8_prediction_agrees_with_float_model():
    net = _lenet()
    raw = _images(16, seed=3)
    state = _calibrated_state(net, MNIST_SPEC, "int8", [raw])
    want = net(tl.Tensor(raw)).numpy()
    got = _mlu_model(net, state)(tl.Tensor(raw).to(ct.mlu_device())).numpy()
    assert np.abs(got - want).max() < 0.05 * np.abs(want).max()


def test_firstconv_raw_input_on_mlu_matches_normalised_input_on_cpu():
    mean, std = 0.1307, 0.3081
    net = _lenet(seed=4)
    raw = _images(16, seed=5)
    normalised = (raw / 255 - mean) / std
    spec = {"mean": [mean], "std": [std], "firstconv": True}
    state = _calibrated_state(net, spec, "int16", [normalised])
    np.testing.assert_allclose(state["conv1.input_mean"].ravel(), [mean * 255], rtol=1e-6)
    np.testing.assert_allclose(state["conv1.input_std"].ravel(), [std * 255], rtol=1e-6)
    want = net(tl.Tensor(normalised)).numpy()
    got = _mlu_model(net, state, "int16")(tl.Tensor(raw).to(ct.mlu_device())).numpy()
    np.testing.assert_allclose(got, want, atol=0.01 * np.abs(want).max())
    # without firstconv the MLU model would need normalised input: raw input is far off
    state_plain = _calibrated_state(net, {"firstconv": False}, "int16", [normalised])
    plain = mlu_quantize.quantize_dynamic_mlu(net, {"firstconv": False}, dtype="int16")
    plain.load_state_dict(state_plain)
    far = plain.to(ct.mlu_device())(tl.Tensor(raw).to(ct.mlu_device())).numpy()
    assert np.abs(far - want).max() > 10 * np.abs(got - want).max()


def test_state_dict_keys_and_values():
    net = _lenet()
    x = _images(4)
    state = _calibrated_state(net, dict(MNIST_SPEC, per_channel=True), "int16", [x])
    assert {"conv1.scale", "conv1.quantized_mode", "conv1.input_mean", "conv1.input_std",
            "conv1.scale_weight_per_channel", "fc3.scale", "fc3.quantized_mode"} <= set(state)
    assert "conv2.input_mean" not in state                 # only the first conv normalises
    assert state["conv1.quantized_mode"].tolist() == [4]   # int16 per channel
    assert state["conv1.scale"][1] == 0.0                  # per channel: [scale_in, 0]
    w = state["conv1.weight"].reshape(6, -1)
    np.testing.assert_allclose(state["conv1.scale_weight_per_channel"],
                               32767 / np.abs(w).max(1), rtol=1e-6)
    # scale = qmax / absmax of the observed input (raw pixels: std 1/255 -> input_std 1)
    np.testing.assert_allclose(state["conv1.scale"][0], 32767 / np.abs(x).max(), rtol=1e-6)
    plain = _calibrated_state(net, MNIST_SPEC, "int8", [x])
    assert plain["fc1.quantized_mode"].tolist() == [1] and "fc1.scale_weight_per_channel" not in plain
    np.testing.assert_allclose(plain["fc3.scale"][1], 127 / np.abs(plain["fc3.weight"]).max(),
                               rtol=1e-6)


def test_observer_iteration_use_avg_and_data_scale():
    fc = M.Sequential(M.Linear(2, 1))
    spec = {"firstconv": False, "iteration": 2, "use_avg": True, "data_scale": 0.5}
    q = mlu_quantize.quantize_dynamic_mlu(fc, spec, gen_quant=True)
    q(tl.Tensor([[1.0, -2.0]]))
    q(tl.Tensor([[4.0, 0.0]]))
    with pytest.warns(UserWarning, match="first 2 call"):
        q(tl.Tensor([[100.0, 0.0]]))                        # ignored
    # running means: max (1 + 4) / 2 = 2.5, min (-2 + 0) / 2 = -1 -> absmax 2.5 * 0.5
    assert q.state_dict()["0.scale"][0] == pytest.approx(127 / 1.25)


def test_errors_are_clear():
    net = _lenet()
    with pytest.raises(ValueError, match="dtype must be 'int8' or 'int16', got 'int4'"):
        mlu_quantize.quantize_dynamic_mlu(net, dtype="int4")
    with pytest.raises(ValueError, match=r"unknown qconfig_spec keys \['means'\]"):
        mlu_quantize.quantize_dynamic_mlu(net, {"means": [0]})
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        mlu_quantize.quantize_dynamic_mlu(net, {"mean": [0], "std": [255]}, gen_quant=True)
    with pytest.raises(ValueError, match="1, 3 or 4 input channels"):
        mlu_quantize.quantize_dynamic_mlu(M.Sequential(M.Conv2d(2, 1, 3)), {"mean": [0]})
    mlu = ct.mlu_device()
    # an uncalibrated model on the MLU
    q = mlu_quantize.quantize_dynamic_mlu(net).to(mlu)
    with pytest.raises(ValueError, match="load the state dict saved after calibration"):
        q(tl.Tensor(_images(1)).to(mlu))
    # a float conv on the MLU: fixed point only
    with pytest.raises(ValueError, match="conv2d on mlu0: .* fixed point only"):
        M.Conv2d(1, 2, 3).to(mlu)(tl.Tensor(_images(1)).to(mlu))
    # calibrating on the MLU
    g = mlu_quantize.quantize_dynamic_mlu(net, MNIST_SPEC, gen_quant=True).to(mlu)
    with pytest.raises(ValueError, match="calibrates on the CPU"):
        g(tl.Tensor(_images(1)).to(mlu))
    # mixing devices in one op
    with pytest.raises(ValueError, match=r"inputs are on different devices \(mlu0 and cpu0\)"):
        tl.Tensor([1.0]).to(mlu) + tl.Tensor([2.0])
    state = _calibrated_state(net, MNIST_SPEC, "int8", [_images(2)])
    with pytest.raises(ValueError, match="different devices"):
        _mlu_model(net, state)(tl.Tensor(_images(1)))       # model on the MLU, data on the CPU


def test_device_settings_are_validated():
    try:
        ct.set_core_version("MLU270")
        ct.set_core_number(16)
        with pytest.raises(ValueError, match="MLU270 has 16 cores, got 17"):
            ct.set_core_number(17)
        with pytest.raises(ValueError, match="got 0"):
            ct.set_core_number(0)
        ct.set_core_version("MLU220")
        assert ct.config.core_number == 4
        with pytest.raises(ValueError, match="MLU220 has 4 cores, got 5"):
            ct.set_core_number(5)
        with pytest.raises(ValueError, match="expected one of"):
            ct.set_core_version("MLU370")
        ct.set_input_format(3)
        assert ct.config.input_format == 3
        for bad in (4, -1, True, "0"):
            with pytest.raises(ValueError, match="set_input_format"):
                ct.set_input_format(bad)
        ct.set_cnml_enabled(False)
        assert ct.config.cnml_enabled is False
        with pytest.raises(TypeError, match="True or False"):
            ct.set_cnml_enabled(1)
    finally:
        ct.config.__init__()


def test_float16_rounding_on_the_mlu():
    mlu = ct.mlu_device()
    x = tl.Tensor([1.0 + 2 ** -12, 3.0, 1e5]).to(mlu)
    y = (x * 1.0).numpy()
    assert y[0] == 1.0 and y[1] == 3.0 and np.isinf(y[2])   # 10 fraction bits, max 65504
    assert F.relu(x).device is mlu
    assert (x.to("cpu0") + tl.Tensor([0.0])).device == "cpu0"


def test_to_optimizer_returns_it_and_checks_the_model():
    net = M.Linear(3, 2)
    with pytest.raises(ValueError, match="move the model first"):
        ct.to(optim.SGD(net.parameters(), lr=0.1), ct.mlu_device())
    opt = optim.SGD(net.to(ct.mlu_device()).parameters(), lr=0.1)
    assert ct.to(opt, ct.mlu_device()) is opt
    assert all(p.device is ct.mlu_device() for p in net.parameters())


@pytest.mark.parametrize("fmt,order", [(0, "RGBA"), (1, "ARGB"), (2, "BGRA"), (3, "ABGR")])
def test_input_format_picks_rgb_out_of_four_channels(fmt, order):
    tl.random.seed(0)
    net = M.Sequential(M.Conv2d(3, 4, 3, padding=1), M.ReLU(), M.Flatten(), M.Linear(4 * 36, 3))
    rng = np.random.default_rng(fmt)
    rgb = rng.integers(0, 256, (2, 3, 6, 6)).astype(np.float32)
    mean, std = [0.4, 0.5, 0.6], [0.2, 0.25, 0.3]
    normalised = (rgb / 255 - np.reshape(mean, (1, 3, 1, 1))) / np.reshape(std, (1, 3, 1, 1))
    state = _calibrated_state(net, {"mean": mean, "std": std}, "int8", [normalised])
    model = _mlu_model(net, state)
    want = model(tl.Tensor(rgb).to(ct.mlu_device())).numpy()
    alpha = rng.integers(0, 256, (2, 1, 6, 6)).astype(np.float32)
    planes = {"R": rgb[:, :1], "G": rgb[:, 1:2], "B": rgb[:, 2:], "A": alpha}
    four = np.concatenate([planes[c] for c in order], axis=1)
    try:
        ct.set_input_format(fmt)
        x = tl.Tensor(four).to(ct.mlu_device())
        np.testing.assert_array_equal(model(x).numpy(), want)
        np.testing.assert_array_equal(ct.trace(model, x)(x).numpy(), want)
        if fmt != 0:                      # the wrong order gives other numbers
            ct.set_input_format(0)
            assert not np.array_equal(model(x).numpy(), want)
    finally:
        ct.config.__init__()
