"""California housing (1990 census block groups), in scikit-learn's 8-feature form."""
from __future__ import annotations

import os

import numpy as np

from ..download import (
    DEFAULT_TIMEOUT,
    CorruptFileError,
    extract_members,
)
from .meta import SupervisedDataset
from .storage import dataset_folder, fetch_or_explain, missing_files, missing_message


def housing_features(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's transform of the 9 raw columns into (8 features, target).

    Raw columns: longitude, latitude, housingMedianAge, totalRooms, totalBedrooms, population,
    households, medianIncome, medianHouseValue. Features: MedInc, HouseAge, AveRooms (rooms per
    household), AveBedrms, Population, AveOccup (people per household), Latitude, Longitude.
    Target: medianHouseValue / 100000.

    >>> row = np.array([[-122.23, 37.88, 41, 880, 129, 322, 126, 8.3252, 452600.0]])
    >>> features, target = housing_features(row)
    >>> features.round(4).tolist(), target.tolist()
    ([[8.3252, 41.0, 6.9841, 1.0238, 322.0, 2.5556, 37.88, -122.23]], [4.526])
    """
    lon, lat, age, rooms, bedrooms, population, households, income, value = raw.T
    features = np.stack([income, age, rooms / households, bedrooms / households, population,
                         population / households, lat, lon], axis=1)
    return features, value / 100000.0


class CaliforniaHousing(SupervisedDataset):
    """California housing: 20640 block groups, 8 float32 features and the median house value.

    A sample is ``(features (8,) float32, target float32)``; the target is in units of
    $100,000. ``.data`` (20640, 8) and ``.targets`` (20640,) hold everything; the columns are
    named by ``feature_names``. There is no train/test split: make your own.

    File: ``california-housing/CaliforniaHousing/cal_housing.data`` in the data home; if missing
    it is extracted from scikit-learn's ``cal_housing.tgz`` (downloaded from ``mirrors`` and
    checked against ``checksum``).

    >>> CaliforniaHousing.feature_names[:3]
    ('MedInc', 'HouseAge', 'AveRooms')
    >>> housing = CaliforniaHousing()           # doctest: +SKIP
    >>> housing.data.shape, housing.targets[0]  # doctest: +SKIP
    ((20640, 8), np.float32(4.526))
    """

    folder = "california-housing"
    member = "CaliforniaHousing/cal_housing.data"
    archive = "cal_housing.tgz"
    remote_name = "5976036"
    checksum = "sha256:aaa5c9a6afe2225cc2aed2723682ae403280c4a3695a2ddda4ffb5d8215ea681"
    mirrors = ("https://ndownloader.figshare.com/files/",)
    feature_names = ("MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "AveOccup",
                     "Latitude", "Longitude")
    target_name = "MedHouseVal"

    def __init__(self, root=None, download=True, timeout=DEFAULT_TIMEOUT, *, mirrors=None):
        self.root = dataset_folder(root, self.folder)
        path = os.path.join(self.root, *self.member.split("/"))
        self._fetch(path, list(mirrors or self.mirrors), download, timeout)
        features, target = housing_features(self._read(path))
        super().__init__(features.astype(np.float32), target.astype(np.float32))

    @staticmethod
    def _read(path):
        with open(path, "rb") as f:
            text = f.read()
        try:
            if not text.endswith(b"\n"):
                raise ValueError("it does not end with a newline")
            raw = np.loadtxt(text.decode("ascii").splitlines(), delimiter=",", ndmin=2)
            if raw.shape[1] != 9 or not np.isfinite(raw).all():
                raise ValueError(f"expected 9 finite numbers per row, got shape {raw.shape}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise CorruptFileError(f"{path} is corrupt or truncated ({exc}); delete it and "
                                   "download or copy it again") from exc
        return raw

    def _fetch(self, path, mirrors, download, timeout):
        if not missing_files(self.root, [self.member]):
            return
        urls = [m + self.remote_name for m in mirrors]
        message = missing_message(
            type(self).__name__, [path],
            f"It is the member {self.member} of {self.archive}, from {' or '.join(urls)} "
            f"({self.checksum}); extract it into {self.root}.")
        archive = os.path.join(self.root, self.archive)
        fetch_or_explain(urls, archive, self.checksum, message, download, timeout)
        try:
            extract_members(archive, {self.member: path})
        finally:
            os.remove(archive)
