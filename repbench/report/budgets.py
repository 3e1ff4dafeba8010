"""Training budgets: the papers' (stated here, once), our runs', and the header paragraph that sets them side by side.

A budget is the iterations, the batch, the LR patch side of each training stage, the LR pixels seen
(iterations x batch x LR patch², stage by stage; train.json `budget.lr_pixels`) and the training data.
The papers' figures are from their text (RepSR section 5.1; the NTIRE 2022 IMDN paper section 4.1 and
section 3.2), with what a paper leaves unstated said so, never filled in. Every table header
(markdown.header) states the paper's budget beside the one of the runs it shows, and what the gap means
for the Δ columns.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any


from repbench.results import Run
from repbench.results.values import REFERENCE_METHODS, as_int
from repbench.training.config import PAPER_ITERATIONS


def budgets_of(iterations: Iterable[Any]) -> tuple[list[int], int]:
    """(the distinct iteration counts, ascending; how many runs record none) of a set of runs: more than
    one count means the runs compared side by side trained for different lengths."""
    values = list(iterations)
    return sorted({n for n in (as_int(i) for i in values) if n}), sum(not as_int(i) for i in values)


@dataclass(frozen=True)
class PaperBudget:
    """A paper's training budget as its text states it; None / () where it does not."""

    paper: str  # how the header names the paper and where it states the budget
    iterations: int | None
    batch: int | None
    patches: tuple[int, ...]  # LR patch side of each training stage
    data: str
    unstated: tuple[str, ...] = ()  # what the text leaves out, in words

    @property
    def lr_pixels(self) -> int | None:
        """LR pixels seen; None unless one stage with stated iterations and batch."""
        if self.iterations is None or self.batch is None or len(self.patches) != 1:
            return None
        return self.iterations * self.batch * self.patches[0] ** 2

    def words(self) -> str:
        patch = " then ".join(str(p) for p in self.patches)
        if self.lr_pixels is not None:
            text = (f"{self.iterations:,} iterations x batch {self.batch} x LR patch {patch}² = "
                    f"{mpx(self.lr_pixels)} LR Mpx seen")
        else:
            text = f"batch {self.batch}, LR patch {patch}"
        text = f"Paper ({self.paper}): {text}, trained on {self.data}"
        return text + (f"; not stated: {'; '.join(self.unstated)}." if self.unstated else ".")


REPSR_TINY = PaperBudget("RepSR, section 5.1, tiny models", PAPER_ITERATIONS, 32, (64,), "DIV2K train (800 images)")
REPSR_LARGE = replace(REPSR_TINY, paper="RepSR, section 5.1, large models", patches=(48,))
REPSR_TABLE1 = replace(REPSR_LARGE, paper="RepSR, section 5.1", unstated=(
    "Table 1's EDSR size and patch (read as the 48 the paper gives every model but the tiny ones)",))
# Section 4.1: 500 epochs at batch 32 of 3,450 DIV2K + Flickr2K pairs; section 3.2: stage 1 takes 10 random
# 64x64 crops per image, stage 2 160x160 patches. An epoch of one patch per image would be 500 x 3,450 / 32
# = 53,906 iterations, of stage 1's 10 crops per image 539,063: the text says neither.
NTIRE2022 = PaperBudget(
    "NTIRE 2022 IMDN + collapsible linear blocks, sections 3.2 and 4.1", None, 32, (64, 160),
    "DIV2K train (800 images) + Flickr2K, 3,450 image pairs",
    unstated=("the iterations (500 epochs at batch 32: about 54K iterations if an epoch draws one patch per image, "
              "about 539K if it draws stage 1's 10 crops per image), hence the LR pixels seen",
              "how the 500 epochs split between the two stages",
              "whether the patch sides are LR or HR pixels (read as LR, docs/conventions.md section 5)"),
)
PAPER_BUDGETS: dict[tuple[str, str], PaperBudget] = {
    ("repsr2022", "table1"): REPSR_TABLE1,
    **{("repsr2022", t): REPSR_TINY for t in ("table2", "table3")},
    **{("repsr2022", t): REPSR_LARGE for t in ("table4", "table5", "table6", "table7")},
    **{("ntire2022", f"table{i}"): NTIRE2022 for i in range(1, 6)},
}


def paper_budget(source: str, table: str) -> PaperBudget | None:
    """The budget behind a reference table (repbench/references/<source>.yaml, `table`); None if unknown."""
    return PAPER_BUDGETS.get((source, table))


def mpx(pixels: int | float) -> str:
    """Millions of pixels: one decimal below 1,000, whole numbers with thousands separators above."""
    value = pixels / 1e6
    return f"{value:,.0f}" if value >= 1000 else f"{value:.1f}"


def lr_pixels(iterations: Any, batch: Any, patch: Any, patch2: Any = 0, stage2_start: Any = None) -> int | None:
    """LR pixels seen: batch x (stage-1 iterations x patch² + stage-2 iterations x patch2²), as
    training.runfolder.budget_record counts them; None when a factor is missing."""
    its, b, p1, p2 = as_int(iterations), as_int(batch), as_int(patch), as_int(patch2) or 0
    if not its or not b or not p1:
        return None
    stage2 = max(0, its - (as_int(stage2_start) or 0)) if p2 else 0
    return b * ((its - stage2) * p1 * p1 + stage2 * p2 * p2)


@dataclass(frozen=True)
class RunBudget:
    iterations: int | None
    batch: int | None
    patch: int | None
    patch2: int | None  # stage 2's LR patch (two-stage runs)
    lr_pixels: int | None
    train_data: tuple[str, ...]


def run_budget(run: Run) -> RunBudget:
    """One run's budget: the iterations and LR pixels it recorded (train.json `budget`), else its schedule's."""
    sched = run.schedule
    iterations = run.budget.iterations or sched.iterations
    patch2 = sched.patch_size_stage2 or None
    pixels = run.budget.lr_pixels or lr_pixels(iterations, sched.batch_size, sched.patch_size, patch2, sched.stage2_start)
    return RunBudget(iterations, sched.batch_size, sched.patch_size, patch2, pixels, sched.train_sets)


def _range(values: Iterable[Any], fmt: Callable[[Any], str] = lambda v: f"{v:,}") -> str | None:
    known = sorted({v for v in values if v is not None})
    if not known:
        return None
    return fmt(known[0]) if len(known) == 1 else f"{fmt(known[0])}–{fmt(known[-1])}"


def ours_words(budgets: Sequence[RunBudget]) -> str:
    """'Ours (3 runs in this table): 400 iterations x batch 16 x LR patch 24² (40² in stage 2 of two-stage
    runs) = 3.7–4.6 LR Mpx seen, trained on T91, BSD200.'"""
    if not budgets:
        return "Ours: no run in this table yet."
    unknown = "not recorded"
    stage2 = _range(b.patch2 for b in budgets)
    patch = (_range(b.patch for b in budgets) or unknown) + "²" + (
        f" ({stage2}² in stage 2 of two-stage runs)" if stage2 else "")
    data = list(dict.fromkeys(n for b in budgets for n in b.train_data))
    pixels = _range((b.lr_pixels for b in budgets), mpx)
    n = len(budgets)
    return (f"Ours ({n} run{'s' if n > 1 else ''} in this table): {_range(b.iterations for b in budgets) or unknown} "
            f"iterations x batch {_range(b.batch for b in budgets) or unknown} x LR patch {patch} "
            f"{f'= {pixels} LR Mpx seen' if pixels else '(LR pixels seen not recorded)'}, trained on "
            f"{', '.join(data) or 'data not recorded'}.")


def _ratio(paper: int | None, ours: Iterable[int | None]) -> str | None:
    known = [v for v in ours if v]
    if paper is None or not known:
        return None
    return _range((paper / v for v in known), lambda r: f"{r:,.0f}")


def gap_words(paper: PaperBudget | None, runs: Iterable[Run]) -> str:
    """The header paragraph: the paper's budget, ours (from `runs`, the runs the table shows), the ratio,
    and what it means for the Δ columns. Empty without a paper budget."""
    if paper is None:
        return ""
    budgets = [run_budget(r) for r in runs if r.method not in REFERENCE_METHODS]
    text = f"**Training budget.** {paper.words()} {ours_words(budgets)}"
    its = _ratio(paper.iterations, (b.iterations for b in budgets))
    pixels = _ratio(paper.lr_pixels, (b.lr_pixels for b in budgets))
    if its == "1" and pixels == "1":
        return text + " Our runs match the paper's iterations and LR pixels: a Δ measures the reproduction itself."
    gap = " and ".join(w for w in (its and f"{its}x fewer iterations", pixels and f"{pixels}x fewer LR pixels") if w)
    return text + (f" That is {gap} than the paper." if gap else "") + (
        " Every Δ against the paper therefore measures this budget and training-data gap, not a failed reproduction.")
