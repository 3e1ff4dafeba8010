"""Where a dataset's HR images come from: a local folder, a download, or the embedded photos."""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from repbench.data.download import extract
from repbench.data.registry import CACHE_FORMAT, Dataset, Source, datasets_root, override_env_var
from repbench.errors import RepbenchError
from repbench.scoring.images import list_images, read_image


def _local_folder(source: Source) -> Path:
    text = os.path.expandvars(str(source.path)).replace("{datasets_root}", str(datasets_root()))
    return Path(text).expanduser()


@dataclass(frozen=True)
class Resolved:
    """The source a dataset will be built from, after overrides and existence checks."""

    source: Source
    folder: Path | None = None  # local folder (or an override)


def resolve(ds: Dataset, path: str | os.PathLike | None = None) -> Resolved:
    override = path or os.environ.get(override_env_var(ds.name))
    if override:
        folder = Path(override).expanduser()
        return Resolved(Source(kind="local", path=str(folder)), folder)
    missing: list[str] = []
    for source in ds.sources:
        if source.kind == "local":
            folder = _local_folder(source)
            if folder.is_dir():
                return Resolved(source, folder)
            missing.append(str(folder))
        else:
            return Resolved(source)
    raise RepbenchError(
        f"dataset {ds.name!r} is not present: folder {', '.join(missing)} does not exist. "
        f"Point it at your HR images with {override_env_var(ds.name)}=/path/to/HR or `--path`"
    )


def embedded_folder() -> Path:
    import skimage.data

    return Path(skimage.data.__file__).parent


def source_fingerprint(ds: Dataset, resolved: Resolved) -> str:
    """Changes whenever the images a prepare would read change."""
    src = resolved.source
    if src.kind == "local":
        assert resolved.folder is not None
        files = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in list_images(resolved.folder)]
        blob = json.dumps(["local", str(resolved.folder.resolve()), files])
    elif src.kind == "download":
        blob = json.dumps(["download", src.url, src.sha256, src.md5, src.members])
    else:
        import skimage

        blob = json.dumps(["embedded", skimage.__version__, list(src.images)])
    return hashlib.sha256(f"{CACHE_FORMAT}:{blob}".encode()).hexdigest()[:16]


def hr_images(ds: Dataset, resolved: Resolved, progress: bool) -> list[tuple[str, Callable[[], np.ndarray]]]:
    """(image name, loader) for every HR image of the resolved source, sorted by name."""
    src = resolved.source
    if src.kind == "local":
        assert resolved.folder is not None
        files = list_images(resolved.folder)
    elif src.kind == "embedded":
        folder = embedded_folder()
        files = []
        for image in src.images:
            file = folder / image
            if not file.is_file():
                raise RepbenchError(
                    f"dataset {ds.name!r}: scikit-image has no bundled {image} (looked in {folder}); "
                    "update data/datasets.yaml for this scikit-image version"
                )
            files.append(file)
    else:
        files = list_images(extract(ds, src, progress))
    stems: dict[str, Path] = {}
    for file in files:
        if file.stem in stems:
            raise RepbenchError(f"dataset {ds.name!r}: two images share the name {file.stem!r}: {stems[file.stem]} and {file}")
        stems[file.stem] = file
    return [(stem, (lambda f=file: read_image(f))) for stem, file in sorted(stems.items())]
