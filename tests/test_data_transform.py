"""Transforms: MegEngine semantics, seeded randomness, and stacked == per-sample application."""
import numpy as np
import pytest

import tutorlib.data.transform as T
from tutorlib.data import ArrayDataset, Collator, DataLoader, RandomSampler
from tutorlib.data.transform.functional import resize

QUICK_START = [T.Normalize(0.1307 * 255, 0.3081 * 255), T.Pad(2), T.ToMode("CHW")]
CIFAR_MEAN, CIFAR_STD = [113.865, 122.950, 125.307], [66.705, 62.089, 62.993]


def images(n=16, h=32, w=32, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, c), dtype=np.uint8)


def pipelines():
    """Each transform (and two pipelines), built fresh with fixed seeds."""
    return {
        "normalize": lambda: T.Normalize(CIFAR_MEAN, CIFAR_STD),
        "normalize-scalar": lambda: T.Normalize(33.3, 78.6),
        "pad": lambda: T.Pad((1, 2, 3, 4), value=[1, 2, 3]),
        "pad-float": lambda: T.Pad(2, value=0.5),
        "tomode": lambda: T.ToMode("CHW"),
        "resize": lambda: T.Resize((20, 40)),
        "resize-nearest": lambda: T.Resize(16, interpolation="nearest"),
        "centercrop": lambda: T.CenterCrop((20, 24)),
        "randomcrop": lambda: T.RandomCrop(32, padding_size=4, seed=1),
        "randomcrop-grow": lambda: T.RandomCrop(36, seed=1),
        "randomresizedcrop": lambda: T.RandomResizedCrop(24, seed=2),
        "hflip": lambda: T.RandomHorizontalFlip(seed=3),
        "vflip": lambda: T.RandomVerticalFlip(seed=3),
        "colorjitter": lambda: T.ColorJitter(0.4, 0.4, 0.4, 0.1, seed=4),
        "lighting": lambda: T.Lighting(0.1, seed=5),
        "quick-start": lambda: T.Compose(QUICK_START),
        "cifar-augment": lambda: T.Compose([
            T.RandomCrop(32, padding_size=4, seed=6), T.RandomHorizontalFlip(seed=7),
            T.Normalize(CIFAR_MEAN, CIFAR_STD), T.ToMode("CHW")]),
    }


@pytest.mark.parametrize("name", list(pipelines()))
def test_stacked_equals_per_sample(name):
    make = pipelines()[name]
    x = images()
    labels = np.arange(len(x), dtype=np.int32)
    per_sample = make().apply_batch(list(zip(x, labels)))
    expected = Collator().apply(list(per_sample))
    got = make().apply_stacked((x, labels))
    assert got[0].dtype == expected[0].dtype and got[0].shape == expected[0].shape
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], labels)
    bare = make().apply_stacked(x)  # a bare stack of images works too
    np.testing.assert_array_equal(bare, expected[0])


@pytest.mark.parametrize("seed", [0, 1])
def test_dataloader_fast_path_equals_per_sample_path(seed):
    ds = ArrayDataset(images(50, seed=seed), np.arange(50, dtype=np.int32))
    make = pipelines()["cifar-augment"]
    fast = DataLoader(ds, RandomSampler(ds, batch_size=16, seed=seed), transform=make())
    slow = DataLoader(ds, RandomSampler(ds, batch_size=16, seed=seed), transform=make(),
                      collator=Collator())
    for _ in range(2):  # two epochs
        for (xf, yf), (xs, ys) in zip(fast, slow, strict=True):
            np.testing.assert_array_equal(xf, xs)
            np.testing.assert_array_equal(yf, ys)


def test_quick_start_sample_and_label():
    image, label = T.Compose(QUICK_START).apply((images(1, 28, 28, 1)[0], np.int32(7)))
    assert image.shape == (1, 32, 32) and image.dtype == np.float32 and label == 7
    assert np.all(image[:, :2] == 0) and np.all(image[:, :, -2:] == 0)  # padded after Normalize


def test_normalize_values_and_dtype():
    out = T.Normalize([1, 2, 3], [2, 4, 8]).apply(np.full((1, 1, 3), 9, np.uint8))
    np.testing.assert_array_equal(out, [[[4, 1.75, 0.75]]])
    assert out.dtype == np.float32
    features = np.arange(8, dtype=np.float64)
    assert T.Normalize(2.0, 4.0).apply(features).dtype == np.float64


def test_vision_transform_order_and_passthrough():
    image = images(1, 4, 4, 1)[0]
    out = T.RandomHorizontalFlip(prob=1.0, seed=0, order=("image", "image_category")).apply(
        (image, 3, "extra"))
    np.testing.assert_array_equal(out[0], image[:, ::-1])
    assert out[1:] == (3, "extra")
    with pytest.raises(ValueError, match="unsupported order"):
        T.Pad(1, order=("image", "boxes"))


def test_pad_forms():
    x = np.ones((2, 3, 1), np.uint8)
    assert T.Pad((1, 2)).apply(x).shape == (3, 5, 1)  # (bottom, right)
    out = T.Pad((1, 0, 2, 0), value=7).apply(x)  # (top, bottom, left, right)
    assert out.shape == (3, 5, 1) and out[0, 0, 0] == 7 and out[1, 2, 0] == 1
    assert T.Pad(1, value=0.5).apply(x).dtype == np.float32


def test_resize_and_crops_follow_megengine_sizes():
    x = images(1, 30, 60, 3)[0]
    assert T.Resize(15).apply(x).shape == (15, 30, 3)  # shorter side
    assert T.Resize((10, 12)).apply(x).shape == (10, 12, 3)
    assert T.CenterCrop(10).apply(x).shape == (10, 10, 3)
    np.testing.assert_array_equal(T.CenterCrop((30, 20)).apply(x), x[:, 20:40])
    with pytest.raises(ValueError, match="larger than"):
        T.CenterCrop(40).apply(x)


def test_linear_resize_values():
    row = np.array([[0, 100]], np.uint8)[..., None]
    np.testing.assert_array_equal(resize(row, (1, 4))[..., 0], [[0, 25, 75, 100]])
    np.testing.assert_array_equal(resize(row, (1, 4), "nearest")[..., 0], [[0, 0, 100, 100]])
    same = images(1)[0]
    assert resize(same, (32, 32)) is same


def test_random_crop_covers_every_offset():
    x = np.arange(1, 17, dtype=np.uint8).reshape(4, 4, 1)
    crop = T.RandomCrop(2, padding_size=1, seed=0)
    crops = [crop.apply(x) for _ in range(400)]
    assert {c.shape for c in crops} == {(2, 2, 1)}
    # padded to 6x6 with zeros: windows start at 0..4 in each direction, so the top-left value
    # is the padding (0) or any of the 16 pixels, and the bottom-right is 0 or any pixel too
    assert {int(c[0, 0, 0]) for c in crops} == set(range(17))
    assert {int(c[1, 1, 0]) for c in crops} == set(range(17))


def test_flip_probability_and_seed():
    x = images(200, 2, 2, 1)
    flipped = T.RandomHorizontalFlip(prob=0.5, seed=0).apply_stacked(x)
    rate = np.mean([not np.array_equal(a, b) for a, b in zip(flipped, x)])
    assert 0.3 < rate < 0.7
    np.testing.assert_array_equal(T.RandomHorizontalFlip(prob=0.0).apply(x[0]), x[0])
    again = T.RandomHorizontalFlip(prob=0.5, seed=0).apply_stacked(x)
    np.testing.assert_array_equal(again, flipped)


def test_reseed_gives_the_same_stream():
    t = T.RandomCrop(28, padding_size=4, seed=9)
    x = images(8)
    t.reseed(1, 2)
    first = t.apply_stacked(x)
    t.reseed(1, 3)
    other = t.apply_stacked(x)
    t.reseed(1, 2)
    np.testing.assert_array_equal(t.apply_stacked(x), first)
    assert not np.array_equal(first, other)


def test_unseeded_transforms_follow_the_global_seed():
    import tutorlib.random
    tutorlib.random.seed(3)
    a = T.RandomCrop(20, seed=None).apply_stacked(images(4))
    tutorlib.random.seed(3)
    np.testing.assert_array_equal(T.RandomCrop(20).apply_stacked(images(4)), a)


def test_color_transforms():
    grey = np.full((4, 4, 3), 100, np.uint8)
    np.testing.assert_array_equal(T.HueTransform(0.5, seed=0).apply(grey), grey)
    np.testing.assert_array_equal(T.SaturationTransform(0.9, seed=0).apply(grey), grey)
    np.testing.assert_array_equal(T.ColorJitter().apply(grey), grey)  # all off: identity
    bright = T.BrightnessTransform(0.5, seed=0).apply(grey)
    assert bright.dtype == np.uint8 and 50 <= bright[0, 0, 0] <= 150
    x = images(1)[0]
    assert not np.array_equal(T.HueTransform(0.5, seed=1).apply(x), x)
    with pytest.raises(ValueError, match="hue"):
        T.ColorJitter(hue=0.6)


def test_lighting_adds_one_colour_shift_per_image():
    grey = np.full((4, 4, 3), 128, np.uint8)
    shift = T.Lighting(1.0, seed=0).apply(grey).astype(int) - 128
    assert np.all(shift == shift[0, 0]) and np.any(shift != 0)  # same shift for every pixel
    with pytest.raises(ValueError, match="3-channel"):
        T.Lighting(0.1, seed=0).apply(images(1, c=1)[0])


def test_custom_apply_override_is_respected_by_apply_stacked():
    class AddOne(T.VisionTransform):
        def apply(self, input):
            image, label = input
            return image + 1, label + 1

    x, labels = images(3), np.arange(3, dtype=np.int32)
    out_x, out_y = AddOne().apply_stacked((x, labels))
    np.testing.assert_array_equal(out_x, x + 1)
    np.testing.assert_array_equal(out_y, labels + 1)
