"""ResNet for CIFAR (He et al., 2016, §4.2), written like MegEngine Models' ``resnet/model.py``.

The ImageNet ResNets start with a 7x7 stride-2 convolution and a max-pool; for 32x32 images the
paper uses a 3x3 convolution with 16 channels, then three stages of ``n`` basic blocks with
16, 32 and 64 channels at 32x32, 16x16 and 8x8, global average pooling and one linear layer:
``6n + 2`` weighted layers, so ``n = 3`` is ResNet-20 (0.27 M parameters).

Shortcuts: where a block changes the shape (the first block of stages 2 and 3 halves the size
and doubles the channels), the shortcut is a 1x1 stride-2 convolution followed by batch norm,
exactly as MegEngine's ``BasicBlock.downsample``. The paper calls this **option B**; its CIFAR
experiments used option A (stride-2 subsampling padded with zero channels, no parameters). B
adds 2 x (conv + BN) = 2 752 parameters and is what the ImageNet ResNets (and MegEngine) use.

>>> import numpy as np, tutorlib as tl
>>> model = resnet20(num_classes=10)
>>> model.eval()
>>> model(tl.Tensor(np.zeros((2, 3, 32, 32), np.float32))).shape
(2, 10)
>>> sum(p.size for p in model.parameters())
272474
"""
from __future__ import annotations

import math

from .. import functional as F
from .. import module as M


class BasicBlock(M.Module):
    """Two 3x3 convolutions with batch norm, plus the input: ``relu(bn2(conv2(relu(bn1(conv1 x)))) + x)``.

    ``stride=2`` (or a change of channels) makes the shortcut a 1x1 convolution + batch norm
    (``downsample``) so that the two branches have the same shape and can be added.

    >>> import numpy as np, tutorlib as tl
    >>> block = BasicBlock(16, 32, stride=2)
    >>> block(tl.Tensor(np.zeros((1, 16, 32, 32), np.float32))).shape
    (1, 32, 16, 16)
    """

    expansion = 1

    def __init__(self, in_channels: int, channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = M.Conv2d(in_channels, channels, 3, stride, padding=1, bias=False)
        self.bn1 = M.BatchNorm2d(channels)
        self.conv2 = M.Conv2d(channels, channels, 3, 1, padding=1, bias=False)
        self.bn2 = M.BatchNorm2d(channels)
        self.downsample = (
            M.Identity()
            if in_channels == channels and stride == 1
            else M.Sequential(M.Conv2d(in_channels, channels, 1, stride, bias=False),
                              M.BatchNorm2d(channels))
        )

    def forward(self, x):
        identity = x
        x = self.conv1(x)
        x = self.bn1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = self.bn2(x)
        identity = self.downsample(identity)
        x = x + identity
        x = F.relu(x)
        return x


class ResNet(M.Module):
    """The CIFAR ResNet: stem (3x3 conv, 16 channels), three stages of ``layers[i]`` blocks with
    ``widths`` channels (the 2nd and 3rd start with stride 2), global average pool, ``fc``.

    ``features(x)`` is the (N, 64) vector before ``fc`` (what a linear probe trains on);
    ``extract_features(x)`` returns every stage's output by name, as in MegEngine Models.
    ``zero_init_residual=True`` starts every block's last BN scale at 0, so each block begins
    as the identity (Goyal et al., 2017).
    """

    def __init__(self, block=BasicBlock, layers=(3, 3, 3), num_classes: int = 10,
                 widths=(16, 32, 64), zero_init_residual: bool = False):
        super().__init__()
        self.in_channels = widths[0]
        self.conv1 = M.Conv2d(3, widths[0], 3, 1, padding=1, bias=False)
        self.bn1 = M.BatchNorm2d(widths[0])
        self.layer1 = self._make_layer(block, widths[0], layers[0], stride=1)
        self.layer2 = self._make_layer(block, widths[1], layers[1], stride=2)
        self.layer3 = self._make_layer(block, widths[2], layers[2], stride=2)
        self.avgpool = M.AdaptiveAvgPool2d(1)
        self.fc = M.Linear(widths[2] * block.expansion, num_classes)

        for m in self.modules():
            if isinstance(m, M.Conv2d):
                M.init.msra_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, M.BatchNorm2d):
                M.init.ones_(m.weight)
                M.init.zeros_(m.bias)
            elif isinstance(m, M.Linear):
                bound = 1 / math.sqrt(m.in_features)
                M.init.uniform_(m.weight, -bound, bound)
                M.init.uniform_(m.bias, -bound, bound)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, BasicBlock):
                    M.init.zeros_(m.bn2.weight)

    def _make_layer(self, block, channels: int, blocks: int, stride: int = 1):
        layers = [block(self.in_channels, channels, stride)]
        self.in_channels = channels * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.in_channels, channels))
        return M.Sequential(*layers)

    def extract_features(self, x) -> dict:
        """``{"stem", "layer1", "layer2", "layer3"}``: (N, 16, 32, 32), (N, 16, 32, 32),
        (N, 32, 16, 16), (N, 64, 8, 8) for 32x32 inputs."""
        outputs = {}
        x = F.relu(self.bn1(self.conv1(x)))
        outputs["stem"] = x
        x = self.layer1(x)
        outputs["layer1"] = x
        x = self.layer2(x)
        outputs["layer2"] = x
        x = self.layer3(x)
        outputs["layer3"] = x
        return outputs

    def features(self, x):
        """The globally pooled (N, 64) features that ``fc`` classifies."""
        x = self.extract_features(x)["layer3"]
        return F.flatten(self.avgpool(x), 1)

    def forward(self, x):
        return self.fc(self.features(x))


def resnet20(num_classes: int = 10, **kwargs) -> ResNet:
    """ResNet-20 for 32x32 images: 3 blocks per stage, 16/32/64 channels (0.27 M parameters)."""
    return ResNet(BasicBlock, (3, 3, 3), num_classes=num_classes, **kwargs)
