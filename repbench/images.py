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
from pathlib import Path

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
