"""Same seed, same machine, same thread count: bit-identical weights, also in another process.

Two fresh interpreters train LeNet for 300 steps on real MNIST images (at the same time, so
they also compete for the cores) and compare a SHA-256 of every trained weight.
"""
import hashlib
import os
import subprocess
import sys

from test_data_real import data_root

STEPS, BATCH = 300, 32


def train_and_hash(seed: int, steps: int = STEPS) -> str:
    """Train LeNet ``steps`` SGD steps from ``seed``; 'first loss, last loss, initial hash, final hash'."""
    import numpy as np

    import tutorlib as tl
    import tutorlib.data as data
    import tutorlib.data.transform as T
    import tutorlib.functional as F
    import tutorlib.module as M
    import tutorlib.optimizer as optim
    from tutorlib.autodiff import GradManager

    tl.random.seed(seed)
    np.random.seed(seed)
    model = M.Sequential(
        M.Conv2d(1, 6, 5), M.ReLU(), M.MaxPool2d(2), M.Conv2d(6, 16, 5), M.ReLU(), M.MaxPool2d(2),
        M.Flatten(), M.Linear(400, 120), M.ReLU(), M.Linear(120, 84), M.ReLU(), M.Linear(84, 10))

    def weights_hash():
        digest = hashlib.sha256()
        for name, value in sorted(model.state_dict().items()):
            digest.update(name.encode() + np.ascontiguousarray(value).tobytes())
        return digest.hexdigest()

    initial = weights_hash()
    mnist = data.dataset.MNIST(train=True)
    loader = data.DataLoader(
        mnist, transform=T.Compose([T.Normalize(33.3, 78.6), T.Pad(2), T.ToMode("CHW")]),
        sampler=data.RandomSampler(mnist, batch_size=BATCH, indices=range(steps * BATCH)))
    gm = GradManager().attach(model.parameters())
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for images, labels in loader:
        with gm:
            loss = F.nn.cross_entropy(model(tl.Tensor(images)), tl.Tensor(labels))
            gm.backward(loss)
            opt.step().clear_grad()
        losses.append(loss.item())
    return f"{losses[0]} {np.mean(losses[-50:])} {initial} {weights_hash()}"


def test_same_seed_gives_bit_identical_weights_in_two_processes():
    data_root("mnist")
    code = (f"import sys; sys.path.insert(0, {os.path.dirname(__file__)!r}); "
            f"from test_reproducible import train_and_hash; print(train_and_hash(0))")
    runs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
            for _ in range(2)]
    outputs = [run.communicate(timeout=300)[0].split() for run in runs]
    assert all(run.returncode == 0 for run in runs)
    (first_loss, last_loss, initial, final), (_, _, initial2, final2) = outputs
    assert float(last_loss) < 0.5 * float(first_loss), "LeNet did not train"
    assert final != initial, "training did not change the weights"
    assert initial2 == initial, "same seed, different initial weights"
    assert final2 == final, "same seed and thread count, different trained weights"
