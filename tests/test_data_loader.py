"""Samplers, datasets, the collator and the single-process DataLoader (MegEngine semantics)."""
from collections import namedtuple

import numpy as np
import pytest

import tutorlib.data.transform as T
from tutorlib.data import (
    ArrayDataset,
    Collator,
    ConcatDataset,
    DataLoader,
    Infinite,
    RandomSampler,
    ReplacementSampler,
    SequentialSampler,
    StreamDataset,
    StreamSampler,
)


def flat(batches):
    return [i for batch in batches for i in batch]


def test_sequential_sampler_batches_and_len():
    assert list(SequentialSampler(range(7), batch_size=3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(SequentialSampler(range(7), batch_size=3)) == 3
    dropped = SequentialSampler(range(7), batch_size=3, drop_last=True)
    assert list(dropped) == [[0, 1, 2], [3, 4, 5]] and len(dropped) == 2
    assert list(SequentialSampler(range(7), batch_size=2, indices=[5, 1, 3])) == [[5, 1], [3]]


@pytest.mark.parametrize("bad", [0, -1, 2.0, True])
def test_invalid_batch_size(bad):
    with pytest.raises(ValueError, match="batch_size"):
        SequentialSampler(range(4), batch_size=bad)


def test_batch_size_larger_than_dataset_raises():
    with pytest.raises(ValueError, match="larger than"):
        RandomSampler(range(4), batch_size=5)


def test_random_sampler_is_seeded_and_reshuffles_every_epoch():
    sampler = RandomSampler(range(100), batch_size=10, seed=7)
    epochs = [flat(sampler) for _ in range(3)]
    assert all(sorted(e) == list(range(100)) for e in epochs)
    assert epochs[0] != epochs[1] != epochs[2]
    again = RandomSampler(range(100), batch_size=10, seed=7)
    assert [flat(again) for _ in range(3)] == epochs
    # MegEngine draws np.random.RandomState(seed).permutation: same order for the same seed
    assert epochs[0] == np.random.RandomState(7).permutation(100).tolist()


def test_random_sampler_without_seed_follows_global_seed():
    import tutorlib.random
    tutorlib.random.seed(11)
    first = list(RandomSampler(range(50), batch_size=50))
    tutorlib.random.seed(11)
    assert list(RandomSampler(range(50), batch_size=50)) == first
    assert list(RandomSampler(range(50), batch_size=50)) != first


def test_replacement_sampler():
    sampler = ReplacementSampler(range(5), batch_size=4, num_samples=10, seed=0)
    batches = list(sampler)
    assert [len(b) for b in batches] == [4, 4, 2] and len(sampler) == 3
    weighted = ReplacementSampler(range(3), batch_size=5, num_samples=100, weights=[1, 0, 3],
                                  seed=0)
    drawn = flat(weighted)
    assert set(drawn) == {0, 2} and drawn.count(2) > drawn.count(0)
    with pytest.raises(ValueError, match="weights"):
        ReplacementSampler(range(3), weights=[1, 2])


def test_infinite_sampler_keeps_going():
    sampler = Infinite(RandomSampler(range(4), batch_size=3, seed=0))
    it = iter(sampler)
    batches = [next(it) for _ in range(6)]
    assert [len(b) for b in batches] == [3, 1, 3, 1, 3, 1]
    assert len(sampler) == np.iinfo(np.int64).max
    loader = DataLoader(ArrayDataset(np.arange(4)), sampler)
    it = iter(loader)
    assert [next(it)[0].shape for _ in range(5)] == [(3,), (1,), (3,), (1,), (3,)]


def test_datasets():
    ds = ArrayDataset(np.arange(6).reshape(3, 2), [10, 11, 12])
    assert len(ds) == 3 and ds[1][1] == 11 and ds[1][0].tolist() == [2, 3]
    with pytest.raises(ValueError, match="equal length"):
        ArrayDataset(np.zeros(3), np.zeros(4))
    cat = ConcatDataset([ds, ArrayDataset(np.zeros((2, 2)), [20, 21])])
    assert len(cat) == 5 and cat[3][1] == 20 and cat[-1][1] == 21 and cat[2][1] == 12
    with pytest.raises(IndexError):
        cat[5]


def test_get_batch_equals_collated_samples():
    ds = ArrayDataset(np.arange(12.0).reshape(6, 2), np.arange(6, dtype=np.int32), [1, 2, 3, 4, 5, 6])
    stacked = ds.get_batch([4, 0, 2])
    collated = Collator().apply([ds[i] for i in (4, 0, 2)])
    for a, b in zip(stacked, collated, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_collator_follows_megengine():
    c = Collator()
    batch = c.apply([(np.zeros((2, 3), np.uint8), np.int32(1), 0.5, 3, "a")] * 4)
    assert isinstance(batch, list) and batch[0].shape == (4, 2, 3)
    assert batch[1].dtype == np.int32 and batch[2].dtype == np.float64
    assert batch[3].dtype == np.int64 and batch[4] == ["a"] * 4
    assert c.apply([{"x": np.ones(2)}] * 3)["x"].shape == (3, 2)
    Pair = namedtuple("Pair", "a b")
    assert c.apply([Pair(1, 2.0)] * 2).b.tolist() == [2.0, 2.0]


def test_dataloader_defaults_and_len():
    ds = ArrayDataset(np.zeros((20640, 8), np.float32), np.zeros(20640, np.float32))
    assert len(DataLoader(ds, SequentialSampler(ds, batch_size=64))) == 323  # MegEngine's doc
    loader = DataLoader(ArrayDataset(np.arange(3)))  # default: sequential, batch size 1
    assert [[b.tolist() for b in batch] for batch in loader] == [[[0]], [[1]], [[2]]]


def test_dataloader_quick_start_shapes():
    rng = np.random.default_rng(0)
    train = ArrayDataset(rng.integers(0, 256, (200, 28, 28, 1), dtype=np.uint8),
                         rng.integers(0, 10, 200).astype(np.int32))
    transform = T.Compose([T.Normalize(0.1307 * 255, 0.3081 * 255), T.Pad(2), T.ToMode("CHW")])
    loader = DataLoader(train, RandomSampler(train, batch_size=64), transform=transform)
    batches = list(loader)
    images, labels = batches[0]
    assert len(batches) == len(loader) == 4
    assert images.shape == (64, 1, 32, 32) and images.dtype == np.float32
    assert labels.shape == (64,) and labels.dtype == np.int32
    assert batches[-1][0].shape == (8, 1, 32, 32)


class Counting(StreamDataset):
    def __iter__(self):
        return ((np.full(2, i), np.int32(i)) for i in range(7))


def test_stream_dataset_loader():
    loader = DataLoader(Counting(), StreamSampler(batch_size=3))
    batches = list(loader)
    assert [b[1].tolist() for b in batches] == [[0, 1, 2], [3, 4, 5], [6]]
    with pytest.raises(TypeError, match="no length"):
        len(loader)
    with pytest.raises(ValueError, match="StreamSampler"):
        DataLoader(Counting(), SequentialSampler(range(3)))
    with pytest.raises(TypeError):
        Counting()[0]


def test_random_transforms_differ_between_epochs_but_repeat_with_the_seed():
    ds = ArrayDataset(np.random.default_rng(0).integers(0, 256, (8, 8, 8, 3), dtype=np.uint8))

    def epochs(seed):
        loader = DataLoader(ds, SequentialSampler(ds, batch_size=8),
                            transform=T.RandomCrop(6, seed=seed))
        return [next(iter(loader)) for _ in range(2)]

    first, second = epochs(0)
    assert not np.array_equal(first, second)
    again = epochs(0)
    np.testing.assert_array_equal(again[0], first)
    np.testing.assert_array_equal(again[1], second)
