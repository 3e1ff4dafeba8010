"""SPAN, the Swift Parameter-free Attention Network (Wan et al., NTIRE 2024 Efficient SR winner).

docs/conventions.md section 7. With C channels, B blocks and every conv below a Conv3XC
(methods/conv3xc.py) that merges into one 3x3:

    norm  : x = (x - DIV2K mean) * img_range                    (norm=True, as every release)
    head  : f = conv_1(x: colors -> C)
    body  : b_1 = SPAB(f), ..., b_B = SPAB(b_{B-1})
    fuse  : y = conv_cat(concat(f, conv_2(b_B), b_1, a_B))      conv1x1 (4C -> C)
    up    : conv3x3(C -> colors*s*s), PixelShuffle(s)             no mean added back

    SPAB(x): h1 = silu(c1_r(x)); h3 = c3_r(silu(c2_r(h1)))
             out = (h3 + x) * (sigmoid(h3) - 0.5)               the parameter-free attention
    a_B is h1 of the last block: the released SPAB applies its SiLU in place, so the
    "c1_r output" it hands back is already activated.

The released networks take RGB in [0, 1], scale it to (x - mean) * 255 inside, and output
[0, 1] directly: `norm` and `img_range` are build options, because a state dict cannot say so.
Module names equal the released training form's (conv_1, block_i.c1_r.sk, ..., conv_cat,
conv_2, upsampler.0); a re-parameterized ("slim") release stores `X.eval_conv.*`, which is
`X.*` of `methods.merge(...)` (RELEASED_KEYS_DEPLOYED).
"""
from __future__ import annotations

import torch
from torch import nn

from methods.conv3xc import SPAN_GAIN, Conv3XC

# The DIV2K training-set mean the released code subtracts (EDSR's); Y: EDSR's luma mean.
DIV2K_RGB_MEAN = (0.4488, 0.4371, 0.4040)
DIV2K_Y_MEAN = (0.4420,)

# Released state dict key -> our key (re.sub, in order); an empty key drops the tensor.
# A full SPAN training checkpoint also stores each Conv3XC's `eval_conv`, derived from the
# branches: our training form rebuilds it on merge, so it is dropped.
RELEASED_KEYS: tuple[tuple[str, str], ...] = (
    (r"^.*\.eval_conv\.(weight|bias)$", ""),
)
# A re-parameterized ("slim") checkpoint into methods.merge(methods.build("span", ...)).
RELEASED_KEYS_DEPLOYED: tuple[tuple[str, str], ...] = (
    (r"\.eval_conv\.", "."),
)


class SPAB(nn.Module):
    """Swift parameter-free attention block: three Conv3XC with SiLU between, attention gate."""

    def __init__(self, channels: int, gain: int = SPAN_GAIN):
        super().__init__()
        self.c1_r = Conv3XC(channels, channels, gain)
        self.c2_r = Conv3XC(channels, channels, gain)
        self.c3_r = Conv3XC(channels, channels, gain)
        self.act1 = nn.SiLU()  # not in place: both h1 and the block output stay in the graph

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The block output and its first activated features (h1)."""
        h1 = self.act1(self.c1_r(x))
        h3 = self.c3_r(self.act1(self.c2_r(h1)))
        return (h3 + x) * (torch.sigmoid(h3) - 0.5), h1


class SPAN(nn.Module):
    def __init__(self, c: int, b: int, scale: int, colors: int, norm: bool = True, img_range: float = 255.0,
                 gain: int = SPAN_GAIN):
        super().__init__()
        if b < 1:
            raise ValueError(f"SPAN needs at least one SPAB, got B={b}")
        self.scale, self.n_blocks, self.norm, self.img_range = scale, b, norm, float(img_range)
        mean = DIV2K_RGB_MEAN if colors == 3 else DIV2K_Y_MEAN
        # Not persistent: the released state dicts have no mean, and it is a fact of the build.
        self.register_buffer("mean", torch.tensor(mean).view(1, colors, 1, 1), persistent=False)
        self.conv_1 = Conv3XC(colors, c, gain)
        for i in range(1, b + 1):
            self.add_module(f"block_{i}", SPAB(c, gain))
        self.conv_cat = nn.Conv2d(4 * c, c, 1)
        self.conv_2 = Conv3XC(c, c, gain)
        self.upsampler = nn.Sequential(nn.Conv2d(c, colors * scale * scale, 3, padding=1), nn.PixelShuffle(scale))
        self.start_at_nearest_()

    @torch.no_grad()
    def start_at_nearest_(self) -> None:
        """Make the untrained network output the nearest-neighbour upscaling of its input.

        Like IMDN, SPAN has no image skip. Here the first `colors` channels of conv_1 undo the
        input normalisation through its 1x1 skip (weight 1/img_range, bias the mean) while its
        chain contributes nothing to them, conv_cat passes those channels on, and the upsampler
        copies them to every sub-pixel. Architecture untouched; the other weights keep PyTorch's
        default init (the released code's), so the other channels carry features from the start.
        """
        colors = self.mean.shape[1]
        sk, last = self.conv_1.sk, self.conv_1.conv[2]
        gain = 1.0 / self.img_range if self.norm else 1.0
        sk.weight[:colors].zero_()
        sk.bias[:colors] = self.mean.flatten() if self.norm else 0.0
        for k in range(colors):
            sk.weight[k, k, 0, 0] = gain
        last.weight[:colors].zero_()
        last.bias[:colors].zero_()
        self.conv_cat.weight[:colors].zero_()
        self.conv_cat.bias[:colors].zero_()
        for k in range(colors):
            self.conv_cat.weight[k, k, 0, 0] = 1.0
        up = self.upsampler[0]
        s2 = self.scale * self.scale
        up.weight.zero_()
        up.bias.zero_()
        for k in range(colors):  # PixelShuffle: output channel k reads channels k*s2 .. k*s2 + s2-1
            up.weight[k * s2:(k + 1) * s2, k, 1, 1] = 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.norm:
            x = (x - self.mean) * self.img_range
        feature = self.conv_1(x)
        y, first, h1 = feature, None, feature
        for i in range(1, self.n_blocks + 1):
            y, h1 = getattr(self, f"block_{i}")(y)
            first = y if first is None else first
        y = self.conv_cat(torch.cat((feature, self.conv_2(y), first, h1), dim=1))
        return self.upsampler(y)


def build(c: int, b: int, scale: int, colors: int, *, norm: bool, img_range: float) -> nn.Module:
    """norm: subtract the DIV2K mean and multiply by img_range inside (the released SPANs: True, 255).
    Output is not rescaled: the network maps [0, 1] images to [0, 1] images either way."""
    return SPAN(c, b, scale, colors, norm=norm, img_range=img_range)
