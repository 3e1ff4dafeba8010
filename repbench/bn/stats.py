"""Figure 5: per BN layer, the image's feature statistics against the population statistics."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from repbench.errors import RepbenchError
from repbench.bn.layers import image_statistics, predict, require_bn

# ----------------------------------------------------------------------------- Figure 5: statistics


def capture_bn_stats(model: Any, lr: Any, *, normalize_with: str = "population") -> list[dict[str, Any]]:
    """Per BN layer, the per-channel mean and variance of its input for one image.

    Forward hooks on every BN record the statistics of the tensor that enters it.
    normalize_with: "population" (eval mode, what the deployed network computes, so a
    deviation in an early layer propagates to later ones as in the paper's Figure 5) or
    "image" (every BN uses the image's own statistics). The variance is unbiased (n - 1),
    the convention of BN's running_var. Returns name, channels, and float64 numpy vectors
    mean, var, running_mean, running_var.
    """
    if normalize_with not in ("population", "image"):
        raise RepbenchError(f"normalize_with must be 'population' or 'image', got {normalize_with!r}")
    layers = require_bn(model)
    found: dict[str, dict[str, Any]] = {}
    population = {
        name: (bn.running_mean.detach().to("cpu", torch.float64).numpy().copy(),
               bn.running_var.detach().to("cpu", torch.float64).numpy().copy())
        for name, bn in layers
    }

    def hook_for(name: str) -> Any:
        def hook(_module: Any, inputs: tuple[Any, ...], _output: Any) -> None:
            x = inputs[0].detach().to(torch.float64)
            dims = [d for d in range(x.dim()) if d != 1]  # every axis but the channels
            found[name] = {
                "mean": x.mean(dim=dims).cpu().numpy(),
                "var": x.var(dim=dims, unbiased=True).cpu().numpy(),
            }

        return hook

    handles = [bn.register_forward_hook(hook_for(name)) for name, bn in layers]
    try:
        with image_statistics(model) if normalize_with == "image" else contextlib.nullcontext():
            predict(model, lr)
    finally:
        for handle in handles:
            handle.remove()
    stats = []
    for name, bn in layers:
        if name not in found:  # a BN on a branch this forward did not take
            continue
        mean_pop, var_pop = population[name]
        stats.append({
            "name": name,
            "channels": int(bn.num_features),
            "mean": found[name]["mean"],
            "var": found[name]["var"],
            "running_mean": mean_pop,
            "running_var": var_pop,
        })
    return stats


def bn_stat_profile(model: Any, lr_image: Any, *, normalize_with: str = "population") -> list[dict[str, Any]]:
    """Figure 5's numbers: per BN layer (in order), L1 norms over channels of the image's
    feature variance and mean and of the population running_var / running_mean.

    Each entry: index, name, channels, l1_var_image, l1_var_population, l1_mean_image,
    l1_mean_population, var_ratio (image / population).
    """
    profile = []
    for i, s in enumerate(capture_bn_stats(model, lr_image, normalize_with=normalize_with)):
        l1_var_img, l1_var_pop = float(np.abs(s["var"]).sum()), float(np.abs(s["running_var"]).sum())
        profile.append({
            "index": i,
            "name": s["name"],
            "channels": s["channels"],
            "l1_var_image": l1_var_img,
            "l1_var_population": l1_var_pop,
            "l1_mean_image": float(np.abs(s["mean"]).sum()),
            "l1_mean_population": float(np.abs(s["running_mean"]).sum()),
            "var_ratio": l1_var_img / l1_var_pop if l1_var_pop > 0 else None,
        })
    return profile


# Per panel: the statistic, its title and its axis label. The features are the BN layers' inputs for an
# image whose intensities are on [0, 1], so they carry no physical unit: arbitrary units (a.u.).
PROFILE_PANELS = (
    ("var", "variance of the BN input", "L1 norm of the per-channel variance,\nsum over channels (a.u.², input on [0, 1])"),
    ("mean", "mean of the BN input", "L1 norm of the per-channel mean,\nsum over channels (a.u., input on [0, 1])"),
)
PROFILE_TITLE = "BN layer inputs: the image's own statistics (solid) vs the population statistics (dashed)"


def draw_bn_profile(profiles: Mapping[str, Sequence[Mapping[str, Any]]], title: str | None = None) -> Any:
    """Figure 5 as a matplotlib Figure: L1 norms of variance (left) and mean (right) per BN layer.

    profiles: label -> bn_stat_profile(...). Image statistics are solid lines, population
    statistics dashed in the same colour (drawn once when several labels share them,
    e.g. two images through one model). `title` (default PROFILE_TITLE) should name the model
    and the image; the caller closes the figure.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    profiles = {k: list(v) for k, v in profiles.items() if v}
    if not profiles:
        raise RepbenchError("plot_bn_profile needs at least one non-empty profile (from bn_stat_profile)")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    drawn_population: list[tuple[np.ndarray, np.ndarray]] = []
    for k, (label, prof) in enumerate(profiles.items()):
        color = f"C{k % 10}"
        x = np.array([p.get("index", i) for i, p in enumerate(prof)])
        pop = (np.array([p["l1_var_population"] for p in prof]), np.array([p["l1_mean_population"] for p in prof]))
        new_pop = not any(
            a.shape == pop[0].shape and np.allclose(a, pop[0]) and np.allclose(b, pop[1]) for a, b in drawn_population
        )
        for ax, (key, _, _) in zip(axes, PROFILE_PANELS):
            ax.plot(x, [p[f"l1_{key}_image"] for p in prof], "-o", ms=3, color=color, label=f"{label}: image statistics")
            if new_pop:
                ax.plot(x, [p[f"l1_{key}_population"] for p in prof], "--", color=color, label=f"{label}: population")
        if new_pop:
            drawn_population.append(pop)
    for ax, (key, panel_title, ylabel) in zip(axes, PROFILE_PANELS):
        values = [p[f"l1_{key}_{w}"] for prof in profiles.values() for p in prof for w in ("image", "population")]
        if min(values) > 0 and max(values) / min(values) > 20:  # wide range: log scale, as the paper's plot
            ax.set_yscale("log")
        ax.set_xlabel("BN layer (index, forward order)")
        ax.set_ylabel(ylabel, fontsize=9)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_title(panel_title, fontsize=10)
        ax.grid(alpha=0.3)
    # Outside the axes: with several runs the legend would cover the curves it explains.
    axes[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    fig.suptitle(title or PROFILE_TITLE, fontsize=10)
    fig.tight_layout()
    return fig


def plot_bn_profile(profiles: Mapping[str, Sequence[Mapping[str, Any]]], out_stem: str | os.PathLike,
                    title: str | None = None) -> list[Path]:
    """draw_bn_profile's figure written as STEM.png and STEM.svg; returns the two paths."""
    import matplotlib.pyplot as plt

    fig = draw_bn_profile(profiles, title)
    out_stem = Path(out_stem)
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [out_stem.with_suffix(".png"), out_stem.with_suffix(".svg")]
    fig.savefig(paths[0], dpi=150, bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight")
    plt.close(fig)
    return paths
