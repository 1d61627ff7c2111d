"""How many steps of the Cambricon guide's recipe chapter 7 trains for, chosen on validation data.

    TUTORLIB_DATA=$PWD/data .venv/bin/python benchmarks/ch07_steps.py --seed 0 --steps 700

The guide's MNIST network (``tutorlib.examples.mnist_nets.GuideNet``, the lesson's ``Net``) is
trained on the emulated MLU with ``adaptive_quantize`` exactly as in the lesson (SGD lr 0.1,
batch 64, pixels /255 then normalised with 0.1307/0.3081, ``steps_per_epoch`` = one epoch of the
55,000 training images), on one thread, and every 100 steps its accuracy on 2,000 of the
lesson's 5,000 validation images is printed. The test set is not read. Batches are drawn from a
seeded permutation of the training images (not the lesson's loader), so the figures are the
recipe's, not the stored run's. Results: ``benchmarks/README.md``, chapter 7.
"""
import argparse
import time

import numpy as np

import tutorlib as tl
import tutorlib.data as data
import tutorlib.functional as F
import tutorlib.mlu.mlu_model as ct
import tutorlib.optimizer as optim
from tutorlib.autodiff import GradManager
from tutorlib.examples.mnist_nets import GuideNet
from tutorlib.kernels.blas import single_threaded
from tutorlib.mlu import mlu_quantize


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=700)
    args = parser.parse_args()
    tl.random.seed(args.seed)
    train = data.dataset.MNIST(train=True)
    order = np.random.RandomState(0).permutation(len(train))      # the lesson's split
    val_idx, train_idx = order[:5000], order[5000:]

    def prep(images):
        return ((images.astype(np.float32) / 255 - 0.1307) / 0.3081).transpose(0, 3, 1, 2)

    x_val, y_val = prep(train.data[val_idx[:2000]]), train.targets[val_idx[:2000]]
    mlu = ct.mlu_device()
    ct.set_cnml_enabled(False)
    net = mlu_quantize.adaptive_quantize(GuideNet(), steps_per_epoch=len(train_idx) // 64).to(mlu)
    opt = ct.to(optim.SGD(net.parameters(), lr=0.1), mlu)
    gm = GradManager().attach(net.parameters())
    batches = np.random.default_rng(args.seed).permutation(train_idx)

    def val_acc():
        net.eval()
        correct = sum(int((net(tl.Tensor(x_val[s:s + 500]).to(mlu)).numpy().argmax(1)
                           == y_val[s:s + 500]).sum()) for s in range(0, len(x_val), 500))
        net.train()
        return correct / len(x_val)

    start = time.time()
    with single_threaded():
        for k in range(args.steps):
            idx = batches[k * 64:(k + 1) * 64]
            x = tl.Tensor(prep(train.data[idx])).to(mlu)
            y = tl.Tensor(train.targets[idx]).to(mlu)
            with gm:
                loss = F.nn.cross_entropy(net(x), y)
                gm.backward(loss)
            opt.step().clear_grad()
            if (k + 1) % 100 == 0:
                print(f"seed {args.seed} step {k + 1}: loss {loss.item():.3f}, validation accuracy "
                      f"{val_acc():.4f} ({time.time() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
