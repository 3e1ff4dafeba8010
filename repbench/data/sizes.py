"""A dataset's LR image sizes at a scale, known without decoding or preparing anything.

The pipeline's plan checks each run's training patch against them (repbench.training.patch_fit), so that a
patch no training image can hold fails `snakemake -n`, not a training job. That check runs on every
Snakemake start, so it must cost milliseconds: preparing the cpu preset's T91 + BSD200 at x4 alone
takes about 17 s (2 cores) and the smoke preset's embedded photos about 2 s per scale, while reading
the 291 headers of T91 + BSD200 takes under 0.1 s.

An image's LR size at scale s is its HR size cut down to a multiple of s (modcrop), divided by s:
(H // s, W // s), exactly what repbench.data.cache.make_pair makes.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from repbench.data.cache import read_manifest
from repbench.data.registry import Dataset, get_dataset
from repbench.data.sources import Resolved, embedded_folder, resolve, source_fingerprint
from repbench.errors import RepbenchError
from repbench.scoring.images import list_images


@dataclass(frozen=True)
class LrSize:
    name: str  # the image's name in the dataset (its file stem), as the prepared pairs name it
    height: int
    width: int


def lr_sizes(name: str, scale: int) -> list[LrSize] | None:
    """The LR sizes of a registered dataset's images at `scale`, sorted by name: from the prepared
    cache's manifest when it matches the source, else from the HR files' headers.

    None when they cannot be known cheaply (a download not unpacked yet, a missing or empty folder,
    a file Pillow cannot identify): the training job then finds out for itself."""
    ds = get_dataset(name)
    try:
        resolved: Resolved | None = resolve(ds)
    except RepbenchError:
        resolved = None
    manifest = read_manifest(ds.name, scale)
    if manifest and (resolved is None or manifest.get("fingerprint") == source_fingerprint(ds, resolved)):
        return sorted((LrSize(str(e["name"]), int(e["lr_shape"][0]), int(e["lr_shape"][1]))
                       for e in manifest.get("images", [])), key=lambda s: s.name)
    files = _hr_files(ds, resolved) if resolved is not None else None
    if not files:
        return None
    sizes = []
    for stem, path in files:
        size = _header_size(path)
        if size is None:
            return None
        width, height = size
        sizes.append(LrSize(stem, height // scale, width // scale))
    return sizes


def _hr_files(ds: Dataset, resolved: Resolved) -> list[tuple[str, Path]] | None:
    """(stem, file) of the HR images a prepare would read, where no download or unpacking is needed."""
    source = resolved.source
    try:
        if source.kind == "local" and resolved.folder is not None:
            files = list_images(resolved.folder)
        elif source.kind == "embedded":
            files = [embedded_folder() / image for image in source.images]
        else:
            return None  # an archive: its members are only known once it is downloaded and unpacked
    except RepbenchError:
        return None
    if not all(f.is_file() for f in files):
        return None
    return sorted((f.stem, f) for f in files)


def _header_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from the file's header: Image.open reads no pixels until asked to."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.size
    except (UnidentifiedImageError, OSError, ValueError):
        return None
