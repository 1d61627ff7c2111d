"""The real datasets from the prepared data folder (``TUTORLIB_DATA``; ``make data`` creates it).

Skipped when the folder is absent, except in CI (``CI=true``), where that is a failure.
"""
import os

import numpy as np
import pytest

import tutorlib.data.transform as T
from tutorlib.data import DataLoader, RandomSampler
from tutorlib.data.dataset import CIFAR10, MNIST, CaliforniaHousing, FashionMNIST


def data_root(folder):
    """``$TUTORLIB_DATA`` if it has ``folder``; otherwise skip (or fail in CI)."""
    root = os.environ.get("TUTORLIB_DATA", "")
    if root and os.path.isdir(os.path.join(root, folder)):
        return root
    message = f"no prepared data: $TUTORLIB_DATA={root!r} has no {folder}/ (run `make data`)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def mnist():
    root = data_root("mnist")
    return MNIST(root, train=True, download=False), MNIST(root, train=False, download=False)


def test_mnist(mnist):
    train, test = mnist
    assert len(train) == 60000 and len(test) == 10000
    image, label = train[0]
    assert image.shape == (28, 28, 1) and image.dtype == np.uint8 and label == 5
    assert train.data.shape == (60000, 28, 28, 1) and train.targets.dtype == np.int32
    assert np.bincount(train.targets).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918,
                                                   6265, 5851, 5949]
    assert np.bincount(test.targets).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028,
                                                  974, 1009]
    assert abs(train.data.mean() - 33.318421449829934) < 1e-9  # MegEngine's example constant


def test_fashion_mnist():
    root = data_root("fashion-mnist")
    train = FashionMNIST(root, train=True, download=False)
    test = FashionMNIST(root, train=False, download=False)
    assert train.data.shape == (60000, 28, 28, 1) and test.data.shape == (10000, 28, 28, 1)
    assert np.bincount(train.targets).tolist() == [6000] * 10
    assert np.bincount(test.targets).tolist() == [1000] * 10


def test_cifar10_is_bgr_with_known_labels():
    root = data_root("cifar10")
    train = CIFAR10(root, train=True, download=False)
    test = CIFAR10(root, train=False, download=False)
    assert train.data.shape == (50000, 32, 32, 3) and test.data.shape == (10000, 32, 32, 3)
    assert train.data.dtype == np.uint8 and train.targets.dtype == np.int32
    assert train.targets[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    assert np.bincount(train.targets).tolist() == [5000] * 10
    assert np.bincount(test.targets).tolist() == [1000] * 10
    # the README's training-set channel means, R/G/B = 125.27/122.93/113.86, in BGR order
    np.testing.assert_allclose(train.data.reshape(-1, 3).mean(0), [113.86, 122.93, 125.27],
                               atol=0.01)


def test_california_housing():
    housing = CaliforniaHousing(data_root("california-housing"), download=False)
    assert housing.data.shape == (20640, 8) and housing.data.dtype == np.float32
    np.testing.assert_allclose(housing.data[0], [8.3252, 41, 6.98412698, 1.02380952, 322,
                                                 2.55555556, 37.88, -122.23], rtol=1e-6)
    assert housing.targets[0] == np.float32(4.526)
    assert abs(housing.targets.astype(np.float64).mean() - 2.0685581690891475) < 1e-6
    assert housing.feature_names == ("MedInc", "HouseAge", "AveRooms", "AveBedrms",
                                     "Population", "AveOccup", "Latitude", "Longitude")


def test_quick_start_pipeline(mnist):
    train, _ = mnist
    transform = T.Compose([T.Normalize(0.1307 * 255, 0.3081 * 255), T.Pad(2), T.ToMode("CHW")])
    loader = DataLoader(train, sampler=RandomSampler(train, batch_size=64), transform=transform)
    assert len(loader) == 938
    images, labels = next(iter(loader))
    assert images.shape == (64, 1, 32, 32) and images.dtype == np.float32
    assert labels.shape == (64,) and labels.dtype == np.int32
    mean = (images[:, :, 2:-2, 2:-2] * 0.3081 * 255 + 0.1307 * 255).mean()
    assert 15 < mean < 60  # raw pixel mean of 64 digits (the whole set's is 33.3)
