"""The MegEngine fit-a-line example reproduces its published table (MegEngine/Documentation,
examples/beginner/megengine-basic-fit-line.py)."""
import numpy as np
import pytest

from tutorlib.examples import fit_line

PUBLISHED = [  # epoch, w, b, loss
    (0, 3.486, -0.005, 871.968),
    (1, 4.508, 0.019, 86.077),
    (2, 4.808, 0.053, 18.446),
    (3, 4.897, 0.088, 12.515),
    (4, 4.923, 0.123, 11.888),
]


def test_data_matches_the_original_generator():
    x, y = fit_line.generate_data()
    assert x.shape == y.shape == (100,)
    assert x.min() >= -10 and x.max() < 10
    residual = y - (5 * x + 2)
    assert np.abs(residual).max() <= 5
    # the original draws x and the noise interleaved, point by point
    np.random.seed(20200325)
    assert x[0] == np.random.uniform(-10, 10)
    assert residual[0] == pytest.approx(np.random.uniform(-5, 5))


def test_prints_the_published_table(capsys):
    history = fit_line.train(*fit_line.generate_data())
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 5
    for line, (epoch, w, b, loss) in zip(lines, PUBLISHED):
        assert line.startswith(f"Epoch = {epoch}, w = {w:.3f}, b = {b:.3f}, loss = ")
        printed_loss = float(line.rsplit("= ", 1)[1])
        assert abs(printed_loss - loss) <= 0.002
    assert [h[0] for h in history] == [0, 1, 2, 3, 4]
