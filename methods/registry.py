"""The method registry: every fact about a method that is not its network, in one line per method.

The zoo (`methods.build`), the preset check, measurement and the report all read a method's
label, size format, build options and their defaults, paper-count convention and Table 2 sizes
from here, so adding a method is one file with its `build` plus one line in METHOD_LIST.
Nothing here imports torch: the report, the CLI parsers and the plan read it cheaply.

A method file only defines `build(**size_fields, scale, colors, **options) -> nn.Module`,
with the options keyword-only and without defaults (the defaults are `options` here).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

SCALES = (2, 3, 4)
COLORS = (1, 3)
TABLE2_SIZES = ("M4C8", "M4C16", "M10C16", "M10C32", "M16C64")
SESR_TABLE2_SIZES = ("M5C16", "M11C16", "M11C32")
# Options that change how a block trains but not the function it computes: they never name a run
# and never split a table row.
TRAINING_ONLY_OPTIONS = frozenset({"collapsed"})


@dataclass(frozen=True)
class MethodInfo:
    name: str  # the registered name: `--method`, run ids, presets
    module: str  # the module whose `build` makes the training-time network
    label: str  # how tables and figures name it
    size_format: str  # e.g. "M{m}C{c}": fields become `build`'s leading arguments
    mergeable: bool  # has a single-conv inference form (`methods.merge`)
    options: Mapping[str, Any] = field(default_factory=dict)  # build options and their defaults
    # How the paper counts parameters (docs/conventions.md, "Counting"): "mxcy" = conv weights +
    # biases + 2 x PReLU slopes; "conv_weights" = conv weights only (SESR's own count).
    paper_count: str = "mxcy"
    # The closed-form MAC count that cross-checks fvcore: "mxcy" (head, m 3x3 body convs, tail),
    # "sesr", "edsr", or "" when the method has none.
    closed_form: str = ""
    table_sizes: tuple[str, ...] = ()  # the sizes of the paper's Table 2
    large: bool = False  # one of the paper's large RGB networks (Table 4)
    # The method whose network this one's merged form is, whatever its options (RepVGG, ECBSR and RepSR
    # all deploy to the plain Mx-Cy net): deployed networks of one size are then timed once. Checked
    # against the built networks by tests/test_timing.py and by `repbench measure --deployed-timing`.
    deploys_as: str = ""
    # The training-time blocks always run as one merged conv (OREPA merges online at every step), so its
    # training time is never a branched one.
    trains_collapsed: bool = False

    @property
    def size_fields(self) -> tuple[str, ...]:
        return tuple(re.findall(r"\{(\w+)\}", self.size_format))


_MXCY = "M{m}C{c}"
METHOD_LIST: list[MethodInfo] = [
    MethodInfo("plain", "methods.plain", "Plain", _MXCY, True, {}, closed_form="mxcy", table_sizes=TABLE2_SIZES, large=True),
    MethodInfo("repvgg", "methods.repvgg", "RepVGG", _MXCY, True, {}, closed_form="mxcy", table_sizes=TABLE2_SIZES,
               large=True, deploys_as="plain"),
    MethodInfo("ecbsr", "methods.ecbsr", "ECBSR", _MXCY, True, {"depth_multiplier": 2, "collapsed": False},
               closed_form="mxcy", table_sizes=TABLE2_SIZES, large=True, deploys_as="plain"),
    MethodInfo("sesr", "methods.sesr", "SESR", _MXCY, True, {"width": None, "collapsed": False},
               paper_count="conv_weights", closed_form="sesr", table_sizes=SESR_TABLE2_SIZES),
    MethodInfo("repsr", "methods.repsr", "RepSR", _MXCY, True, {"expand": 2, "branches": 2, "variant": "repsr"},
               closed_form="mxcy", table_sizes=TABLE2_SIZES, large=True, deploys_as="plain"),
    MethodInfo("dbb", "methods.dbb", "DBB", _MXCY, True, {}, closed_form="mxcy", table_sizes=TABLE2_SIZES, deploys_as="plain"),
    MethodInfo("orepa", "methods.orepa", "OREPA", _MXCY, True, {}, closed_form="mxcy", table_sizes=TABLE2_SIZES, deploys_as="plain",
               trains_collapsed=True),
    # SPAN's Conv3XC (NTIRE 2024) as the block of every Mx-Cy conv: a linear block, so it may train collapsed.
    MethodInfo("conv3xc", "methods.conv3xc_sr", "Conv3XC", _MXCY, True, {"collapsed": False}, closed_form="mxcy",
               table_sizes=TABLE2_SIZES, deploys_as="plain"),
    MethodInfo("edsr", "methods.edsr", "EDSR", "R{r}C{c}", False, {"bn": False, "res_scale": 1.0},
               closed_form="edsr", table_sizes=("R5C32",), large=True),
    MethodInfo("imdn", "methods.imdn", "IMDN", "B{b}", True, {"channels": 64}),
    MethodInfo("imdn-clb", "methods.imdn_clb", "IMDN-CLB", "B{b}", True, {"channels": 64, "collapsed": False},
               deploys_as="imdn"),
    # Released RLFNs take 0..255 (img_range scales [0, 1] inside); NTIRE 2022's file is B4C46, mid_channels=48.
    MethodInfo("rlfn", "methods.rlfn", "RLFN", "B{b}C{c}", False, {"mid_channels": None, "img_range": 255.0}),
    # Released SPANs subtract the DIV2K mean and scale by 255 inside (norm, img_range); output stays [0, 1].
    MethodInfo("span", "methods.span", "SPAN", "C{c}B{b}", True, {"norm": True, "img_range": 255.0}),
]
REGISTRY: dict[str, MethodInfo] = {info.name: info for info in METHOD_LIST}

# Methods from other installed packages: an entry point of this group names a MethodInfo (a registry
# line; its `module` holds `build`, imported only when the method is built). Read in every process
# that imports the registry, so the pipeline's `repbench train` jobs, the check and the report see a
# package's method as they see the zoo's (`register` alone changes one process only).
ENTRY_POINT_GROUP = "repbench.methods"


class PluginError(ImportError):
    """An installed package's method entry point is broken (the `repbench` command: exit 2, no traceback)."""


def _plugin_methods() -> list[MethodInfo]:
    from importlib.metadata import entry_points

    found = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            info = ep.load()
        except Exception as err:  # a broken plugin must say which one, not take every command down
            raise PluginError(f"the {ENTRY_POINT_GROUP} entry point {ep.name!r} ({ep.value}) of an installed "
                              f"package does not load: {type(err).__name__}: {err}; fix or uninstall that package") from err
        if not isinstance(info, MethodInfo) or info.name != ep.name:
            raise PluginError(f"the {ENTRY_POINT_GROUP} entry point {ep.name!r} ({ep.value}) must name a "
                              f"methods.registry.MethodInfo whose name is {ep.name!r}")
        if info.name in REGISTRY:
            raise PluginError(f"the {ENTRY_POINT_GROUP} entry point {ep.name!r} ({ep.value}) reuses the name of a "
                              "repbench method; give it another name")
        found.append(info)
    return found


for _info in _plugin_methods():
    REGISTRY[_info.name] = _info
METHODS: tuple[str, ...] = tuple(REGISTRY)


def register(info: MethodInfo) -> MethodInfo:
    """Add a method (or replace one of the same name); the zoo, checks and report see it at once."""
    global METHODS
    REGISTRY[info.name] = info
    METHODS = tuple(REGISTRY)
    return info


def unregister(name: str) -> None:
    global METHODS
    REGISTRY.pop(name, None)
    METHODS = tuple(REGISTRY)


def methods() -> tuple[str, ...]:
    """The registered names, in registry order (also the report's row order)."""
    return tuple(REGISTRY)


def info(method: str) -> MethodInfo:
    if method not in REGISTRY:
        raise ValueError(f"unknown method {method!r}; valid methods: {', '.join(REGISTRY)}")
    return REGISTRY[method]


def parse_size(method: str, size: str) -> dict[str, int]:
    """'M4C16' -> {'m': 4, 'c': 16} following the method's size format."""
    fmt = info(method).size_format
    pattern = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[1-9][0-9]*)", fmt) + "$"
    match = re.match(pattern, str(size))
    if not match:
        example = fmt.format(**{k: n for k, n in zip(info(method).size_fields, (4, 16, 8))})
        raise ValueError(f"malformed size {size!r} for method {method!r}; expected {fmt} with positive integers, e.g. {example}")
    return {k: int(v) for k, v in match.groupdict().items()}


def options_of(method: str) -> dict[str, Any]:
    """The method's build options and their defaults."""
    return dict(info(method).options)


def size_pattern() -> str:
    """A regular expression every registered size format matches (for the preset schema)."""
    formats = sorted({re.sub(r"\{\w+\}", "[0-9]+", i.size_format) for i in REGISTRY.values()})
    return "^(" + "|".join(formats) + ")$"


def deployed_arch(method: str, size: str, scale: int, colors: int, options: Mapping[str, Any] | None = None) -> str:
    """A name for the network a run deploys, equal for runs whose merged networks are the same graph
    on the same shapes (plain, RepVGG, ECBSR and RepSR at one Mx-Cy size; IMDN-CLB and IMDN at one
    depth): the pipeline times each such network once. Options count only where the deployed method
    has them too and they differ from its default; training-only switches never count."""
    target = info(method).deploys_as or method
    defaults = options_of(target)
    kept = {k: v for k, v in sorted((options or {}).items())
            if k in defaults and k not in TRAINING_ONLY_OPTIONS and defaults[k] != v}
    extra = "".join(f"-{k}{v}" for k, v in kept.items())
    return re.sub(r"[^A-Za-z0-9._-]", "_", f"{target}-{size}-x{scale}-c{colors}{extra}")  # a file name
