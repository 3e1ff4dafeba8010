"""IMDN as the NTIRE 2022 Efficient SR challenge baseline (docs/conventions.md section 3; Wang et al. NTIRE 2022).

The simplified IMDN of the AIM 2019 constrained-SR winner, without contrast-aware attention:

    head  : conv3x3(c -> 64)                                     no activation
    body  : B x IMDB, then conv3x3(64 -> 64)
    skip  : body(head) + head                                    the global residual
    up    : conv3x3(64 -> c*s*s), PixelShuffle(s)                no activation, no image skip

    IMDB(x), with d = 16 distilled and r = 48 remaining channels:
        d1, r1 = split(lrelu(conv3x3(x: 64 -> 64)))
        d2, r2 = split(lrelu(conv3x3(r1: 48 -> 64)))
        d3, r3 = split(lrelu(conv3x3(r2: 48 -> 64)))
        d4     = conv3x3(r3: 48 -> 16)                           no activation
        out    = x + conv1x1(concat(d1, d2, d3, d4): 64 -> 64)

LeakyReLU slope 0.05. One IMDB holds 103,440 parameters; the rest of the network
(head, body conv, upsampler) 66,416 at x4 RGB, so B = 8 is 893,936 and B = 7 is
790,496, the paper's 0.8939M / 0.7905M. These counts rule out a 1x1 fusion over the
concatenated block outputs (the original IMDN's, which grows by 4,096 per block), so
the blocks simply run in sequence.

`IMDN` takes a conv factory for the IMDB 3x3 convs, so `imdn-clb` trains the same
network with collapsible linear blocks there and merges back into exactly this one.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

DEFAULT_COLORS = 3  # the challenge works on RGB; methods.build's own default is 1
NEGATIVE_SLOPE = 0.05
DISTILL_RATE = 0.25

ConvFactory = Callable[[int, int], nn.Module]

# Released key -> our key (re.sub, in order), for the NTIRE 2022 baseline file (imdn_baseline.pth,
# KAIR's B.sequential naming): model.0 head, model.1.sub.<i> the IMDBs and, last, the body conv
# (the one sub entry with a bare weight), model.2 the upsampler conv. Same shapes as ours.
RELEASED_KEYS: tuple[tuple[str, str], ...] = (
    (r"^model\.0\.", "head."),
    (r"^model\.1\.sub\.(\d+)\.conv([123])\.0\.", r"blocks.\1.conv\2."),
    (r"^model\.1\.sub\.(\d+)\.conv4\.", r"blocks.\1.conv4."),
    (r"^model\.1\.sub\.(\d+)\.conv1x1\.", r"blocks.\1.fuse."),
    (r"^model\.1\.sub\.\d+\.(weight|bias)$", r"body_conv.\1"),
    (r"^model\.2\.", "upsample."),
)


def conv3x3(in_ch: int, out_ch: int) -> nn.Module:
    return nn.Conv2d(in_ch, out_ch, 3, padding=1)


class IMDB(nn.Module):
    """Information multi-distillation block: three distillation steps, a last 3x3, a 1x1 fusion
    of the distilled features and a block residual."""

    def __init__(self, channels: int, conv: ConvFactory = conv3x3, negative_slope: float = NEGATIVE_SLOPE):
        super().__init__()
        self.distilled = int(channels * DISTILL_RATE)
        self.remaining = channels - self.distilled
        self.conv1 = conv(channels, channels)
        self.conv2 = conv(self.remaining, channels)
        self.conv3 = conv(self.remaining, channels)
        self.conv4 = conv(self.remaining, self.distilled)
        self.fuse = nn.Conv2d(4 * self.distilled, channels, 1)
        # Not in place: the activation output is split and both halves stay in the graph.
        self.act = nn.LeakyReLU(negative_slope)

    def _distill(self, conv: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        d, r = torch.split(self.act(conv(x)), (self.distilled, self.remaining), dim=1)
        return d, r

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d1, r = self._distill(self.conv1, x)
        d2, r = self._distill(self.conv2, r)
        d3, r = self._distill(self.conv3, r)
        d4 = self.conv4(r)
        return x + self.fuse(torch.cat((d1, d2, d3, d4), dim=1))


class IMDN(nn.Module):
    def __init__(
        self,
        blocks: int,
        scale: int = 4,
        colors: int = 3,
        channels: int = 64,
        conv: ConvFactory = conv3x3,
    ):
        super().__init__()
        if blocks < 1:
            raise ValueError(f"IMDN needs at least one IMDB, got B={blocks}")
        if channels % 4:
            raise ValueError(f"channels must be a multiple of 4 (a quarter is distilled at each step), got {channels}")
        self.scale = scale
        self.head = nn.Conv2d(colors, channels, 3, padding=1)
        # Only the convs inside the IMDBs take the factory: the paper widens those alone.
        self.blocks = nn.Sequential(*(IMDB(channels, conv) for _ in range(blocks)))
        self.body_conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.upsample = nn.Conv2d(channels, colors * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)
        self.start_at_nearest_()

    @torch.no_grad()
    def start_at_nearest_(self) -> None:
        """Make the untrained network output exactly the nearest-neighbour upscaling of its input.

        IMDN has no image skip, so with the reference init it starts from a near-constant image
        and spends a short run learning to copy its input. Here the first `colors` head channels
        carry the input unchanged, the body's last conv starts at zero (so the global residual
        is the head alone) and the upsampler copies those channels to every sub-pixel: the same
        start as the networks with an explicit skip, with the architecture untouched. The other
        weights keep PyTorch's default init.
        """
        colors = self.head.in_channels
        s2 = self.scale * self.scale
        for k in range(colors):
            self.head.weight[k].zero_()
            self.head.weight[k, k, 1, 1] = 1.0
            self.head.bias[k] = 0.0
        self.body_conv.weight.zero_()
        self.body_conv.bias.zero_()
        self.upsample.weight.zero_()
        self.upsample.bias.zero_()
        for k in range(colors):
            self.upsample.weight[k * s2:(k + 1) * s2, k, 1, 1] = 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.head(x)
        y = self.body_conv(self.blocks(f)) + f
        return self.shuffle(self.upsample(y))


def build(b: int, scale: int, colors: int, *, channels: int) -> nn.Module:
    """channels: feature width (64 in the challenge baseline; a multiple of 4)."""
    return IMDN(b, scale, colors, channels)
