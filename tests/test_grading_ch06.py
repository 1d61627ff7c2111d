"""Chapter 6 checks reject plausible wrong answers (mutants) and accept other correct ones."""
import numpy as np
import pytest

from tutorlib.grading import ch06, get, run_check


def passes(exercise_id, answer):
    return bool(run_check(get(exercise_id), answer))


# ---- shortcut_a ---------------------------------------------------------------------------------
def shortcut_with_pad(x, out_channels):
    sub = x[:, :, ::2, ::2]
    return np.pad(sub, ((0, 0), (0, out_channels - x.shape[1]), (0, 0), (0, 0)))


def shortcut_with_loops(x, out_channels):
    n, c, h, w = x.shape
    out = np.zeros((n, out_channels, (h + 1) // 2, (w + 1) // 2), x.dtype)
    for i in range(0, h, 2):
        for j in range(0, w, 2):
            out[:, :c, i // 2, j // 2] = x[:, :, i, j]
    return out


def avg_pool(x):
    """2x2 average pooling with stride 2 (odd sizes: the last row/column repeated), as (N, C, H, W)
    with every second row and column kept, so that the option-A reference keeps the pooled values."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (0, h % 2), (0, w % 2)), mode="edge")
    pooled = xp.reshape(n, c, xp.shape[2] // 2, 2, xp.shape[3] // 2, 2).mean(axis=(3, 5))
    out = np.zeros_like(x)
    out[:, :, ::2, ::2] = pooled
    return out


SHORTCUT_MUTANTS = {
    "odd rows and columns": lambda x, c: ch06._reference_shortcut_a(x[:, :, 1:, 1:], c),
    "zeros before the channels": lambda x, c: np.concatenate(
        [np.zeros((x.shape[0], c - x.shape[1]) + x[:, :, ::2, ::2].shape[2:], x.dtype),
         x[:, :, ::2, ::2]], axis=1),
    "2x2 average pooling": lambda x, c: ch06._reference_shortcut_a(avg_pool(x), c),
    "copies instead of zeros": lambda x, c: np.concatenate(
        [x[:, :, ::2, ::2]] * (c // x.shape[1]), axis=1),
    "float64 output": lambda x, c: ch06._reference_shortcut_a(x, c).astype(np.float64),
}


@pytest.mark.parametrize("answer", [ch06._reference_shortcut_a, shortcut_with_pad,
                                    shortcut_with_loops])
def test_shortcut_a_accepts_correct_answers(answer):
    assert passes("ch06.shortcut_a", answer)


@pytest.mark.parametrize("name", sorted(SHORTCUT_MUTANTS))
def test_shortcut_a_rejects_mutants(name):
    assert not passes("ch06.shortcut_a", SHORTCUT_MUTANTS[name])


# ---- topk_accuracy --------------------------------------------------------------------------------
def topk_argpartition(logits, labels, k):
    top = np.argpartition(-logits, k - 1, axis=1)[:, :k]
    return float((top == labels[:, None]).any(axis=1).mean())


def topk_by_rank(logits, labels, k):
    # the label's rank: how many classes score strictly higher than it
    rank = (logits > logits[np.arange(len(labels)), labels][:, None]).sum(axis=1)
    return float(np.mean(rank < k))


def topk_mean_over_classes(logits, labels, k):
    hits = (np.argsort(-logits, axis=1)[:, :k] == labels[:, None]).any(axis=1)
    return float(np.mean([hits[labels == c].mean() for c in np.unique(labels)]))


TOPK_MUTANTS = {
    "k smallest": lambda z, y, k: ch06._reference_topk(-z, y, k),
    "k + 1": lambda z, y, k: ch06._reference_topk(z, y, k + 1),
    "k - 1": lambda z, y, k: ch06._reference_topk(z, y, max(k - 1, 0)),
    "mean over classes": topk_mean_over_classes,
    "count, not fraction": lambda z, y, k: ch06._reference_topk(z, y, k) * len(y),
}


@pytest.mark.parametrize("answer", [ch06._reference_topk, topk_argpartition, topk_by_rank])
def test_topk_accepts_correct_answers(answer):
    assert passes("ch06.topk_accuracy", answer)


@pytest.mark.parametrize("name", sorted(TOPK_MUTANTS))
def test_topk_rejects_mutants(name):
    assert not passes("ch06.topk_accuracy", TOPK_MUTANTS[name])


# ---- receptive_field and rf_resnet20 --------------------------------------------------------------
def receptive_field_backwards(layers):
    # from the output down: r_prev = s * r + (k - s)
    r = 1
    for kernel, stride in reversed(layers):
        r = stride * r + (kernel - stride)
    return r


def _jump_first(layers):
    rf, jump = 1, 1
    for kernel, stride in layers:
        jump *= stride
        rf += (kernel - 1) * jump
    return rf


RF_MUTANTS = {
    "ignores strides": lambda layers: 1 + sum(k - 1 for k, _ in layers),
    "multiplies the jump first": _jump_first,
    "starts from 0": lambda layers: ch06._reference_receptive_field(layers) - 1,
    "adds k * jump": lambda layers: ch06._reference_receptive_field(
        [(k + 1, s) for k, s in layers]),
}


@pytest.mark.parametrize("answer", [ch06._reference_receptive_field, receptive_field_backwards])
def test_receptive_field_accepts_correct_answers(answer):
    assert passes("ch06.receptive_field", answer)


@pytest.mark.parametrize("name", sorted(RF_MUTANTS))
def test_receptive_field_rejects_mutants(name):
    assert not passes("ch06.receptive_field", RF_MUTANTS[name])


def test_rf_resnet20():
    assert ch06._reference_receptive_field(ch06._RESNET20) == 81
    assert passes("ch06.rf_resnet20", 81) and passes("ch06.rf_resnet20", np.int64(81))
    for wrong in (39, 32, 79, 41, 81.5):   # no strides, the image size, no stem, stage 3 only
        assert not passes("ch06.rf_resnet20", wrong)
