"""The dataset registry (data/datasets.yaml), the prepared-pair cache, and downloads.

`load_pairs(name, scale)` is the one call most code needs: it returns HR images
modcropped to a multiple of `scale` with their MATLAB-bicubic LR, preparing the
cache first when it is missing or out of date. Cache layout, per dataset and scale:

    <cache>/<name>/X<s>/HR/<image>.png     HR, modcropped
    <cache>/<name>/X<s>/LR/<image>.png     imresize(HR, 1/s), symmetric border
    <cache>/<name>/X<s>/manifest.json      written last; records the source fingerprint

A scale whose manifest matches the current source is never rebuilt (idempotent).

Modules: `registry` (datasets and locations), `sources` (where HR images come from), `download`,
`cache` (prepare and load the HR/LR pairs).
"""
from __future__ import annotations

from repbench.data.registry import (
    CACHE_FORMAT,
    CHUNK,
    Dataset,
    KINDS,
    Pair,
    ROLES,
    SCALES,
    Source,
    cache_root,
    datasets_root,
    downloads_root,
    get_dataset,
    load_registry,
    locked,
    override_env_var,
    registry_path,
    repo_root,
)
from repbench.data.download import (
    archive_path,
    download,
    extract,
)
from repbench.data.sources import (
    Resolved,
    embedded_folder,
    source_fingerprint,
    hr_images,
    resolve,
)
from repbench.data.cache import (
    available,
    default_dataset,
    iter_status,
    load_pairs,
    make_pair,
    pair_paths,
    pairs_from_folder,
    prepare,
    read_manifest,
)

# The package's public names: re-exported from its modules.
__all__ = [
    "CACHE_FORMAT", "CHUNK", "Dataset", "KINDS", "Pair", "ROLES", "SCALES", "Source", "cache_root", "datasets_root",
    "downloads_root", "get_dataset", "load_registry", "locked", "override_env_var", "registry_path", "repo_root",
    "archive_path", "download", "extract", "Resolved", "embedded_folder", "source_fingerprint", "hr_images",
    "resolve", "available", "default_dataset", "iter_status", "load_pairs", "make_pair", "pair_paths",
    "pairs_from_folder", "prepare", "read_manifest",
]
