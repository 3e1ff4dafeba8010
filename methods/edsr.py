"""EDSR (Lim et al. 2017), the residual reference: R residual blocks of C channels. Not mergeable.

head conv -> R x [conv-ReLU-conv (x res_scale) + skip] -> conv -> + head -> upsampler -> conv.
`bn=True` puts BN after each conv of the residual blocks (the paper's Table 1, "with BN").
The mean shift is a fixed buffer, so the count matches the standard EDSR
(R5C32 x4 RGB = 177,475 parameters). The untrained network outputs the nearest-neighbour
upscaling of its input (`start_at_nearest_`), like every other network of the zoo.
"""
from __future__ import annotations

import math

import torch
from torch import nn

_RGB_MEAN = (0.4488, 0.4371, 0.4040)  # DIV2K mean, as in EDSR
_Y_MEAN = (0.4420,)


class ResBlock(nn.Module):
    def __init__(self, c: int, bn: bool, res_scale: float):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(c, c, 3, padding=1, bias=not bn)]
        if bn:
            layers.append(nn.BatchNorm2d(c))
        layers.append(nn.ReLU(inplace=True))
        layers.append(nn.Conv2d(c, c, 3, padding=1, bias=not bn))
        if bn:
            layers.append(nn.BatchNorm2d(c))
        self.body = nn.Sequential(*layers)
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) * self.res_scale


def upsampler(c: int, scale: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    if scale & (scale - 1) == 0:  # power of two: log2(s) stages of x2
        for _ in range(int(math.log2(scale))):
            layers += [nn.Conv2d(c, 4 * c, 3, padding=1), nn.PixelShuffle(2)]
    else:
        layers += [nn.Conv2d(c, scale * scale * c, 3, padding=1), nn.PixelShuffle(scale)]
    return nn.Sequential(*layers)


class EDSR(nn.Module):
    def __init__(self, r: int, c: int, scale: int, colors: int, bn: bool = False, res_scale: float = 1.0):
        super().__init__()
        self.register_buffer("mean", torch.tensor(_RGB_MEAN if colors == 3 else _Y_MEAN).view(1, colors, 1, 1))
        self.head = nn.Conv2d(colors, c, 3, padding=1)
        self.body = nn.Sequential(*[ResBlock(c, bn, res_scale) for _ in range(r)], nn.Conv2d(c, c, 3, padding=1))
        self.tail = nn.Sequential(upsampler(c, scale), nn.Conv2d(c, colors, 3, padding=1))
        self.start_at_nearest_()

    @torch.no_grad()
    def start_at_nearest_(self) -> None:
        """Make the untrained network output the nearest-neighbour upscaling of its input.

        EDSR has no image skip: with the reference init it starts from about the mean colour and a
        short run spends itself learning to copy the input (R2C16 x4 RGB: 600 steps only reach
        bicubic). Here one path carries the image: the first `colors` head channels pass the
        (mean-shifted) input through, the body's last conv starts at zero (so the global residual
        is the head alone), each upsampler stage copies those channels to their sub-pixels, and the
        tail conv reads them back. Every other weight keeps PyTorch's default init, so the other
        channels carry features from the first step and every layer gets a gradient.
        """
        colors = self.head.in_channels
        for k in range(colors):
            self.head.weight[k].zero_()
            self.head.weight[k, k, 1, 1] = 1.0
            self.head.bias[k] = 0.0
        self.body[-1].weight.zero_()
        self.body[-1].bias.zero_()
        stages = [m for m in self.tail[0] if isinstance(m, nn.Conv2d)]
        for conv, shuffle in zip(stages, [m for m in self.tail[0] if isinstance(m, nn.PixelShuffle)]):
            r2 = shuffle.upscale_factor ** 2  # PixelShuffle: output channel k reads inputs k*r2 .. k*r2 + r2-1
            for k in range(colors):
                conv.weight[k * r2:(k + 1) * r2].zero_()
                conv.weight[k * r2:(k + 1) * r2, k, 1, 1] = 1.0
                conv.bias[k * r2:(k + 1) * r2] = 0.0
        last = self.tail[1]
        last.weight.zero_()
        last.bias.zero_()
        for k in range(colors):
            last.weight[k, k, 1, 1] = 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x - self.mean)
        return self.tail(h + self.body(h)) + self.mean


def build(r: int, c: int, scale: int, colors: int, *, bn: bool, res_scale: float) -> nn.Module:
    """bn: BN in the residual blocks (Table 1). res_scale: residual scaling (EDSR uses 0.1 for large models)."""
    return EDSR(r, c, scale, colors, bn=bn, res_scale=res_scale)
