"""Datasets: the protocols (``Dataset``, ...) and the course's data with download and caching.

Files live in the data home: ``root=`` if given, else ``$TUTORLIB_DATA``, else
``~/.cache/tutorlib`` (see ``storage``). Images are HWC uint8 and labels int32, as MegEngine;
CIFAR10 and ImageFolder images are BGR (``to_rgb`` flips them for display).

>>> from tutorlib.data.dataset import MNIST, CIFAR10, to_rgb
>>> MNIST.folder, CIFAR10.folder
('mnist', 'cifar10')
"""
from ..download import CorruptFileError, DownloadError
from .california import CaliforniaHousing, housing_features
from .cifar import CIFAR10, to_rgb
from .folder import ImageFolder, read_image
from .meta import ArrayDataset, ConcatDataset, Dataset, StreamDataset, SupervisedDataset
from .mnist import MNIST, FashionMNIST, read_idx
from .storage import MissingDataError, data_home, dataset_folder

__all__ = [
           "CIFAR10",
           "MNIST",
           "ArrayDataset",
           "CaliforniaHousing",
           "ConcatDataset",
           "CorruptFileError",
           "Dataset",
           "DownloadError",
           "FashionMNIST",
           "ImageFolder",
           "MissingDataError",
           "StreamDataset",
           "SupervisedDataset",
           "data_home",
           "dataset_folder",
           "housing_features",
           "read_idx",
           "read_image",
           "to_rgb",
]
