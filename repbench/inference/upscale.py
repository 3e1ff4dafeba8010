"""Upscale images with a trained model: what a user does with a run's deployed.pt.

- RGB models work on RGB. Y models (colors=1) work on the BT.601 Y channel; Cb and Cr
  are upscaled with MATLAB bicubic (the usual practice of the Y-channel SR papers).
- A grayscale image stays grayscale: a Y model sees its intensity (as the evaluation
  does), an RGB model sees it replicated and its output is averaged back to one channel.
- Large images are processed in tiles. Each tile is cut with `overlap` extra LR
  pixels on every side and only its centre is kept; when the overlap covers the
  network's receptive radius, the result equals whole-image inference (no seams).
- `bicubic` and `nearest` (with a scale) upscale the same way `repbench eval` scores them:
  the floors to look at beside a model's output.
- Memory grows with the tile, not with the image. Tiles are made a band (a row of tiles) at a
  time; each tile's output is turned into uint8 as soon as it is computed (for Y models after
  joining its own chroma and going back to RGB), and a PNG is encoded band by band
  (`write_png_bands`), so the whole output never exists, not even as uint8. Other formats are
  assembled as one uint8 image for Pillow. Chroma and the bicubic floor are computed per tile
  with the whole image's MATLAB-bicubic weights: tiling changes none of their pixels. The
  network's own float32 sums may differ in the last bit between input sizes (oneDNN picks its
  summation order by size; without it they are equal), which moves a rounded output pixel by 1
  in a few per 100,000: the same as before tiles were streamed.
- Before any work the memory and disk each image needs are estimated and compared with what is
  available: a clear error, not an out-of-memory crash midway through a folder.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch import nn

import methods
from repbench.device import model_device, resolve_device
from repbench.errors import RepbenchError
from repbench.scoring.images import image_shape, list_images, read_image, write_image, write_png_bands
from repbench.scoring.imresize import contributions, round_uint8  # the exact weights and rounding imresize uses
from repbench.scoring.metrics import rgb_to_ycbcr, ycbcr_to_rgb
from repbench.inference.modelfile import DEPLOYED_FIRST, is_floor, model_path

DEFAULT_TILE = 512  # LR pixels per tile side; 0 = whole image at once
Box = tuple[int, int, int, int]  # a tile: y0, y1, x0, x1 in input pixels
Planes = Callable[[slice, slice], np.ndarray]  # the input planes of a region (rows, cols), float64 on 0..255
Render = Callable[[Box], np.ndarray]  # a tile's output, uint8 sh x sw x C

# Working memory of one tile, measured (tile 0 on a 600x400 input: 103 B for Y models) and rounded up: bytes per
# output pixel of a tile (the float64 output, chroma, RGB and rounding temporaries) and per input pixel
# and network channel of an extended tile (float32 activations, a few alive at once).
_BYTES_PER_TILE_OUTPUT_PIXEL = 128
_BYTES_PER_ACTIVATION = 4 * 4
_LOSSY = (".jpg", ".jpeg", ".webp")  # no useful upper bound on their size short of the raw one


def load_model(spec: str | os.PathLike) -> Any:
    """'bicubic' or 'nearest' as they are; else the model a file or a run folder names (its deployed.pt,
    else final.pt; see repbench.inference.modelfile), merged when possible and in eval mode."""
    if is_floor(spec):
        return str(spec)
    path = model_path(spec, DEPLOYED_FIRST, floors=True)
    try:
        model = methods.load(path)
    except (FileNotFoundError, ValueError) as err:
        raise RepbenchError(str(err)) from err
    if not model.build_args.get("merged") and methods.is_mergeable(model.build_args["method"]):
        model = methods.merge(model)
    return model.eval()


def receptive_radius(model: Any) -> int:
    """An upper bound of the receptive radius in LR pixels: the sum of all conv half-widths.

    Exact for a plain conv stack; an overestimate for branched or upsampling nets, which is safe.
    """
    radius = 0
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            radius += max(m.dilation[0] * (m.kernel_size[0] - 1), m.dilation[1] * (m.kernel_size[1] - 1)) // 2
    return radius


def _spans(n: int, tile: int) -> list[tuple[int, int]]:
    """[start, end) of the tiles along a side of n pixels; one span when tile <= 0 or n <= tile."""
    if tile <= 0 or n <= tile:
        return [(0, n)]
    return [(i, min(i + tile, n)) for i in range(0, n, tile)]


def _extend(box: Box, pad: int, h: int, w: int) -> Box:
    """The tile grown by `pad` input pixels on every side, cut to the image."""
    y0, y1, x0, x1 = box
    return max(0, y0 - pad), min(h, y1 + pad), max(0, x0 - pad), min(w, x1 + pad)


def run_tiled(model: Any, x: Any, scale: int, tile: int = DEFAULT_TILE, overlap: int | None = None) -> Any:
    """model(x) for an N x C x H x W tensor, tile by tile when H or W exceeds `tile`."""
    n, _, h, w = x.shape
    with torch.no_grad():
        if tile <= 0 or (h <= tile and w <= tile):
            return model(x)
        pad = receptive_radius(model) if overlap is None else overlap
        out = None
        for y0, y1 in _spans(h, tile):
            for x0, x1 in _spans(w, tile):
                ey0, ey1, ex0, ex1 = _extend((y0, y1, x0, x1), pad, h, w)
                sr = model(x[:, :, ey0:ey1, ex0:ex1])
                if out is None:
                    out = sr.new_empty(n, sr.shape[1], h * scale, w * scale)
                oy, ox = (y0 - ey0) * scale, (x0 - ex0) * scale
                out[:, :, y0 * scale : y1 * scale, x0 * scale : x1 * scale] = sr[
                    :, :, oy : oy + (y1 - y0) * scale, ox : ox + (x1 - x0) * scale
                ]
        return out


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def _sr_tile(model: Any, planes: Planes, box: Box, size: tuple[int, int], pad: int, scale: int,
             device: Any) -> np.ndarray:
    """The model's output for one tile, float64 sh x sw x C on 0..255: the tile is cut with `pad` more
    input pixels on every side (the receptive radius), and only its centre is kept."""
    y0, y1, x0, x1 = box
    ey0, ey1, ex0, ex1 = _extend(box, pad, *size)
    lr = planes(slice(ey0, ey1), slice(ex0, ex1))
    x = torch.from_numpy(np.ascontiguousarray(lr.transpose(2, 0, 1)[None] / 255.0)).float().to(device)
    with torch.no_grad():
        sr = model(x)[0, :, (y0 - ey0) * scale : (y1 - ey0) * scale, (x0 - ex0) * scale : (x1 - ex0) * scale]
    return sr.clamp(0, 1).permute(1, 2, 0).cpu().double().numpy() * 255.0


def _resize_pass(img: np.ndarray, axis: int, weights: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """repbench.scoring.imresize's 1-D pass with given contributions: the same products, summed in the same order."""
    moved = np.moveaxis(img, axis, 0)
    extra = (1,) * (moved.ndim - 1)
    out = np.zeros((weights.shape[0],) + moved.shape[1:], dtype=np.float64)
    for k in range(weights.shape[1]):
        out += weights[:, k].reshape((-1,) + extra) * moved[idx[:, k]]
    return np.moveaxis(out, 0, axis)


class _Bicubic:
    """MATLAB-bicubic x`scale` of any tile, bit-identical to `imresize` of the whole image: the whole
    image's weights and source indices (mirrored at the image's borders, not the tile's) are cut to the
    tile's output pixels, and only the few input pixels around the tile that they reach are read."""

    def __init__(self, h: int, w: int, scale: int) -> None:
        self.scale = scale
        self.rows = contributions(h, h * scale, float(scale), "symmetric")
        self.cols = contributions(w, w * scale, float(scale), "symmetric")

    def tile(self, read: Callable[[slice, slice], np.ndarray], box: Box, rounded: bool) -> np.ndarray:
        """`rounded`: uint8 in and out, rounded after each pass as imresize does for uint8; else float64."""
        s = self.scale
        wr, ir = (a[box[0] * s : box[1] * s] for a in self.rows)  # the tile's output rows: weights, sources
        wc, ic = (a[box[2] * s : box[3] * s] for a in self.cols)
        r0, c0 = int(ir.min()), int(ic.min())
        out = _resize_pass(read(slice(r0, int(ir.max()) + 1), slice(c0, int(ic.max()) + 1)).astype(np.float64),
                           0, wr, ir - r0)  # rows first: imresize's order when both scales are equal
        if rounded:
            out = round_uint8(out).astype(np.float64)
        out = _resize_pass(out, 1, wc, ic - c0)
        return round_uint8(out) if rounded else out


def _model_renderer(model: Any, img: np.ndarray, overlap: int | None, device: Any) -> tuple[Render, int]:
    """The function making a tile's uint8 output with a model, and the output's channel count."""
    h, w, channels = img.shape
    scale, colors = model.build_args["scale"], model.build_args["colors"]
    pad = receptive_radius(model) if overlap is None else overlap

    def sr(planes: Planes, box: Box) -> np.ndarray:
        return _sr_tile(model, planes, box, (h, w), pad, scale, device)

    if colors == 3 and channels == 1:  # replicated to RGB, the output averaged back to one channel
        rgb = lambda r, c: np.repeat(img[r, c], 3, axis=2).astype(np.float64)  # noqa: E731
        return lambda box: _to_uint8(sr(rgb, box).mean(axis=2, keepdims=True)), 1
    if colors == 3 or channels == 1:  # RGB on RGB, or a Y model on a gray image's intensity
        return lambda box: _to_uint8(sr(lambda r, c: img[r, c].astype(np.float64), box)), channels
    chroma = _Bicubic(h, w, scale)
    ycc = lambda r, c: rgb_to_ycbcr(img[r, c])  # noqa: E731

    def y_tile(box: Box) -> np.ndarray:  # the model's Y, MATLAB-bicubic CbCr (float, unrounded), back to RGB
        y = sr(lambda r, c: ycc(r, c)[:, :, :1], box)
        cbcr = chroma.tile(lambda r, c: ycc(r, c)[:, :, 1:], box, rounded=False)
        return _to_uint8(ycbcr_to_rgb(np.concatenate([y, cbcr], axis=2)))

    return y_tile, 3


def _renderer(model: Any, img: np.ndarray, overlap: int | None, device: Any, scale: int | None) -> tuple[Render, int]:
    """(tile -> uint8 output, output channels) for a model or a floor; the floors are tiled versions of
    repbench.inference.evaluate.floor_upscale, pixel for pixel."""
    if not is_floor(model):
        return _model_renderer(model, img, overlap, device or model_device(model))
    if not scale:
        raise RepbenchError(f"--model {model} needs --scale (2, 3 or 4)")
    if model == "nearest":
        return lambda b: np.repeat(np.repeat(img[b[0] : b[1], b[2] : b[3]], scale, 0), scale, 1), img.shape[2]
    bicubic = _Bicubic(img.shape[0], img.shape[1], scale)
    return lambda box: bicubic.tile(lambda r, c: img[r, c], box, rounded=True), img.shape[2]


def upscale_bands(model: Any, img: np.ndarray, tile: int = DEFAULT_TILE, overlap: int | None = None,
                  device: Any = None, scale: int | None = None) -> tuple[tuple[int, int, int], Iterator[np.ndarray]]:
    """(output shape, its bands): uint8 rows of the output, a row of tiles at a time, made on demand.
    A floor ('bicubic', 'nearest') needs `scale`; a model has its own."""
    if img.ndim == 2:
        img = img[:, :, None]
    render, channels = _renderer(model, img, overlap, device, scale)
    scale = scale if is_floor(model) else model.build_args["scale"]
    h, w = img.shape[:2]
    cols = _spans(w, tile)

    def bands() -> Iterator[np.ndarray]:
        for y0, y1 in _spans(h, tile):
            band = np.empty(((y1 - y0) * scale, w * scale, channels), np.uint8)
            for x0, x1 in cols:
                band[:, x0 * scale : x1 * scale] = render((y0, y1, x0, x1))
            yield band

    return (h * scale, w * scale, channels), bands()


def upscale_image(model: Any, img: np.ndarray, tile: int = DEFAULT_TILE, overlap: int | None = None,
                  device: Any = None, scale: int | None = None) -> np.ndarray:
    """uint8 HxWxC (C = 1 or 3) -> uint8 sHxsWxC. A floor ('bicubic', 'nearest') needs `scale`."""
    return _assemble(*upscale_bands(model, img, tile, overlap, device, scale))


def _assemble(shape: tuple[int, int, int], bands: Iterator[np.ndarray]) -> np.ndarray:
    """The whole uint8 output, filled band by band (no list of bands to concatenate: half the memory)."""
    out, row = np.empty(shape, np.uint8), 0
    for band in bands:
        out[row : row + band.shape[0]] = band
        row += band.shape[0]
    return out


def available_memory() -> int:
    """Bytes this process can still take: the kernel's MemAvailable (free pages where /proc is missing),
    lowered to the room left under a cgroup (container) limit where one is set."""
    try:
        lines = Path("/proc/meminfo").read_text().splitlines()
        avail = next(int(line.split()[1]) * 1024 for line in lines if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError, IndexError):
        avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    for limit, usage in (("memory.max", "memory.current"), ("memory/memory.limit_in_bytes",
                                                            "memory/memory.usage_in_bytes")):  # cgroup v2, v1
        try:
            cap, used = (Path("/sys/fs/cgroup", f).read_text().strip() for f in (limit, usage))
            avail = min(avail, max(0, int(cap) - int(used)))  # "max" (no limit) is not a number
        except (OSError, ValueError):
            pass
    return avail


def needed_memory(model: Any, shape: tuple[int, int, int], scale: int, tile: int, overlap: int | None,
                  streamed: bool) -> int:
    """Bytes of memory upscaling an input of `shape` (h, w, c) needs, beyond the loaded model: one tile's
    working set, plus one band of output (`streamed`: a PNG) or the whole uint8 output and Pillow's copy."""
    h, w, c = shape
    th, tw = (h, w) if tile <= 0 else (min(tile, h), min(tile, w))
    channels = 0
    if not is_floor(model):
        pad = receptive_radius(model) if overlap is None else overlap
        th_in, tw_in = min(h, th + 2 * pad), min(w, tw + 2 * pad)
        channels = max((m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d)), default=0)
        channels = max(channels, 3) * th_in * tw_in * _BYTES_PER_ACTIVATION
    work = scale * scale * th * tw * _BYTES_PER_TILE_OUTPUT_PIXEL + channels + 4 * h * w * c
    if streamed:
        return work + scale * th * scale * w * c * 2  # the band being encoded and the next one
    return work + scale * scale * h * w * (c + (4 if c == 3 else 1))  # Pillow stores RGB as 4 bytes a pixel


def upscale_files(model_spec: str | os.PathLike, src: str | os.PathLike, dst: str | os.PathLike,
                  tile: int = DEFAULT_TILE, overlap: int | None = None, device: str = "auto",
                  log: Callable[[str], None] = print, scale: int | None = None) -> list[Path]:
    """IN.png OUT.png, or IN_DIR OUT_DIR (every image, written as <stem>.png).

    `scale` is required for a floor ('bicubic', 'nearest'); for a model it must be the model's, if given."""
    if tile < 0:
        raise RepbenchError(f"--tile must be >= 0 (input pixels per tile side; 0 = no tiling), got {tile}")
    if overlap is not None and overlap < 0:
        raise RepbenchError(f"--overlap must be >= 0 (extra input pixels around each tile), got {overlap}; "
                            "leave it out to use the network's receptive radius")
    model = _ready_model(model_spec, device, scale)
    src, dst = Path(src), Path(dst)
    if src.is_dir():
        if dst.exists() and not dst.is_dir():
            raise RepbenchError(f"{src} is a folder, so the output {dst} must be a folder too")
        jobs = [(p, dst / f"{p.stem}.png") for p in list_images(src)]
    elif src.is_file():
        jobs = [(src, dst / f"{src.stem}.png" if dst.is_dir() else dst)]
    else:
        raise RepbenchError(f"input {src} does not exist")
    for inp, out in jobs:  # every output path checked before any work is done
        if out.resolve() == inp.resolve():
            raise RepbenchError(f"output {out} would overwrite its input; choose another output path")
        _check_output_path(out)
    _check_resources(model, jobs, tile, overlap, scale)
    written = []
    for inp, out in jobs:
        shape, bands = upscale_bands(model, read_image(inp), tile=tile, overlap=overlap, scale=scale)
        try:
            if out.suffix.lower() == ".png":  # encoded band by band: the whole output is never in memory
                written.append(write_png_bands(out, bands, *shape))
            else:
                written.append(write_image(out, _assemble(shape, bands)))
        except OSError as err:
            raise RepbenchError(f"cannot write {out}: {err.strerror or err}; choose another output path") from err
        log(f"{inp} -> {out} ({shape[1]}x{shape[0]})")
    return written


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def _check_resources(model: Any, jobs: list[tuple[Path, Path]], tile: int, overlap: int | None,
                     scale: int | None) -> None:
    """Refuse, before any work, an image whose output does not fit in the memory or the disk available."""
    scale = scale if is_floor(model) else model.build_args["scale"]
    avail, disk = available_memory(), 0
    for inp, out in jobs:
        shape = image_shape(inp)
        if shape is None:  # unreadable: read_image reports it, naming the file
            continue
        streamed = out.suffix.lower() == ".png"
        need = needed_memory(model, shape, scale, tile, overlap, streamed)
        if need > avail:
            advice = ["a smaller --tile" if tile <= 0 or tile > 128 else "a smaller input",
                      "a .png output (encoded a band at a time)" if not streamed else ""]
            raise RepbenchError(
                f"upscaling {inp} ({shape[1]}x{shape[0]}) x{scale} with --tile {tile} needs about {_gb(need)} of "
                f"memory and {_gb(avail)} is available; use {' or '.join(a for a in advice if a)}")
        if out.suffix.lower() not in _LOSSY:
            disk += scale * scale * shape[0] * shape[1] * shape[2]  # raw pixels: what a PNG can grow to
    folder = next(p for p in jobs[0][1].parents if p.exists()) if jobs else None
    free = shutil.disk_usage(folder).free if folder else disk
    if disk > free:
        raise RepbenchError(f"the output needs up to {_gb(disk)} of disk (its raw pixels) and {folder} has "
                            f"{_gb(free)} free; free some space or choose another output folder")


def _ready_model(spec: str | os.PathLike, device: str, scale: int | None) -> Any:
    """The loaded model on its device (a floor as its name), its scale checked against `scale`."""
    model = load_model(spec)
    if is_floor(model):
        if scale not in (2, 3, 4):
            raise RepbenchError(f"--model {model} needs --scale 2, 3 or 4 (a fixed upsampler has no scale of its own)")
        return model
    own = int(model.build_args["scale"])
    if scale is not None and scale != own:
        raise RepbenchError(f"the model upscales x{own} but --scale is {scale}; use --scale {own} or leave it out")
    return model.to(resolve_device(device))


def _check_output_path(out: Path) -> None:
    """Refuse an output below an existing file (e.g. out.png/x.png), which no mkdir can create."""
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise RepbenchError(f"cannot write {out}: {parent} is a file, not a folder; choose another output path")
            return
