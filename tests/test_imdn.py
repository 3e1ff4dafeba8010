"""IMDN (NTIRE 2022 baseline) and IMDN with collapsible linear blocks: counts, shapes, merge."""
from __future__ import annotations

import pytest
import torch

import methods
from _helpers import train_a_little
from methods.blocks import RepBlock

# The paper's Table 3 (x4, RGB): B = 8 and 7 exactly per docs/conventions.md section 3, the rest to 0.1K.
PAPER_COUNTS = {8: 893_936, 7: 790_496, 6: 687_056, 5: 583_616, 4: 480_176}
PAPER_MILLIONS = {8: 0.8939, 7: 0.7905, 6: 0.6871, 5: 0.5836, 4: 0.4802}


@pytest.mark.parametrize("b", sorted(PAPER_COUNTS))
def test_parameter_counts_match_the_paper(b: int) -> None:
    n = methods.count_params(methods.build("imdn", f"B{b}", scale=4, colors=3))
    assert n == PAPER_COUNTS[b]
    assert round(n / 1e6, 4) == PAPER_MILLIONS[b]


def test_one_block_costs_103440_parameters() -> None:
    counts = [methods.count_params(methods.build("imdn", f"B{b}", scale=4, colors=3)) for b in (4, 5)]
    assert counts[1] - counts[0] == 103_440


@pytest.mark.parametrize("method", ["imdn", "imdn-clb"])
@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("colors", [1, 3])
def test_output_shape(method: str, scale: int, colors: int) -> None:
    model = methods.build(method, "B1", scale=scale, colors=colors).eval()
    with torch.no_grad():
        y = model(torch.rand(2, colors, 11, 13))
    assert y.shape == (2, colors, 11 * scale, 13 * scale)


def test_malformed_size_and_bad_options_are_rejected() -> None:
    with pytest.raises(ValueError, match="B\\{b\\}"):
        methods.build("imdn", "M4C16")
    with pytest.raises(ValueError, match="collapsed"):
        methods.build("imdn", "B4", collapsed=True)  # only the training-time variant has it
    with pytest.raises(ValueError, match="multiple of 4"):
        methods.build("imdn", "B4", channels=30)


def test_imdn_merge_is_a_plain_copy() -> None:
    model = methods.build("imdn", "B2", scale=4, colors=3)
    merged = methods.merge(model)
    assert merged is not model
    assert merged.build_args["merged"] is True
    x = torch.rand(1, 3, 9, 10)
    with torch.no_grad():
        assert torch.equal(merged(x), model.eval()(x))


def _train_a_little(model: torch.nn.Module, colors: int, scale: int, steps: int = 3) -> None:
    """Move the branches away from their initialisation so the merge is tested on unequal weights."""
    train_a_little(model, colors, scale, steps, seed=1)
    model.eval()


def test_clb_merges_into_exactly_the_imdn_network() -> None:
    torch.manual_seed(0)
    model = methods.build("imdn-clb", "B4", scale=4, colors=3)
    _train_a_little(model, colors=3, scale=4)
    merged = methods.merge(model)

    reference = methods.build("imdn", "B4", scale=4, colors=3)
    ref_shapes = {k: tuple(v.shape) for k, v in reference.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in merged.state_dict().items()} == ref_shapes
    assert not any(isinstance(m, RepBlock) for m in merged.modules())
    assert methods.count_params(merged) == PAPER_COUNTS[4]
    assert methods.count_params(model) > PAPER_COUNTS[4]  # the 1x1 branches exist only in training

    # The merged weights load into a plain `imdn` and reproduce the training-time output,
    # borders included (odd size, inputs in [0, 1]).
    reference.load_state_dict(merged.state_dict())
    reference.eval()
    x = torch.rand(1, 3, 37, 41)
    with torch.no_grad():
        y_train, y_merged, y_ref = model(x), merged(x), reference(x)
    assert y_train.shape == (1, 3, 148, 164)
    assert (y_merged - y_train).abs().max().item() <= 1e-4
    assert (y_ref - y_train).abs().max().item() <= 1e-4


@pytest.mark.parametrize("colors", [1, 3])
def test_collapsed_training_computes_the_same_function(colors: int) -> None:
    torch.manual_seed(0)
    multi = methods.build("imdn-clb", "B2", scale=3, colors=colors)
    _train_a_little(multi, colors=colors, scale=3, steps=2)
    collapsed = methods.build("imdn-clb", "B2", scale=3, colors=colors, collapsed=True)
    collapsed.load_state_dict(multi.state_dict())  # same parameters, only the forward differs
    collapsed.eval()
    x = torch.rand(2, colors, 15, 17)
    with torch.no_grad():
        assert (collapsed(x) - multi(x)).abs().max().item() <= 1e-4

    # Gradients agree too: collapsing is a training speed-up, not a different model.
    for model in (multi, collapsed):
        model.zero_grad()
        model(x).square().mean().backward()
    for (name, p), q in zip(multi.named_parameters(), collapsed.parameters()):
        assert torch.allclose(p.grad, q.grad, rtol=1e-3, atol=1e-6), name


def test_merged_clb_round_trips_through_save_and_load(tmp_path) -> None:
    torch.manual_seed(0)
    merged = methods.merge(methods.build("imdn-clb", "B1", scale=2, colors=3))
    loaded = methods.load(methods.save(merged, tmp_path / "m.pt"))
    assert loaded.build_args["method"] == "imdn-clb" and loaded.build_args["merged"] is True
    x = torch.rand(1, 3, 9, 7)
    with torch.no_grad():
        assert torch.equal(loaded(x), merged(x))
