"""tutorlib.hub and tutorlib.models: the CIFAR ResNet, publishing and loading checksummed weights,
and the resumable training script (resume == uninterrupted run, bit for bit).

The training tests use a small array of random images passed in explicitly (``data=``): they
check the mechanics, not accuracy (the chapter and ``python -m tutorlib.hub.evaluate`` do that).
"""
import json
import os
import pickle

import numpy as np
import pytest

import tutorlib as tl
from tutorlib import hub
from tutorlib.hub.publish import publish
from tutorlib.hub.train import RECIPES, Trainer, parse_config
from tutorlib.models import BasicBlock, resnet20
from tutorlib.serialization import MAGIC, LoadError

NAME = "resnet20_cifar10"


def tiny_data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8),
            rng.integers(0, 10, n).astype(np.int32))


def tiny_config(**changes):
    config = dict(RECIPES[NAME], epochs=2, restart_at=0, batch_size=16, val_size=16, train_limit=48)
    config.update(changes)
    return config


def quiet(_):
    pass


# ---- the model ------------------------------------------------------------------------------
def test_resnet20_shapes_and_size():
    tl.random.seed(0)
    model = resnet20()
    model.eval()
    x = tl.Tensor(np.zeros((2, 3, 32, 32), np.float32))
    assert model(x).shape == (2, 10)
    assert model.features(x).shape == (2, 64)
    stages = {k: v.shape for k, v in model.extract_features(x).items()}
    assert stages == {"stem": (2, 16, 32, 32), "layer1": (2, 16, 32, 32),
                      "layer2": (2, 32, 16, 16), "layer3": (2, 64, 8, 8)}
    assert sum(p.size for p in model.parameters()) == 272474   # 0.27 M as in He et al. + B shortcuts
    blocks = [m for m in model.modules() if isinstance(m, BasicBlock)]
    assert len(blocks) == 9
    projections = [b for b in blocks if not isinstance(b.downsample, tl.module.Identity)]
    assert len(projections) == 2   # only where the shape changes (option B)


def test_basic_block_is_identity_plus_residual():
    tl.random.seed(0)
    block = BasicBlock(4, 4)
    block.eval()
    for m in (block.bn2,):
        m.weight._data[...] = 0   # residual branch switched off -> relu(x)
    x = np.random.default_rng(0).normal(size=(2, 4, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(block(tl.Tensor(x)).numpy(), np.maximum(x, 0), atol=1e-6)


def test_zero_init_residual():
    model = resnet20(zero_init_residual=True)
    assert all(float(np.abs(b.bn2.weight.numpy()).max()) == 0.0
               for b in model.modules() if isinstance(b, BasicBlock))


# ---- list / load / checksums ----------------------------------------------------------------
def test_list_and_unknown_name():
    assert NAME in hub.list()
    with pytest.raises(KeyError, match="resnet20_cifar10"):
        hub.load("resnet56_cifar10")


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A tiny training run published into a temporary weights folder."""
    out = tmp_path_factory.mktemp("run")
    trainer = Trainer(NAME, str(out), tiny_config(epochs=1), data=tiny_data(), log=quiet)
    trainer.run()
    root = tmp_path_factory.mktemp("weights")
    record = publish(NAME, str(out / "checkpoint.tl"), str(root), test_data=tiny_data(32, seed=1))
    return root, record, trainer


def test_publish_records_checksum_accuracy_and_state(published):
    root, record, _ = published
    path = root / record["file"]
    assert record["sha256"] == hub.sha256(str(path))
    assert record["epoch"] == 1 and record["epochs"] == 1 and record["final"] is True
    assert record["test_images"] == 32 and 0.0 <= record["test_top1"] <= record["test_top5"] <= 1.0
    assert [row["epoch"] for row in record["history"]] == [1]   # the curve travels with the weights
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest[NAME] == record
    assert "INTERMEDIATE" not in hub.help(NAME, root=str(root))   # a finished run


def test_load_pretrained_gives_the_trained_weights(published):
    root, _, trainer = published
    model = hub.load(NAME, pretrained=True, root=str(root))
    expected = trainer.model.state_dict()
    got = model.state_dict()
    assert list(got) == list(expected)
    assert all(np.array_equal(got[k], expected[k]) for k in got)


def test_weights_file_is_the_safe_format_not_pickle(published):
    root, record, _ = published
    assert (root / record["file"]).read_bytes()[:len(MAGIC)] == MAGIC


def test_checksum_mismatch_is_a_clear_error(published, tmp_path):
    root, record, _ = published
    copy = tmp_path / "weights"
    copy.mkdir()
    for name in (record["file"], "manifest.json"):
        (copy / name).write_bytes((root / name).read_bytes())
    data = bytearray((copy / record["file"]).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / record["file"]).write_bytes(bytes(data))
    with pytest.raises(hub.HubError, match="SHA-256") as info:
        hub.load(NAME, pretrained=True, root=str(copy))
    assert record["file"] in str(info.value) and record["sha256"] in str(info.value)


def test_missing_weights_file_is_a_clear_error(published, tmp_path):
    root, record, _ = published
    (tmp_path / "manifest.json").write_bytes((root / "manifest.json").read_bytes())
    with pytest.raises(hub.HubError, match="missing") as info:
        hub.load(NAME, pretrained=True, root=str(tmp_path))
    assert record["file"] in str(info.value)


def test_unpublished_model_is_a_clear_error(tmp_path):
    with pytest.raises(hub.HubError, match="no pretrained weights.*tutorlib.hub.train"):
        hub.load(NAME, pretrained=True, root=str(tmp_path))


class _Boom:
    def __reduce__(self):
        return (open, ("PWNED", "w"))


def test_a_pickle_is_refused_even_with_a_matching_checksum(tmp_path, monkeypatch):
    """Loading never unpickles: a pickle listed with its true SHA-256 still fails, harmlessly."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "evil.tl").write_bytes(pickle.dumps({"name": NAME, "state_dict": _Boom()}))
    manifest = {NAME: {"file": "evil.tl", "sha256": hub.sha256(str(tmp_path / "evil.tl"))}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(LoadError, match="pickle"):
        hub.load(NAME, pretrained=True, root=str(tmp_path))
    assert not (tmp_path / "PWNED").exists()


def test_shipped_weights_verify_and_load():
    record = hub.info(NAME)
    if record is None:
        pytest.skip("no weights published in the package yet")
    model = hub.load(NAME, pretrained=True)
    assert sum(p.size for p in model.parameters()) == 272474
    text = hub.help(NAME)
    assert f"{record['test_top1']:.2%}" in text
    if not record["final"]:
        assert "INTERMEDIATE" in text and f"epoch {record['epoch']} of {record['epochs']}" in text


# ---- training: curve, checkpoints, resume ---------------------------------------------------
def test_resume_equals_an_uninterrupted_run(tmp_path):
    data = tiny_data()
    straight = Trainer(NAME, str(tmp_path / "a"), tiny_config(), data=data, log=quiet)
    straight.run()
    first = Trainer(NAME, str(tmp_path / "b"), tiny_config(), data=data, log=quiet)
    first.run(stop_after=1)
    assert first.epoch == 1
    resumed = Trainer(NAME, str(tmp_path / "b"), tiny_config(), data=data, log=quiet)
    resumed.run()
    assert resumed.epoch == 2
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    a_opt, b_opt = straight.opt.state_dict()["state"], resumed.opt.state_dict()["state"]
    assert all(np.array_equal(a_opt[i]["momentum_buffer"], b_opt[i]["momentum_buffer"]) for i in a_opt)
    def drop(history):
        return [{k: v for k, v in row.items() if k != "seconds"} for row in history]
    assert drop(straight.history) == drop(resumed.history)
    # the curve on disk: one row per epoch, CSV and JSON
    rows = (tmp_path / "b" / "history.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,lr,train_loss,train_acc,val_loss,val_top1,val_top5")
    assert len(rows) == 3
    assert len(json.loads((tmp_path / "b" / "history.json").read_text())) == 2
    ckpt = tl.load(str(tmp_path / "b" / "checkpoint.tl"))
    assert {"model", "optimizer", "scheduler", "epoch", "rng", "config", "history"} <= set(ckpt)
    assert ckpt["epoch"] == 2
    assert sorted(os.listdir(tmp_path / "b")) == ["best.tl", "checkpoint.tl", "history.csv",
                                                   "history.json"]   # no temporary files left


def test_resume_with_another_recipe_is_refused(tmp_path):
    data = tiny_data()
    Trainer(NAME, str(tmp_path), tiny_config(), data=data, log=quiet).run(stop_after=1)
    with pytest.raises(ValueError, match="lr: checkpoint 0.1 vs now 0.05"):
        Trainer(NAME, str(tmp_path), tiny_config(lr=0.05), data=data, log=quiet).run()


def test_a_recipe_that_only_extends_the_schedule_resumes(tmp_path):
    """The published run: 60 cosine epochs, then extended by a warm restart. Finished epochs must
    have had exactly the new schedule's learning rates, else it is another recipe."""
    data = tiny_data()
    Trainer(NAME, str(tmp_path), tiny_config(), data=data, log=quiet).run()
    logged = []
    longer = Trainer(NAME, str(tmp_path), tiny_config(epochs=3, restart_at=2, restart_lr=0.02),
                     data=data, log=logged.append)
    longer.run()
    assert longer.epoch == 3 and "extending the checkpoint's schedule" in logged[0]
    assert [row["lr"] for row in longer.history] == [0.1, 0.05, 0.02]
    # one cosine over 4 epochs would have given epoch 1 another rate (0.085 instead of 0.05)
    with pytest.raises(ValueError, match="epochs: checkpoint 3 vs now 4"):
        Trainer(NAME, str(tmp_path), tiny_config(epochs=4), data=data, log=quiet).run()


def test_cosine_with_restart_schedule():
    from tutorlib.hub.train import _schedule_lrs
    from tutorlib.optimizer.lr_scheduler import CosineAnnealingLR
    recipe = dict(RECIPES[NAME], epochs=90, restart_at=60, restart_lr=0.02)   # tried on the split
    lrs = _schedule_lrs(recipe, recipe["epochs"])
    opt = tl.optimizer.SGD([tl.Parameter(np.zeros(1, np.float32))], lr=recipe["lr"])
    cosine, plain = CosineAnnealingLR(opt, T_max=recipe["restart_at"]), []
    for _ in range(recipe["restart_at"]):
        plain.append(opt.param_groups[0]["lr"])
        cosine.step()
    assert lrs[:recipe["restart_at"]] == plain                  # bit for bit: the first cycle
    assert lrs[recipe["restart_at"]] == recipe["restart_lr"]     # the warm restart
    assert lrs[-1] < 1e-4 and all(a > b for a, b in zip(lrs[60:], lrs[61:]))
    with pytest.raises(ValueError, match="restart_at must be 0"):
        _schedule_lrs(dict(recipe, restart_at=recipe["epochs"]), 1)


def test_val_size_0_trains_on_every_image_without_validation(tmp_path):
    """The final model of a recipe chosen on the split: nothing held out, no validation pass."""
    data = tiny_data()
    trainer = Trainer(NAME, str(tmp_path), tiny_config(val_size=0, train_limit=0), data=data,
                      log=quiet)
    assert len(trainer.train_labels) == len(data[1]) and len(trainer.val_labels) == 0
    history = trainer.run()
    assert len(history) == 2 and not any(k.startswith("val_") for k in history[-1])
    assert sorted(os.listdir(tmp_path)) == ["checkpoint.tl", "history.csv", "history.json"]
    record = publish(NAME, str(tmp_path / "checkpoint.tl"), str(tmp_path / "weights"),
                     test_data=tiny_data(32, seed=1))
    assert record["val_top1"] is None and record["final"] is True
    assert [sorted(row) for row in record["history"]] == [["epoch", "lr", "train_acc", "train_loss"]] * 2
    assert "top-1" in hub.help(NAME, root=str(tmp_path / "weights"))


def test_validation_split_is_carved_from_training_and_disjoint():
    from tutorlib.hub.train import split
    train, val = split(50000, 5000, 0)
    assert len(train) == 45000 and len(val) == 5000
    assert not set(train.tolist()) & set(val.tolist())
    assert np.array_equal(split(50000, 5000, 0)[1], val)   # the same split every run


def test_command_line_overrides_the_recipe():
    name, out, config, stop_after = parse_config([NAME, "--out", "x", "--epochs", "3", "--lr", "0.05",
                                                  "--stop-after", "1"])
    assert (name, out, stop_after) == (NAME, "x", 1)
    assert config == dict(RECIPES[NAME], epochs=3, lr=0.05)
