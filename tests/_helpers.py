"""Small helpers shared by the merge tests (imported by test modules; not a fixture)."""
from __future__ import annotations

import torch
from torch import nn


def train_a_little(model: nn.Module, colors: int, scale: int, steps: int = 3, seed: int = 0) -> None:
    """A few Adam steps in train mode, so branches and BN statistics move off their initialisation."""
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(steps):
        x = torch.rand(4, colors, 12, 12)
        loss = (model(x) - torch.rand(4, colors, 12 * scale, 12 * scale)).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def randomize_bn(model: nn.Module) -> None:
    """Random BN statistics and affines whose gain is at most 1.

    Outputs then stay near the image range, where an absolute tolerance of 1e-4 is
    meaningful (float32 rounding of an 18-layer net whose outputs blow up to 30 would
    exceed it for any correct merge).
    """
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(1.0, 2.0)
                m.weight.uniform_(0.4, 1.0)
                m.bias.uniform_(-0.1, 0.1)
