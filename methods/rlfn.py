"""RLFN, the Residual Local Feature Network (Kong et al., NTIRE 2022 Efficient SR runtime winner).

docs/conventions.md section 7. Not re-parameterizable. With C feature channels, M mid channels
(M = C unless `mid_channels` says otherwise) and B blocks:

    scale : x = x * img_range                                  (255: the releases take 0..255)
    head  : f = conv_1(x: conv3x3 colors -> C)
    body  : block_1 .. block_B (RLFB), then conv_2 (conv3x3 C -> C)
    skip  : y = conv_2(body(f)) + f
    up    : conv3x3(C -> colors*s*s), PixelShuffle(s), / img_range

    RLFB(x): r = x + lrelu(c3_r(lrelu(c2_r(lrelu(c1_r(x))))))    3x3 convs C -> M -> M -> C
             out = ESA(c5(r))                                   c5: conv1x1 C -> C
    ESA(x), 16 channels:
        u = conv1(x)                                            conv1x1 C -> 16
        v = conv3(maxpool_7x7/3(conv2(u)))                     conv2: 3x3 stride 2 no padding; conv3: 3x3 padding 1
        m = sigmoid(conv4(bilinear(v, size of x) + conv_f(u)))  conv_f: 1x1 16 -> 16; conv4: 1x1 16 -> C
        out = x * m

LeakyReLU slope 0.05. The NTIRE 2022 release is B4C46 with mid_channels=48: 317,218 parameters
and 39 convs at x4 RGB. The paper's RLFN is B6C52 and RLFN-S B6C48 (mid = C).
Module names follow the authors' code (bytedance/RLFN); the challenge file names them
fea_conv / B1..B4 / LR_conv, which RELEASED_KEYS maps.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

NEGATIVE_SLOPE = 0.05
ESA_CHANNELS = 16
POOL_KERNEL, POOL_STRIDE = 7, 3

# Released key -> our key (re.sub, in order): the NTIRE 2022 challenge file (team04_rlfn.pth).
RELEASED_KEYS: tuple[tuple[str, str], ...] = (
    (r"^fea_conv\.", "conv_1."),
    (r"^B(\d+)\.", r"block_\1."),
    (r"^LR_conv\.", "conv_2."),
)


class ESA(nn.Module):
    """Enhanced spatial attention as RLFN trims it (RFANet's without conv_max and conv3_)."""

    def __init__(self, channels: int, esa_channels: int = ESA_CHANNELS):
        super().__init__()
        f = esa_channels
        self.conv1 = nn.Conv2d(channels, f, 1)
        self.conv_f = nn.Conv2d(f, f, 1)
        self.conv2 = nn.Conv2d(f, f, 3, stride=2, padding=0)
        self.conv3 = nn.Conv2d(f, f, 3, padding=1)
        self.conv4 = nn.Conv2d(f, channels, 1)

    @staticmethod
    def _pool(v: torch.Tensor) -> torch.Tensor:
        # The released ESA max-pools 7x7 windows with stride 3 and no padding, so it rejects LR
        # inputs under 15 pixels a side; training patches can be smaller. A map smaller than the
        # window is padded with -inf on the far side, which never wins a max: pooling then covers
        # what there is, and maps of 7 or more are untouched.
        h, w = v.shape[-2:]
        if h < POOL_KERNEL or w < POOL_KERNEL:
            v = F.pad(v, (0, max(0, POOL_KERNEL - w), 0, max(0, POOL_KERNEL - h)), value=float("-inf"))
        return F.max_pool2d(v, POOL_KERNEL, POOL_STRIDE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = self.conv1(x)
        v = self.conv3(self._pool(self.conv2(u)))
        v = F.interpolate(v, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return x * torch.sigmoid(self.conv4(v + self.conv_f(u)))


class RLFB(nn.Module):
    """Residual local feature block: three 3x3 conv + LeakyReLU steps with a local residual,
    a 1x1 conv and ESA."""

    def __init__(self, channels: int, mid_channels: int, negative_slope: float = NEGATIVE_SLOPE):
        super().__init__()
        self.c1_r = nn.Conv2d(channels, mid_channels, 3, padding=1)
        self.c2_r = nn.Conv2d(mid_channels, mid_channels, 3, padding=1)
        self.c3_r = nn.Conv2d(mid_channels, channels, 3, padding=1)
        self.c5 = nn.Conv2d(channels, channels, 1)
        self.esa = ESA(channels)
        self.act = nn.LeakyReLU(negative_slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = self.act(self.c3_r(self.act(self.c2_r(self.act(self.c1_r(x))))))
        return self.esa(self.c5(r + x))


class RLFN(nn.Module):
    def __init__(self, b: int, c: int, scale: int, colors: int, mid_channels: int | None = None,
                 img_range: float = 255.0):
        super().__init__()
        if b < 1:
            raise ValueError(f"RLFN needs at least one RLFB, got B={b}")
        self.scale, self.n_blocks, self.img_range = scale, b, float(img_range)
        mid = c if mid_channels is None else mid_channels
        self.conv_1 = nn.Conv2d(colors, c, 3, padding=1)
        for i in range(1, b + 1):
            self.add_module(f"block_{i}", RLFB(c, mid))
        self.conv_2 = nn.Conv2d(c, c, 3, padding=1)
        self.upsampler = nn.Sequential(nn.Conv2d(c, colors * scale * scale, 3, padding=1), nn.PixelShuffle(scale))
        self.start_at_nearest_()

    @torch.no_grad()
    def start_at_nearest_(self) -> None:
        """Make the untrained network output the nearest-neighbour upscaling of its input.

        As in IMDN (same head / body / global residual / upsampler layout): the first `colors`
        head channels carry the (scaled) input, conv_2 starts at zero so the global residual is
        the head alone, and the upsampler copies those channels to every sub-pixel. The other
        weights keep PyTorch's default init (the authors' code has no init of its own).
        """
        colors = self.conv_1.in_channels
        s2 = self.scale * self.scale
        self.conv_1.weight[:colors].zero_()
        self.conv_1.bias[:colors].zero_()
        for k in range(colors):
            self.conv_1.weight[k, k, 1, 1] = 1.0
        self.conv_2.weight.zero_()
        self.conv_2.bias.zero_()
        up = self.upsampler[0]
        up.weight.zero_()
        up.bias.zero_()
        for k in range(colors):  # PixelShuffle: output channel k reads channels k*s2 .. k*s2 + s2-1
            up.weight[k * s2:(k + 1) * s2, k, 1, 1] = 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.conv_1(x * self.img_range)
        y = f
        for i in range(1, self.n_blocks + 1):
            y = getattr(self, f"block_{i}")(y)
        return self.upsampler(self.conv_2(y) + f) / self.img_range


def build(b: int, c: int, scale: int, colors: int, *, mid_channels: int | None, img_range: float) -> nn.Module:
    """mid_channels: width inside each RLFB's three 3x3 convs (None: C; the NTIRE 2022 file: 48).
    img_range: the pixel range the convs see (the released RLFNs were trained on 0..255)."""
    return RLFN(b, c, scale, colors, mid_channels=mid_channels, img_range=img_range)
