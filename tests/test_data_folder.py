"""ImageFolder: class folders of image files, read with Pillow as BGR uint8."""
import numpy as np
import pytest
from PIL import Image

import tutorlib.data.transform as T
from tutorlib.data import DataLoader, SequentialSampler
from tutorlib.data.dataset import ImageFolder


@pytest.fixture
def folder(tmp_path):
    colours = {"cat": (255, 0, 0), "dog": (0, 255, 0), "emu": (0, 0, 255)}
    for i, (name, rgb) in enumerate(colours.items()):
        (tmp_path / name).mkdir()
        Image.new("RGB", (8 + i, 6), rgb).save(tmp_path / name / "a.png")
        Image.new("L", (5, 5), 200).save(tmp_path / name / "b.jpg")
        (tmp_path / name / "notes.txt").write_text("not an image")
    return tmp_path


def test_classes_labels_and_bgr_images(folder):
    ds = ImageFolder(folder)
    assert ds.classes == ["cat", "dog", "emu"] and len(ds) == 6
    image, label = ds[0]
    assert image.shape == (6, 8, 3) and image.dtype == np.uint8
    assert image[0, 0].tolist() == [0, 0, 255]  # red, stored B, G, R
    assert label == 0 and label.dtype == np.int32
    grey, _ = ds[1]
    assert grey.shape == (5, 5, 3) and np.all(grey == 200)
    assert [int(ds[i][1]) for i in range(6)] == [0, 0, 1, 1, 2, 2]


def test_class_name_and_valid_func(folder):
    ds = ImageFolder(folder, check_valid_func=lambda p: p.endswith(".png"), class_name=True)
    assert len(ds) == 3 and ds[2][2] == "emu"


def test_loader_with_resize(folder):
    ds = ImageFolder(folder)
    loader = DataLoader(ds, SequentialSampler(ds, batch_size=3),
                        transform=T.Compose([T.Resize((4, 4)), T.ToMode("CHW")]))
    images, labels = next(iter(loader))
    assert images.shape == (3, 3, 4, 4) and labels.tolist() == [0, 0, 1]


def test_empty_or_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no images"):
        ImageFolder(tmp_path)
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        ImageFolder(tmp_path / "nope")
