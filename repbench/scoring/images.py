"""Reading and writing images as uint8 HxWxC arrays (C = 1 or 3), with clear errors.

Conversions applied on read (the same ones `as_uint8_image` applies to arrays):

* grayscale stays single-channel (HxWx1): benchmark sets score gray images on their
  intensity, so they must not be expanded to RGB;
* an alpha channel (RGBA, gray+alpha) is dropped and the stored colour values are
  kept unchanged, as MATLAB's and OpenCV's `imread` do; no compositing onto a background;
* 16-bit images are reduced to 8 bits by keeping the high byte (v >> 8). Pillow does
  exactly this for 16-bit RGB PNGs, so gray and colour 16-bit files get the same rule;
* palette, bilevel, CMYK and other colour modes are converted to RGB (or gray for
  bilevel) by Pillow;
* EXIF orientation is ignored: benchmark images are used as stored.
"""
from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path
from typing import Iterable

import numpy as np

from repbench.atomic import atomic_open
from repbench.errors import RepbenchError

IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff", ".ppm", ".pgm", ".webp")


def as_uint8_image(arr: np.ndarray, source: str = "array") -> np.ndarray:
    """Apply the documented conversions to an in-memory image array."""
    arr = np.asarray(arr)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise RepbenchError(f"{source}: expected an HxW or HxWxC image, got shape {arr.shape}")
    channels = arr.shape[2]
    if channels == 2:  # gray + alpha
        arr = arr[:, :, :1]
    elif channels == 4:  # RGBA
        arr = arr[:, :, :3]
    elif channels not in (1, 3):
        raise RepbenchError(f"{source}: {channels} channels is not an image format repbench reads (use gray or RGB)")

    if arr.dtype == np.uint8:
        pass
    elif arr.dtype == np.bool_:
        arr = arr.astype(np.uint8) * 255
    elif arr.dtype == np.uint16:
        arr = (arr >> 8).astype(np.uint8)
    elif np.issubdtype(arr.dtype, np.integer) and arr.size and arr.min() >= 0 and arr.max() <= 65535:
        # Pillow reports some 16-bit grayscale files as 32-bit integer ("I") images.
        arr = (arr.astype(np.uint16) >> 8).astype(np.uint8)
    else:
        raise RepbenchError(
            f"{source}: pixels of type {arr.dtype} are not supported; convert the image to 8- or 16-bit integer"
        )
    return np.ascontiguousarray(arr)


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as uint8 HxWxC with C in {1, 3} (see the module doc for conversions)."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise RepbenchError(f"image file {path} does not exist")
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("1",):
                im = im.convert("L")
            elif im.mode == "P":
                im = im.convert("RGBA" if "transparency" in im.info else "RGB")
            elif im.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
                im = im.convert("RGB")
            elif im.mode == "PA":
                im = im.convert("RGBA")
            arr = np.asarray(im)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise RepbenchError(f"cannot read image {path}: the file is corrupt or not an image ({err})") from err
    except Exception as err:  # decoder bugs on hostile files must still name the file
        raise RepbenchError(f"cannot read image {path}: {type(err).__name__}: {err}") from err
    return as_uint8_image(arr, source=str(path))


def write_image(path: str | os.PathLike, arr: np.ndarray, compress_level: int | None = None) -> Path:
    """Write a uint8 HxW / HxWx1 / HxWx3 image; the format follows the suffix (PNG is lossless).

    `compress_level` (PNG only, 0-9) trades file size for speed; the cache uses 1.

    Atomic: the file is written under a temporary name in the same folder and renamed.
    """
    from PIL import Image

    path = Path(path)
    arr = np.asarray(arr)
    if arr.dtype != np.uint8:
        raise RepbenchError(f"write_image expects uint8 pixels, got {arr.dtype}; round and clip first")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] == 3)):
        raise RepbenchError(f"write_image expects HxW, HxWx1 or HxWx3, got shape {arr.shape}")
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise RepbenchError(f"cannot tell the image format of {path}; use a suffix such as .png")
    options = {"compress_level": compress_level} if compress_level is not None and fmt == "PNG" else {}
    with atomic_open(path, "wb") as fh:
        Image.fromarray(np.ascontiguousarray(arr)).save(fh, format=fmt, **options)
    return path


def image_shape(path: str | os.PathLike) -> tuple[int, int, int] | None:
    """(height, width, channels) that `read_image` will return, from the file's header alone;
    None when the header cannot be read (reading the image then gives the error)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            width, height = im.size
            gray = im.mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")
    except Exception:  # a corrupt file is reported by read_image, with its name
        return None
    return height, width, 1 if gray else 3


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


def _png_filter(rows: np.ndarray, prior: np.ndarray, bpp: int) -> bytes:
    """Rows (n x L bytes) as PNG scanlines: each filtered by the filter (0-4) that makes the sum of its
    |signed bytes| least (libpng's heuristic, which Pillow also uses), prefixed with the filter's number."""
    x = rows.astype(np.int16)
    b = np.concatenate([prior[None], rows[:-1]]).astype(np.int16)  # the row above; zeros above the first
    a, c = np.zeros_like(x), np.zeros_like(x)  # left and upper-left neighbours, zero off the left edge
    a[:, bpp:], c[:, bpp:] = x[:, :-bpp], b[:, :-bpp]
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    paeth = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
    candidates = (np.stack([x, x - a, x - b, x - ((a + b) >> 1), x - paeth]) & 0xFF).astype(np.uint8)
    score = np.minimum(candidates, 256 - candidates.astype(np.int16)).sum(axis=2)
    best = score.argmin(axis=0)  # the first of equal scores, as libpng picks
    lines = np.empty((x.shape[0], x.shape[1] + 1), np.uint8)
    lines[:, 0] = best
    lines[:, 1:] = candidates[best, np.arange(x.shape[0])]
    return lines.tobytes()


def write_png_bands(path: str | os.PathLike, bands: Iterable[np.ndarray], height: int, width: int,
                    channels: int, compress_level: int = 6) -> Path:
    """Write an 8-bit gray (channels=1) or RGB PNG from bands of rows (uint8 rows x width x channels,
    `height` rows in all), band by band: unlike `write_image`, the whole image is never in memory
    (Pillow copies an RGB image to 4 bytes a pixel before encoding it). Atomic like `write_image`."""
    path = Path(path)
    row_bytes = width * channels
    step = max(1, (1 << 17) // row_bytes)  # ~128 KB of rows at a time: the temporaries stay in cache (3x faster)
    prior = np.zeros(row_bytes, np.uint8)
    # Z_FILTERED suits filtered scanlines (libpng's and Pillow's choice): files within ~1% of Pillow's.
    deflate = zlib.compressobj(compress_level, zlib.DEFLATED, 15, 8, zlib.Z_FILTERED)
    done = 0
    with atomic_open(path, "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n")
        fh.write(_png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0 if channels == 1 else 2, 0, 0, 0)))
        for band in bands:
            rows = np.ascontiguousarray(band, np.uint8).reshape(-1, row_bytes)
            for i in range(0, rows.shape[0], step):
                packed = deflate.compress(_png_filter(rows[i : i + step], prior, channels))
                prior = rows[min(i + step, rows.shape[0]) - 1].copy()  # a view would keep the band alive
                if packed:
                    fh.write(_png_chunk(b"IDAT", packed))
            done += rows.shape[0]
        if done != height:
            raise RepbenchError(f"{path}: {done} rows were written to a PNG of {height} rows")
        fh.write(_png_chunk(b"IDAT", deflate.flush()))
        fh.write(_png_chunk(b"IEND", b""))
    return path


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files directly inside `folder`, sorted by name; clear errors for missing/empty folders."""
    folder = Path(folder)
    if not folder.exists():
        raise RepbenchError(f"image folder {folder} does not exist")
    if not folder.is_dir():
        raise RepbenchError(f"{folder} is not a folder; give the folder that holds the HR images")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise RepbenchError(
            f"image folder {folder} holds no images (looked for {', '.join(IMAGE_SUFFIXES)})"
        )
    return files
