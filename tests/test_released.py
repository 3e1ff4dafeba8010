"""Released checkpoints: state-dict unwrapping, key maps, and the three NTIRE files loaded strictly.

The files live outside the project (../shared/checkpoints, or $REPBENCH_SHARED_CHECKPOINTS);
without them those tests skip. They are never copied into the repository.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import methods
from methods.released import key_map, rename_keys, unwrap_state_dict
from repbench.published.convert import Architecture, load_into
from repbench.scoring.images import read_image
from repbench.scoring.imresize import imresize
from repbench.scoring.metrics import psnr_rgb

# (file, method, size, options, re-parameterized?, published params, published #conv)
RELEASED = {
    "imdn": ("ntire2022_imdn_baseline_x4.pth", "imdn", "B8", {}, False, 893_936, 43),
    "rlfn": ("ntire2022_rlfn_x4.pth", "rlfn", "B4C46", {"mid_channels": 48}, False, 317_218, 39),
    "span": ("ntire2024_span_ch28_slim_x4.pth", "span", "C28B6", {}, True, 150_688, 22),
}


def checkpoints_dir() -> Path:
    env = os.environ.get("REPBENCH_SHARED_CHECKPOINTS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "checkpoints"


def _sd(*names: str) -> dict[str, torch.Tensor]:
    return {n: torch.full((2,), float(i)) for i, n in enumerate(names)}


def test_unwrap_plain_and_wrapped_state_dicts() -> None:
    sd = _sd("a.weight", "a.bias")
    assert unwrap_state_dict(sd) == sd  # (the same tensor objects, so == compares by identity)
    assert unwrap_state_dict({"params": sd, "iter": 7}) == sd
    assert unwrap_state_dict({"state_dict": {"module.a.weight": sd["a.weight"], "module.a.bias": sd["a.bias"]}}) == sd
    assert unwrap_state_dict({"checkpoint": 1, "model": {"params": sd}}) == sd  # nested wrappers
    ema = _sd("a.weight", "a.bias", "b.weight")
    assert unwrap_state_dict({"params": sd, "params_ema": ema}) == ema  # BasicSR evaluates the EMA weights
    # A prefix only some keys carry is a real name, not a wrapper.
    mixed = _sd("module.a.weight", "b.weight")
    assert unwrap_state_dict(mixed) == mixed


@pytest.mark.parametrize("blob,match", [({"epoch": 3, "optimizer": {"lr": 1}}, "none of params_ema"),
                                        ([1, 2], "found list"), ({}, "its entries are nothing")])
def test_unwrap_says_what_it_found(blob: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        unwrap_state_dict(blob)


def test_rename_keys_applies_rules_in_order_and_drops_empty_keys() -> None:
    rules = ((r"^B(\d+)\.", r"block_\1."), (r"^block_1\.", "first."), (r"^.*\.eval_conv\..*$", ""))
    out = rename_keys(_sd("B1.c.weight", "B2.c.weight", "B2.x.eval_conv.bias"), rules)
    assert list(out) == ["first.c.weight", "block_2.c.weight"]
    with pytest.raises(ValueError, match="two released keys"):
        rename_keys(_sd("B1.w", "block_1.w"), ((r"^B1\.", "block_1."),))


def test_key_maps_are_found_by_name() -> None:
    assert key_map("span", deployed=True) == ((r"\.eval_conv\.", "."),)
    with pytest.raises(ValueError, match="no key map for training-form"):
        key_map("plain")
    with pytest.raises(ValueError, match="RELEASED_KEYS_DEPLOYED"):
        key_map("rlfn", deployed=True)


def _set5_bird(scale: int = 4) -> tuple[np.ndarray, np.ndarray]:
    folder = Path(os.environ.get("REPBENCH_SHARED_DATASETS") or checkpoints_dir().parent / "datasets")
    path = folder / "Set5" / "HR" / "bird.png"
    if not path.is_file():
        pytest.skip(f"Set5 not found at {path.parent} (set REPBENCH_SHARED_DATASETS)")
    hr = read_image(path)
    hr = hr[: hr.shape[0] // scale * scale, : hr.shape[1] // scale * scale]
    return hr, imresize(hr, 1 / scale)


@pytest.mark.parametrize("name", sorted(RELEASED))
def test_released_checkpoint_loads_strictly_and_upscales(name: str) -> None:
    file, method, size, options, deployed, params, convs = RELEASED[name]
    path = checkpoints_dir() / file
    if not path.is_file():
        pytest.skip(f"released checkpoint {path} not found (set REPBENCH_SHARED_CHECKPOINTS)")
    raw = unwrap_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    mapped = rename_keys(raw, key_map(method, deployed))
    assert len(mapped) == len(raw)  # every released tensor has a place
    arch = Architecture(method, size, 4, 3, "deployed" if deployed else "training", tuple(sorted(options.items())))
    model = load_into(raw, arch, str(path))  # every key by name, every shape checked, strict=True
    assert methods.count_params(model) == params
    assert sum(isinstance(m, nn.Conv2d) for m in model.modules()) == convs
    hr, lr = _set5_bird()
    x = torch.from_numpy(lr).permute(2, 0, 1)[None].float() / 255  # every zoo network takes [0, 1]
    with torch.no_grad():
        y = model(x)
    sr = (y[0].permute(1, 2, 0).clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    nearest = np.repeat(np.repeat(lr, 4, axis=0), 4, axis=1)
    bicubic = imresize(lr, 4)
    psnr = psnr_rgb(sr, hr, 4)
    assert psnr > psnr_rgb(nearest, hr, 4) and psnr > psnr_rgb(bicubic, hr, 4) + 2.0, psnr
