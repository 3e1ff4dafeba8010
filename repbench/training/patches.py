"""Random aligned HR/LR training patches, cut from pre-computed MATLAB-bicubic LR images.

No resizing happens in the training loop: the LR images come from the data
registry (`repbench.data.load_pairs`), and a batch is a set of aligned crops
(LR patch p x p at (y, x) <-> HR patch p*s x p*s at (y*s, x*s)) with a random
flip / 90-degree rotation (the 8 symmetries of the square).

Randomness is counter-based: batch `t` is drawn from a generator seeded by
(seed, t). Batches therefore do not depend on which worker process made them,
nor on whether the run was interrupted and resumed: a resumed run just starts
the counter where it stopped.
"""
from __future__ import annotations

import signal
from typing import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from repbench.errors import RepbenchError

# ITU-R BT.601 luma on 0..255 (16..235), the SR community's Y channel.
_BT601 = np.array([65.481, 128.553, 24.966], dtype=np.float32) / 255.0


def to_model_input(img: np.ndarray, colors: int) -> np.ndarray:
    """uint8 HxWxC -> float32 CxHxW in [0, 1] for a model with `colors` channels.

    colors=1: Y/255 (BT.601) for RGB images, raw intensity for gray ones (as the
    evaluation scores gray images). colors=3: gray images are replicated to RGB.
    """
    if img.ndim == 2:
        img = img[:, :, None]
    x = img.astype(np.float32)
    if colors == 1:
        y = x[:, :, 0] if x.shape[2] == 1 else 16.0 + x[:, :, :3] @ _BT601
        return (y / 255.0)[None]
    if x.shape[2] == 1:
        x = np.repeat(x, 3, axis=2)
    return np.ascontiguousarray(x[:, :, :3].transpose(2, 0, 1)) / 255.0


def _augment(a: np.ndarray, code: int) -> np.ndarray:
    """One of the 8 symmetries of the square: bit 0 flips W, bit 1 flips H, bit 2 transposes."""
    if code & 1:
        a = a[:, ::-1]
    if code & 2:
        a = a[::-1]
    if code & 4:
        a = a.transpose(1, 0, 2)
    return a


class PatchSampler:
    """Draws batch `t` deterministically from (seed, t).

    patch_size is in LR pixels; from iteration `stage2_start` on (0-based), the patch
    size becomes `patch_size_stage2` (the two-stage schedule; 0 disables it).
    Images smaller than the current patch are skipped.
    """

    def __init__(
        self,
        pairs: Sequence,
        scale: int,
        colors: int,
        batch_size: int,
        patch_size: int,
        seed: int = 0,
        patch_size_stage2: int = 0,
        stage2_start: int = 0,
        augment: bool = True,
    ):
        if not pairs:
            raise RepbenchError("the training set is empty; check --train-data")
        self.hr = [p.hr if p.hr.ndim == 3 else p.hr[:, :, None] for p in pairs]
        self.lr = [p.lr if p.lr.ndim == 3 else p.lr[:, :, None] for p in pairs]
        for pair, hr, lr in zip(pairs, self.hr, self.lr):
            if hr.shape[:2] != (lr.shape[0] * scale, lr.shape[1] * scale):
                raise RepbenchError(
                    f"training pair {pair.name!r}: HR {hr.shape[:2]} is not x{scale} of LR {lr.shape[:2]}; "
                    f"the LR images must be the x{scale} bicubic downscale of the modcropped HR"
                )
        self.scale, self.colors, self.batch_size = scale, colors, batch_size
        self.patch_size, self.patch_size_stage2, self.stage2_start = patch_size, patch_size_stage2, stage2_start
        self.seed, self.augment = seed, augment
        self._eligible: dict[int, np.ndarray] = {}
        for p in {patch_size, patch_size_stage2} - {0}:
            self.eligible(p)  # fail early, before any training

    def patch_size_at(self, t: int) -> int:
        return self.patch_size_stage2 if self.patch_size_stage2 and t >= self.stage2_start else self.patch_size

    def eligible(self, p: int) -> np.ndarray:
        """Indices of the images whose LR is at least p x p."""
        if p not in self._eligible:
            idx = np.array([i for i, lr in enumerate(self.lr) if lr.shape[0] >= p and lr.shape[1] >= p], dtype=np.int64)
            if idx.size == 0:
                biggest = max(min(lr.shape[:2]) for lr in self.lr)
                raise RepbenchError(
                    f"no training image is large enough for LR patches of {p}x{p} (largest LR side: {biggest}); "
                    f"lower patch_size (e.g. --set patch_size={biggest}) or use larger training images"
                )
            self._eligible[p] = idx
        return self._eligible[p]

    def batch(self, t: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(lr, hr) float32 tensors, N x C x p x p and N x C x ps x ps, in [0, 1]."""
        p, s = self.patch_size_at(t), self.scale
        rng = np.random.default_rng([self.seed, t])
        images = rng.choice(self.eligible(p), size=self.batch_size)
        lrs, hrs = [], []
        for i in images:
            lr_img, hr_img = self.lr[i], self.hr[i]
            y = int(rng.integers(0, lr_img.shape[0] - p + 1))
            x = int(rng.integers(0, lr_img.shape[1] - p + 1))
            code = int(rng.integers(0, 8)) if self.augment else 0
            lr_patch = _augment(lr_img[y : y + p, x : x + p], code)
            hr_patch = _augment(hr_img[y * s : (y + p) * s, x * s : (x + p) * s], code)
            lrs.append(to_model_input(lr_patch, self.colors))
            hrs.append(to_model_input(hr_patch, self.colors))
        return torch.from_numpy(np.stack(lrs)), torch.from_numpy(np.stack(hrs))


class PatchBatches(IterableDataset):
    """Batches start..stop-1 of a sampler, for a DataLoader (batch_size=None).

    With W workers, worker w makes batches start+w, start+w+W, ...; the DataLoader
    hands them back in round-robin order, so the stream is the same for any W.
    """

    def __init__(self, sampler: PatchSampler, start: int, stop: int):
        self.sampler, self.start, self.stop = sampler, start, stop

    def __iter__(self) -> Iterator[tuple[int, torch.Tensor, torch.Tensor]]:
        info = get_worker_info()
        first, step = (self.start, 1) if info is None else (self.start + info.id, info.num_workers)
        for t in range(first, self.stop, step):
            yield (t, *self.sampler.batch(t))


def _worker_init(_worker_id: int) -> None:
    # Ctrl-C goes to the whole process group: workers ignore it and the main
    # process finishes its iteration, saves a checkpoint and shuts them down.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)


def batch_loader(sampler: PatchSampler, start: int, stop: int, workers: int, pin_memory: bool = False) -> Iterator:
    """Iterator over (t, lr, hr) for t in [start, stop). workers=0 samples in the main process."""
    dataset = PatchBatches(sampler, start, stop)
    if workers <= 0:
        return iter(dataset)
    loader = DataLoader(
        dataset,
        batch_size=None,
        num_workers=workers,
        worker_init_fn=_worker_init,
        pin_memory=pin_memory,
        prefetch_factor=4,
    )
    return iter(loader)
