"""The QAT and integer modules and the workflows: quantize_qat -> train -> quantize, calibration,
folding, and integer layers that refuse training."""
import numpy as np
import pytest

import tutorlib as tl
import tutorlib.functional as F
import tutorlib.module as M
import tutorlib.quantization as Q
from tutorlib import Tensor, dtype
from tutorlib.autodiff import GradManager


class Net(M.Module):
    """Every quantizable kind: stubs, ConvBnRelu, ConvBn, residual add, pools, linear."""

    def __init__(self):
        super().__init__()
        self.quant, self.dequant = M.QuantStub(), M.DequantStub()
        self.c1 = M.ConvBnRelu2d(2, 4, 3, padding=1)
        self.c2 = M.ConvBn2d(4, 4, 3, padding=1)
        self.c3 = M.ConvRelu2d(4, 4, 1)
        self.add = M.Elemwise("FUSE_ADD_RELU")
        self.mp, self.gap = M.MaxPool2d(2), M.AdaptiveAvgPool2d(1)
        self.fc1, self.fc2 = M.LinearRelu(4, 8), M.Linear(8, 3)

    def forward(self, x):
        y = self.c1(self.quant(x))
        y = self.c3(self.add(self.c2(y), y))
        y = F.flatten(self.gap(self.mp(y)), 1)
        return self.dequant(self.fc2(self.fc1(y)))


def data(n=16, seed=0):
    rng = np.random.default_rng(seed)
    return Tensor(rng.normal(size=(n, 2, 6, 6)).astype(np.float32)), \
        Tensor(rng.integers(0, 3, n).astype(np.int32))


def trained_float_net():
    tl.random.seed(0)
    net = Net()
    x, y = data()
    opt = tl.optimizer.SGD(net.parameters(), 0.05, momentum=0.9)
    gm = GradManager().attach(net.parameters())
    for _ in range(5):                        # non-trivial BN statistics and weights
        with gm:
            gm.backward(F.nn.cross_entropy(net(x), y))
        opt.step().clear_grad()
    net.eval()
    return net


def calibrated(net, qconfig=Q.calibration_qconfig):
    model = Q.quantize_qat(net, inplace=False, qconfig=qconfig)
    model.eval()
    Q.enable_observer(model)
    model(data()[0])
    return model


def test_quantize_qat_swaps_layers_and_shares_parameters():
    net = Net()
    w = net.c1.conv.weight
    Q.quantize_qat(net)
    assert isinstance(net.c1, Q.qat.ConvBnRelu2d) and isinstance(net.add, Q.qat.Elemwise)
    assert isinstance(net.quant, Q.qat.QuantStub) and isinstance(net.fc1, Q.qat.LinearRelu)
    assert net.c1.conv.weight is w                                    # shared, not copied
    assert isinstance(net.c1.act_observer, Q.ExponentialMovingAverageObserver)   # the default
    assert isinstance(net.c1.weight_fake_quant, Q.FakeQuantize)
    assert net.c1.weight_fake_quant.dtype.name == "qint8_narrow"
    assert net.dequant.act_observer is None
    assert isinstance(net.mp, M.MaxPool2d)                             # not quantizable


def test_disable_quantize_keeps_a_layer_float():
    net = Net()
    Q.disable_quantize(net.fc2)
    Q.quantize_qat(net)
    assert type(net.fc2) is M.Linear and type(net.fc1) is Q.qat.LinearRelu


def test_qat_model_trains_and_its_outputs_are_on_the_grid():
    net = Net()
    Q.quantize_qat(net, qconfig=Q.ema_fakequant_per_channel_qconfig)
    x, y = data()
    gm = GradManager().attach(net.parameters())
    with gm:
        gm.backward(F.nn.cross_entropy(net(x), y))
    assert all(p.grad is not None for p in net.parameters())
    net.eval()
    out = net.fc2(net.fc1(Tensor(np.random.default_rng(0).normal(size=(4, 4)).astype(np.float32))))
    s = float(net.fc2.get_activation_qparams().scale)
    np.testing.assert_allclose(out.numpy() / s, np.round(out.numpy() / s), atol=1e-3)
    assert net.c1.get_weight_qparams().scale.shape == (4, 1, 1, 1)     # per channel


def test_fold_conv_bn_equals_conv_then_bn_in_eval():
    net = trained_float_net()
    x = net.quant(data()[0])
    want = net.c2.bn(net.c2.conv(net.c1(x))).numpy()
    folded = Q.fuse_conv_bn_eval(net.c2.conv, net.c2.bn)
    np.testing.assert_allclose(folded(net.c1(x)).numpy(), want, rtol=1e-4, atol=1e-5)


def test_qat_conv_bn_without_fake_quant_equals_float_in_eval_and_train():
    net = trained_float_net()
    x = data()[0]
    want_eval = net(x).numpy()
    model = Q.quantize_qat(net, inplace=False)
    Q.disable_fake_quant(model)
    model.eval()
    np.testing.assert_allclose(model(x).numpy(), want_eval, rtol=1e-4, atol=1e-5)
    net.train(), model.train()                 # the approx scheme: batch statistics in training
    np.testing.assert_allclose(model(x).numpy(), net(x).numpy(), rtol=1e-4, atol=1e-4)


def test_calibration_then_quantize_gives_int8_layers_close_to_float():
    net = trained_float_net()
    x = data()[0]
    want = net(x).numpy()
    model = Q.quantize(calibrated(net))
    assert isinstance(model.c1, Q.quantized.Conv2d) and model.c1.weight.dtype == np.int8
    assert isinstance(model.mp, Q.quantized.MaxPool2d)
    got = model(x).numpy()
    assert np.abs(got - want).max() < 0.05 * np.abs(want).max()
    assert (got.argmax(1) == want.argmax(1)).mean() >= 0.9


def test_integer_model_matches_the_fake_quantized_model():
    """The QAT model (fake quantization, min/max observers frozen) and the integer model it
    becomes compute the same numbers up to a step or two of the last layer's grid."""
    net = trained_float_net()
    model = Q.quantize_qat(net, inplace=False, qconfig=Q.min_max_fakequant_qconfig)
    model.eval()
    Q.enable_observer(model)
    x = data()[0]
    model(x)
    Q.disable_observer(model)
    fake = model(x).numpy()
    integer = Q.quantize(model, inplace=False)(x).numpy()
    step = float(model.fc2.get_activation_qparams().scale)
    assert np.abs(integer - fake).max() <= 3 * step


def test_quantized_conv_is_the_integer_formula():
    """acc = Σ q_x q_w + round(b / (s_x s_w)) in int32, q_y = clip(round(acc s_x s_w / s_y))."""
    net = trained_float_net()
    model = Q.quantize(calibrated(net, Q.calibration_per_channel_qconfig))
    qx = model.quant(data()[0])
    conv = model.c3                                                     # 1x1 ConvRelu2d
    q_in = model.add(model.c2(model.c1(qx)), model.c1(qx))
    s_x, s_w = dtype.get_scale(q_in.dtype), conv.weight_scale.numpy().astype(np.float64)
    acc = np.einsum("nchw,oc->nohw", q_in.numpy().astype(np.int64),
                    conv.weight.numpy()[:, :, 0, 0].astype(np.int64))
    acc += np.rint(conv.bias.numpy() / (s_x * s_w)).astype(np.int64).reshape(1, -1, 1, 1)
    s_y = dtype.get_scale(conv.output_dtype)
    want = np.clip(np.rint(acc * (s_x * s_w / s_y).reshape(1, -1, 1, 1)), 0, 127)
    got = conv(q_in)
    np.testing.assert_array_equal(got.numpy(), want)
    assert dtype.get_scale(got.dtype) == s_y and got.dtype == np.int8


def test_quantized_modules_refuse_training():
    model = Q.quantize(calibrated(trained_float_net()))
    assert list(model.parameters()) == []                   # nothing for an optimizer
    model.train()
    with pytest.raises(ValueError, match="only runs inference"):
        model(data()[0])
    with pytest.raises(ValueError, match="only runs inference"):
        model.c1(model.quant(data()[0]))


def test_quantized_layer_rejects_float_input_with_a_clear_message():
    model = Q.quantize(calibrated(trained_float_net()))
    with pytest.raises(ValueError, match="expected a quantized .* put a QuantStub"):
        model.c1(data()[0])


def test_quantize_needs_observed_scales():
    model = Q.quantize_qat(Net(), inplace=False, qconfig=Q.calibration_qconfig)
    with pytest.raises(RuntimeError, match="no data observed"):
        Q.quantize(model)


def test_enable_disable_fake_quant():
    model = calibrated(trained_float_net(), Q.min_max_fakequant_qconfig)
    Q.disable_observer(model)
    x = data()[0]
    fake = model(x).numpy()
    Q.disable_fake_quant(model)
    plain = model(x).numpy()
    Q.enable_fake_quant(model)
    np.testing.assert_array_equal(model(x).numpy(), fake)
    assert not np.array_equal(fake, plain)


def test_quantized_model_is_a_quarter_of_the_size():
    net = trained_float_net()
    big = Q.report.model_size(net)
    small = Q.report.model_size(Q.quantize(calibrated(net)))
    assert small < 0.45 * big              # int8 weights; float biases and scales stay


def test_fixed_point_model_int16_is_closer_than_int8():
    net = trained_float_net()
    x = data()[0]
    want = net(x).numpy()
    errors = {n: np.abs(Q.report.fixed_point_model(net, n, [x.numpy()])(x).numpy() - want).max()
              for n in (8, 16)}
    assert errors[16] < errors[8] / 20 and errors[8] < 0.1 * np.abs(want).max()


@pytest.mark.parametrize("qconfig", [Q.calibration_qconfig, Q.calibration_per_channel_qconfig],
                         ids=["per-tensor", "per-group"])
def test_grouped_conv_bn_quantizes(qconfig):
    """A grouped ConvBnRelu2d (weight (G, O/G, C/G, kh, kw)): folded, int8, close to float."""
    tl.random.seed(1)
    net = M.Sequential(M.QuantStub(), M.ConvBnRelu2d(4, 6, 3, padding=1, groups=2),
                       M.DequantStub())
    x = data()[0]
    x = Tensor(np.concatenate([x.numpy(), x.numpy()], axis=1))
    net(x)                                          # BN statistics from one training batch
    net.eval()
    want = net(x).numpy()
    model = Q.quantize_qat(net, inplace=False, qconfig=qconfig)
    model.eval()
    Q.enable_observer(model)
    model(x)
    Q.quantize(model)
    conv = model[1]
    assert conv.weight.shape == (6, 2, 3, 3) and conv.weight_scale.shape == (6,)
    assert np.abs(model(x).numpy() - want).max() < 0.03 * np.abs(want).max()


def test_qint4_layers_stay_in_the_4_bit_range():
    net = trained_float_net()
    model = Q.quantize(calibrated(net, Q.ema_lowbit_fakequant_qconfig))
    q = model.c1(model.quant(data()[0]))
    assert dtype.quantized_range(q.dtype) == (-8, 7)
    assert 0 <= q.numpy().min() and q.numpy().max() <= 7 and q.numpy().max() > 3   # ReLU, used
