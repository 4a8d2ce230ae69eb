"""MobileNetV2 (Sandler et al. 2018) written out in torch for the tests: no torchvision, no download.

Random init with BatchNorm statistics perturbed so folding is exercised; ``width`` scales channels
(rounded to multiples of 8, as the paper's reference does), ``resolution`` the square input.
"""

from __future__ import annotations

import torch
from torch import nn

#: (expansion t, output channels c, repeats n, first stride s) per stage, as in the paper's Table 2
_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
           (6, 320, 1, 1))


def _div8(v: float) -> int:
    out = max(8, int(v + 4) // 8 * 8)
    return out + 8 if out < 0.9 * v else out


def _cbr(cin, cout, k, s, groups=1, relu=True) -> list:
    layers = [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    return layers + [nn.ReLU6()] if relu else layers


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, t):
        super().__init__()
        hidden = cin * t
        layers = _cbr(cin, hidden, 1, 1) if t != 1 else []
        layers += _cbr(hidden, hidden, 3, stride, groups=hidden) + _cbr(hidden, cout, 1, 1, relu=False)
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


class MobileNetV2(nn.Module):
    def __init__(self, width: float = 1.0, classes: int = 1000):
        super().__init__()
        c = _div8(32 * width)
        layers = _cbr(3, c, 3, 2)
        for t, ch, n, s in _STAGES:
            out = _div8(ch * width)
            for k in range(n):
                layers.append(InvertedResidual(c, out, s if k == 0 else 1, t))
                c = out
        last = _div8(1280 * max(1.0, width))
        layers += _cbr(c, last, 1, 1)
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(last, classes)

    def forward(self, x):
        return self.classifier(self.features(x).mean((2, 3)))


def mobilenetv2(width: float = 1.0, classes: int = 1000, seed: int = 0) -> MobileNetV2:
    """An eval-mode MobileNetV2 with seeded random weights and non-trivial BatchNorm statistics."""
    torch.manual_seed(seed)
    m = MobileNetV2(width, classes)
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.1, 0.1)
            mod.running_var.uniform_(0.5, 1.5)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.1, 0.1)
    return m.eval()
