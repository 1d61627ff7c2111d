"""How chapter 0's training recipe was chosen: on a validation split, never on the test set.

Trains LeNet (the chapter's model and data pipeline) on 55,000 of MNIST's 60,000 training images
with a few candidate recipes and prints the accuracy on the other 5,000 (the validation split the
notebook uses too). The test set is not loaded. Each run is a fresh subprocess.

    .venv/bin/python benchmarks/ch00_recipe.py                      # all candidates, seeds 0 and 1
    .venv/bin/python benchmarks/ch00_recipe.py --seeds 0 --only cosine-0.05-5
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

# name -> (schedule, peak learning rate, epochs)
CANDIDATES = {
    "constant-0.01-5": ("constant", 0.01, 5),    # MegEngine's quick start, 5 of its 10 epochs
    "cosine-0.05-5": ("cosine", 0.05, 5),
    "cosine-0.1-5": ("cosine", 0.1, 5),
    "cosine-0.05-6": ("cosine", 0.05, 6),
    "cosine-0.05-8": ("cosine", 0.05, 8),
}
VAL_SIZE, SPLIT_SEED = 5000, 0    # as in notebooks/ch00-quick-start.ipynb


def run(schedule: str, lr: float, epochs: int, seed: int) -> dict:
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

    class LeNet(M.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = M.Conv2d(1, 6, 5), M.Conv2d(6, 16, 5)
            self.fc1, self.fc2, self.classifier = M.Linear(400, 120), M.Linear(120, 84), M.Linear(84, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = F.relu(self.fc1(F.flatten(x, 1)))
            return self.classifier(F.relu(self.fc2(x)))

    train_dataset = data.dataset.MNIST(train=True)
    order = np.random.RandomState(SPLIT_SEED).permutation(len(train_dataset))
    val_indices, train_indices = order[:VAL_SIZE], order[VAL_SIZE:]
    transform = T.Compose([T.Normalize(mean=0.1307 * 255, std=0.3081 * 255), T.Pad(2), T.ToMode("CHW")])
    train_loader = data.DataLoader(train_dataset, transform=transform, sampler=data.RandomSampler(
        train_dataset, batch_size=64, indices=train_indices))
    val_loader = data.DataLoader(train_dataset, transform=transform, sampler=data.SequentialSampler(
        train_dataset, batch_size=1000, indices=val_indices))

    model = LeNet()
    gm = GradManager().attach(model.parameters())
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    scheduler = (optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * len(train_loader))
                 if schedule == "cosine" else None)
    val_acc = []
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for images, labels in train_loader:
            with gm:
                loss = F.nn.cross_entropy(model(tl.Tensor(images)), tl.Tensor(labels))
                gm.backward(loss)
                optimizer.step().clear_grad()
            if scheduler is not None:
                scheduler.step()
        model.eval()
        correct = sum(int((F.argmax(model(tl.Tensor(x)), axis=1).numpy() == y).sum())
                      for x, y in val_loader)
        val_acc.append(correct / VAL_SIZE)
    return {"val_acc": val_acc, "seconds": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--only", default=",".join(CANDIDATES))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        name, seed = args.child.rsplit(":", 1)
        print(json.dumps(run(*CANDIDATES[name], int(seed))))
        return
    print(f"{'recipe':18s} {'seed':>4s}  validation accuracy per epoch{'':16s} {'train s':>7s}")
    for name in args.only.split(","):
        for seed in args.seeds.split(","):
            out = subprocess.run([sys.executable, __file__, "--child", f"{name}:{seed}"],
                                 check=True, capture_output=True, text=True, env=os.environ).stdout
            result = json.loads(out.strip().splitlines()[-1])
            accs = " ".join(f"{a:.2%}" for a in result["val_acc"])
            print(f"{name:18s} {seed:>4s}  {accs:46s} {result['seconds']:7.0f}", flush=True)


if __name__ == "__main__":
    main()
