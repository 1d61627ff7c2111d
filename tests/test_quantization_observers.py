"""Observers' qparams against MegEngine's formulas (reference §1.8), computed by hand."""
import numpy as np
import pytest

import tutorlib.module as M
from tutorlib import Tensor, dtype
from tutorlib.quantization import (
    ExponentialMovingAverageObserver,
    HistogramObserver,
    MinMaxObserver,
    QuantMode,
    disable_observer,
    enable_observer,
)


def scale_of(obs):
    return np.asarray(obs.get_qparams().scale, np.float64)


def test_symmetric_qint8_divides_by_127_5_and_narrow_by_127():
    x = np.array([-2.0, 0.3, 1.0])
    wide, narrow = MinMaxObserver(dtype="qint8"), MinMaxObserver(dtype="qint8_narrow")
    wide(x), narrow(x)
    assert scale_of(wide) == pytest.approx(2.0 / 127.5)
    assert scale_of(narrow) == pytest.approx(2.0 / 127)
    assert float(wide.get_qparams().zero_point) == 0


def test_range_is_widened_to_contain_zero_and_scale_is_at_least_eps():
    pos = MinMaxObserver(mode=QuantMode.ASYMMERTIC, dtype="quint8")
    pos(np.array([2.0, 4.0]))                      # min -> 0: scale 4/255, zero point 0
    qp = pos.get_qparams()
    assert float(qp.scale) == pytest.approx(4 / 255) and float(qp.zero_point) == 0
    zeros = MinMaxObserver(eps=1e-5)
    zeros(np.zeros(3))
    assert scale_of(zeros) == pytest.approx(1e-5)


def test_asymmetric_quint8_by_hand():
    """[-1, 3]: scale = 4/255, zero point = 0 - round(-1 / (4/255)) = round(63.75) = 64."""
    obs = MinMaxObserver(mode=QuantMode.ASYMMERTIC, dtype="quint8")
    obs(np.array([-1.0, 3.0]))
    qp = obs.get_qparams()
    assert float(qp.scale) == pytest.approx(4 / 255)
    assert float(qp.zero_point) == 64


def test_asymmetric_qint8_zero_point_is_shifted_by_qmin():
    obs = MinMaxObserver(mode=QuantMode.ASYMMERTIC, dtype="qint8")
    obs(np.array([-1.0, 3.0]))
    assert float(obs.get_qparams().zero_point) == -128 + 64


def test_minmax_keeps_the_running_extremes():
    obs = MinMaxObserver()
    obs(np.array([-1.0, 1.0])), obs(np.array([0.5, 3.0])), obs(np.array([-0.1]))
    assert (float(obs.min_val.numpy()), float(obs.max_val.numpy())) == (-1.0, 3.0)


def test_ema_copies_the_first_batch_then_averages():
    obs = ExponentialMovingAverageObserver(momentum=0.9)
    obs(np.array([-2.0, 1.0]))
    assert (float(obs.min_val.numpy()), float(obs.max_val.numpy())) == (-2.0, 1.0)
    obs(np.array([-1.0, 5.0]))
    assert float(obs.min_val.numpy()) == pytest.approx(0.9 * -2 + 0.1 * -1)
    assert float(obs.max_val.numpy()) == pytest.approx(0.9 * 1 + 0.1 * 5)
    assert scale_of(obs) == pytest.approx(1.9 / 127.5)


def test_per_channel_scales_follow_each_output_channel():
    w = np.zeros((3, 2, 1, 1))
    w[0], w[1], w[2] = 1.0, -4.0, 0.25
    obs = MinMaxObserver(dtype="qint8_narrow", ch_axis=0)
    obs(w)
    s = obs.get_qparams().scale
    assert s.shape == (3, 1, 1, 1)
    np.testing.assert_allclose(s.ravel(), [1 / 127, 4 / 127, 0.25 / 127], rtol=1e-6)
    ema = ExponentialMovingAverageObserver(ch_axis=0)
    ema(w), ema(2 * w)
    np.testing.assert_allclose(ema.get_qparams().scale.ravel(),
                               np.array([1, 4, 0.25]) * 1.1 / 127.5, rtol=1e-6)


def test_histogram_clips_a_long_tail_and_keeps_a_uniform_range():
    rng = np.random.default_rng(0)
    tail = HistogramObserver()
    for _ in range(3):                                 # the range grows batch by batch
        tail(rng.laplace(size=20000) * rng.uniform(1, 2))
    absmax = max(-float(tail.min_val.numpy()), float(tail.max_val.numpy()))
    assert scale_of(tail) * 127.5 < 0.9 * absmax
    uniform = HistogramObserver()
    uniform(rng.uniform(-1, 1, 50000))
    assert scale_of(uniform) * 127.5 == pytest.approx(1.0, abs=0.02)
    assert tail.histogram.numpy().sum() == pytest.approx(60000, rel=1e-6)   # no count lost


def test_histogram_asymmetric_range_covers_the_bulk():
    obs = HistogramObserver(mode=QuantMode.ASYMMERTIC, dtype="quint8")
    obs(np.random.default_rng(1).uniform(-1, 3, 50000))
    qp = obs.get_qparams()
    assert float(qp.scale) * 255 == pytest.approx(4.0, rel=0.03)
    assert float(qp.zero_point) == pytest.approx(64, abs=2)


def test_train_enables_eval_disables_and_enable_observer_overrides():
    net = M.Sequential(M.Identity())
    net.obs = MinMaxObserver()
    net.eval()
    net.obs(np.array([5.0]))
    assert net.obs.min_val is None                      # disabled in eval
    enable_observer(net)
    net.obs(np.array([5.0]))
    assert float(net.obs.max_val.numpy()) == 5.0        # calibration in eval mode
    disable_observer(net)
    net.obs(np.array([9.0]))
    net.train()
    net.obs(Tensor([7.0]))
    assert float(net.obs.max_val.numpy()) == 7.0


def test_no_data_no_scale():
    with pytest.raises(RuntimeError, match="no data observed"):
        MinMaxObserver().get_qparams()


def test_quantized_dtypes_carry_scale_and_zero_point():
    assert dtype.quantized_range(dtype.qint8(1.0)) == (-128, 127)
    assert dtype.quantized_range(dtype.qint8_narrow(1.0)) == (-127, 127)
    assert dtype.quantized_range(dtype.qint4(1.0)) == (-8, 7)
    assert dtype.quantized_range(dtype.quint4(1.0, 3)) == (0, 15)
    assert dtype.quantized_range(dtype.qint32(1.0)) == (-2 ** 31, 2 ** 31 - 1)
    q = dtype.convert_to_quantized(np.array([0.0, 1.0, -1.0]), dtype.quint8(0.5, 128))
    assert q.dtype == np.uint8 and q.tolist() == [128, 130, 126]
    assert dtype.get_zero_point(q.dtype) == 128 and dtype.get_scale(q.dtype) == 0.5
    assert dtype.convert_from_quantized(q).tolist() == [0.0, 1.0, -1.0]
    assert dtype.convert_to_quantized(np.array([99.0]), dtype.qint4(1.0)).tolist() == [7]
    with pytest.raises(ValueError, match="zero_point 300"):
        dtype.quint8(0.1, 300)
    with pytest.raises(ValueError, match="not a quantized dtype"):
        dtype.get_scale(np.dtype("int8"))
