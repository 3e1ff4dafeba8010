"""Reading a YAML file that a person wrote, with an error that names the file and what it is for."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from repbench.errors import RepbenchError


def read_yaml(path: str | os.PathLike, what: str) -> Any:
    """The parsed file; `what` names it in errors ("config file", "device table")."""
    path = Path(path)
    if not path.is_file():
        raise RepbenchError(f"{what} {path} does not exist")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise RepbenchError(f"{what} {path} is not valid YAML: {err}") from err
