"""The training and validation images of a run: registered datasets, and images held out for validation."""
from __future__ import annotations

from repbench import data
from repbench.errors import RepbenchError
from repbench.training.config import HOLDOUT


def load_pairs(names: str, scale: int, role: str) -> list[data.Pair]:
    """Pairs of one dataset, or of several joined with commas (e.g. "DIV2K-train,Flickr2K")."""
    pairs = []
    for name in (n.strip() for n in names.split(",") if n.strip()):
        if not data.available(name):
            raise RepbenchError(
                f"{role} dataset {name!r} is not available here; prepare it with `repbench data` "
                f"or choose another one (skimage-train and skimage-test are always available)"
            )
        pairs += data.load_pairs(name, scale)
    return pairs


def split_holdout(pairs: list[data.Pair], count: int) -> tuple[list[data.Pair], list[data.Pair]]:
    """(training pairs, held-out pairs): `count` pairs evenly spaced through the name-sorted list.

    Held-out images never reach the patch sampler, so validation measures generalization
    without touching a test set."""
    if count >= len(pairs):
        raise RepbenchError(
            f"cannot hold out {count} of {len(pairs)} training images for validation; use fewer (e.g. {HOLDOUT}{max(1, len(pairs) // 5)})"
        )
    order = sorted(range(len(pairs)), key=lambda i: pairs[i].name)
    step = len(order) / count
    held = {order[int(step * k + step / 2)] for k in range(count)}
    return [p for i, p in enumerate(pairs) if i not in held], [p for i, p in enumerate(pairs) if i in held]
