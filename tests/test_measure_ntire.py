"""`repbench measure --protocol ntire`: the NTIRE Efficient SR challenges' figures, pinned to the published ones.

Published (x4, RGB, one 256x256 LR input; /work/shared/checkpoints/README.md):
  IMDN baseline (NTIRE 2022): 893,936 params, 58.53 G FLOPs (the 2022 counter), 43 convs.
  RLFN (NTIRE 2022, ByteESR): 317,218 params, 19.70 G (2022 counter), 19.67 G (fvcore), 39 convs.

Which count gives which figure (exact integers below; "G" = 1e9, two decimals as published):
  * the 2022 "FLOPs" are `flops_ntire2022`: conv MACs without bias PLUS one per output element of every
    activation module. The bare conv MACs (`macs_conv_no_bias`) miss them by the LeakyReLU outputs:
    IMDN 58.43 G vs 58.53 G (0.10 G = 8 blocks x 3 LeakyReLUs x 64 channels x 256 x 256 = 100,663,296);
    RLFN 19.66 G vs 19.70 G (0.037 G = 4 blocks x (48 + 48 + 46) channels x 256 x 256 = 37,224,448).
  * the 2024 "FLOPs" are fvcore's total: conv MACs plus 4 per output element of a bilinear upsampling
    (RLFN's ESA: 4 x 16 x 4 x 256 x 256 = 16,777,216), no activations: RLFN 19.67 G; IMDN 58.43 G.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from methods import registry
from repbench import measure
from repbench.cli import main as cli_main

G = 1e9


def _g(n: int) -> str:
    return f"{n / G:.2f}"


@pytest.fixture(scope="module")
def imdn() -> measure.NtireCounts:
    return measure.ntire_counts(measure.build_pair("imdn", "B8", scale=4, colors=3).deployed, 3)


def test_imdn_baseline_reproduces_the_published_figures(imdn: measure.NtireCounts) -> None:
    assert imdn.params == 893_936 and imdn.convs == 43 and imdn.flops_lr_hw == (256, 256)
    # Published 58.53 G: the 2022 counter's total, conv MACs + LeakyReLU outputs.
    assert imdn.flops_ntire2022 == 58_531_512_320 and _g(imdn.flops_ntire2022) == "58.53"
    assert imdn.flops_ntire2022_parts == {"conv": 58_430_849_024, "linear": 0, "activation": 100_663_296, "batchnorm": 0}
    assert imdn.flops_ntire2022_parts["activation"] == 8 * 3 * 64 * 256 * 256
    # Conv MACs alone (fvcore counts nothing else in IMDN): 58.43 G, 0.10 G under the published figure.
    assert imdn.macs_conv_no_bias == imdn.flops_fvcore == 58_430_849_024 and _g(imdn.flops_fvcore) == "58.43"
    assert imdn.flops_by_operator == {"conv": 58_430_849_024}
    per_pixel = 3 * 64 * 9 + 8 * (64 * 64 * 9 + 2 * 48 * 64 * 9 + 48 * 16 * 9 + 64 * 64) + 64 * 64 * 9 + 64 * 48 * 9
    assert imdn.macs_conv_no_bias == per_pixel * 256 * 256
    # Activations: output elements of the convs, fvcore's and the 2022 script's definitions alike.
    assert imdn.activations == imdn.activations_conv_outputs == 154_140_672
    assert imdn.activations == (64 + 8 * (4 * 64 + 16) + 64 + 48) * 256 * 256
    assert imdn.notes == [] and imdn.latency is None


@pytest.mark.skipif("rlfn" not in registry.methods(), reason="method rlfn is not registered")
def test_rlfn_reproduces_the_published_figures() -> None:
    # The NTIRE 2022 file (team04_rlfn.pth) is 4 blocks of 46 channels with 48 mid channels; the paper's
    # RLFN B6C52 is another network (543,740 parameters).
    pair = measure.build_pair("rlfn", "B4C46", scale=4, colors=3, mid_channels=48)
    c = measure.ntire_counts(pair.deployed, 3)
    assert c.params == 317_218 and c.convs == 39
    assert c.flops_ntire2022 == 19_695_306_752 and _g(c.flops_ntire2022) == "19.70"  # 2022 counter
    assert c.flops_fvcore == 19_674_859_520 and _g(c.flops_fvcore) == "19.67"  # fvcore (NTIRE 2024)
    assert c.flops_by_operator == {"conv": 19_658_082_304, "upsample_bilinear2d": 4 * 4 * 16 * 256 * 256}
    assert c.macs_conv_no_bias == 19_658_082_304 and _g(c.macs_conv_no_bias) == "19.66"  # neither figure
    assert c.flops_ntire2022_parts["activation"] == 4 * (48 + 48 + 46) * 256 * 256
    assert c.activations == c.activations_conv_outputs == 80_045_184


class _Toy(nn.Module):
    """One of each kind the 2022 counter tells apart, and kinds it does not see."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)  # depthwise: 9 MACs per output element
        self.bn = nn.BatchNorm2d(8)
        self.act = nn.PReLU()
        self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)
        self.fc = nn.Linear(4, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.bn(self.dw(self.conv(x))))
        y = torch.sigmoid(torch.relu(y))  # functional: invisible to module hooks
        y = self.act(self.up(y)[:, :, :, :4].mean(dim=(2,)))
        return self.fc(y)


def test_hook_counter_conventions() -> None:
    h, w = 6, 10
    counts = measure.hook_counts(_Toy().eval(), torch.rand(2, 3, h, w))
    n = 2 * h * w  # output positions of the first two convs
    assert counts["conv_true"] == n * 27 * 8 + n * 9 * 8 + 2 * h * w * 8 * 4 * 4
    # The 2022 script: k x C_in x C_out / groups per OUTPUT position, so a transposed conv counts stride^2 x.
    assert counts["conv"] == n * 27 * 8 + n * 9 * 8 + 2 * (2 * h) * (2 * w) * 4 * 8 * 4
    assert counts["batchnorm"] == 2 * n * 8  # affine: 2 per element
    assert counts["activation"] == n * 8 + 2 * 4 * 4  # both PReLU calls; torch.relu and sigmoid: nothing
    assert counts["linear"] == 2 * 4 * 4 * 5
    assert counts["conv_outputs"] == n * 8 * 2 + 2 * 4 * (2 * h) * (2 * w)


def test_paper_protocol_json_is_unchanged(tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    assert cli_main(["measure", "--method", "repsr", "--size", "M4C8", "--out", str(out)]) == 0
    assert list(json.loads(out.read_text())) == ["model", "counts", "throughput", "train_speed", "environment"]


def test_cli_ntire_record_and_latency(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m.json"
    rc = cli_main(["measure", "--method", "repsr", "--size", "M4C8", "--colors", "3", "--protocol", "ntire",
                   "--latency-dataset", "skimage-test", "--latency-images", "2", "--latency-warmup", "0",
                   "--device", "cpu", "--out", str(out)])
    assert rc == 0
    data = json.loads(out.read_text())
    assert list(data)[:5] == ["model", "counts", "throughput", "train_speed", "environment"]
    n = data["ntire"]
    assert n["params"] == data["counts"]["deployed_params"] and n["flops_lr_hw"] == [256, 256]
    macs = 9 * (3 * 8 + 4 * 8 * 8 + 8 * 48) * 256 * 256  # Mx-Cy closed form at 256x256
    assert n["flops_fvcore"] == n["macs_conv_no_bias"] == macs and n["convs"] == 6
    assert n["flops_ntire2022"] == macs + 5 * 8 * 256 * 256  # + the PReLU outputs
    lat = n["latency"]
    assert n["latency_dataset"] == "skimage-test" and lat["images"] == 2 and len(lat["per_image"]) == 2
    assert (lat["timer"], lat["dtype"], lat["batch"], lat["warmup"], lat["net"]) == ("perf_counter", "float32", 1, 0, "merged")
    assert lat["ms_min"] <= lat["ms_median"] <= lat["ms_max"] and lat["device_name"].startswith("CPU")
    printed = capsys.readouterr().out
    assert f"FLOPs, fvcore (2024)        {macs / G:.2f} G" in printed and "latency (skimage-test, 2 images" in printed


@pytest.mark.parametrize(("argv", "message"), [
    (["--latency-dataset", "skimage-test"], "belong to --protocol ntire"),
    (["--protocol", "ntire", "--latency-images", "2"], "give that too"),
    (["--protocol", "ntire", "--latency-dataset", "skimage-test", "--latency-images", "0"], "must be >= 1"),
    (["--protocol", "ntire", "--latency-dataset", "nope"], "unknown dataset 'nope'"),
])
def test_cli_ntire_errors_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["measure", "--method", "repsr", "--size", "M4C8", *argv]) == 2
    assert message in capsys.readouterr().err
