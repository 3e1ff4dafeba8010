"""Released checkpoints into zoo networks: unwrap the file's state dict and rename its keys (the loading, with a
shape check per key and strict=True, is repbench.published.convert.load_into).

Each method module that can load a released file defines its key map by name:

    RELEASED_KEYS           for the training-time network of `methods.build`
    RELEASED_KEYS_DEPLOYED  for a re-parameterized file, into `methods.merge(methods.build(...))`

A key map is a tuple of (pattern, replacement) pairs, applied in order with `re.sub` to every key;
a key that ends up empty is dropped (a tensor the release stores but our form derives, e.g. SPAN's
`eval_conv` in a training checkpoint). Facts a state dict cannot carry (input range, mean shift,
mid widths) are build options in the registry entry, never guessed here.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

import torch

from methods import zoo

KeyMap = tuple[tuple[str, str], ...]
# Where training frameworks nest the weights, in the order they are preferred: BasicSR writes
# 'params' and, when it keeps an exponential moving average, 'params_ema' (the weights it evaluates).
WRAPPER_KEYS = ("params_ema", "params", "state_dict", "model_state_dict", "model", "net", "network")
PARALLEL_PREFIX = "module."  # nn.DataParallel / DistributedDataParallel


def _is_state_dict(obj: Any) -> bool:
    return isinstance(obj, Mapping) and len(obj) > 0 and all(isinstance(v, torch.Tensor) for v in obj.values())


def unwrap_state_dict(blob: Any) -> dict[str, torch.Tensor]:
    """The flat name -> tensor mapping inside a loaded checkpoint.

    Descends through wrapper entries ('params_ema', 'params', 'state_dict', ...) until every value
    is a tensor, and strips a 'module.' prefix that every key carries (a model saved while wrapped
    for data parallelism). Raises ValueError when no state dict is found.
    """
    obj = blob
    while not _is_state_dict(obj):
        if not isinstance(obj, Mapping):
            raise ValueError(f"no state dict in this checkpoint (found {type(obj).__name__})")
        key = next((k for k in WRAPPER_KEYS if isinstance(obj.get(k), Mapping)), None)
        if key is None:
            listed = ", ".join(map(str, list(obj)[:8])) or "nothing"
            raise ValueError(f"no state dict in this checkpoint: its entries are {listed}, and none of "
                             f"{', '.join(WRAPPER_KEYS)} holds one")
        obj = obj[key]
    state = dict(obj)
    while all(k.startswith(PARALLEL_PREFIX) for k in state):
        state = {k[len(PARALLEL_PREFIX):]: v for k, v in state.items()}
    return state


def rename_keys(state_dict: Mapping[str, torch.Tensor], key_map: KeyMap) -> dict[str, torch.Tensor]:
    """Apply every (pattern, replacement) of `key_map` in order to each key; drop keys that become empty."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        new = key
        for pattern, replacement in key_map:
            new = re.sub(pattern, replacement, new)
        if not new:
            continue
        if new in out:
            raise ValueError(f"key map sends two released keys to {new!r} (the second is {key!r})")
        out[new] = value
    return out


def key_map(method: str, deployed: bool = False) -> KeyMap:
    """The method's map for a released training-form (or, deployed=True, re-parameterized) file."""
    name = "RELEASED_KEYS_DEPLOYED" if deployed else "RELEASED_KEYS"
    rules = getattr(zoo.method_module(method), name, None)
    if rules is None:
        form = "re-parameterized" if deployed else "training-form"
        raise ValueError(f"method {method!r} has no key map for {form} released checkpoints ({name})")
    return tuple(rules)

