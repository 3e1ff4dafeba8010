"""Peak numbers of accelerators, for the roofline bound of a throughput figure.

Only the two numbers a roofline needs: dense fp16 tensor-core FLOP/s (bf16 is the same
on these parts) and memory bandwidth. They are vendor datasheet values for the listed
form factor; the datasheets print fp16 "with sparsity" figures twice as high, which a
dense convolution can never use, so the dense halves are stored here.

Devices are matched on `torch.cuda.get_device_name()`: every `match` token must occur in
the lower-cased name and no `exclude` token may (so an "H100 PCIe" is not taken for the
SXM part). Other devices come from a YAML file (`load_yaml`) or explicit numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from repbench.errors import RepbenchError
from repbench.yamlfile import read_yaml


@dataclass(frozen=True)
class DevicePeak:
    name: str
    fp16_tflops: float  # dense fp16/bf16 tensor-core peak, 1e12 FLOP/s (1 MAC = 2 FLOP)
    bandwidth_gbs: float  # DRAM/HBM bandwidth, 1e9 bytes/s
    match: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    source: str = ""

    def matches(self, device_name: str) -> bool:
        name = device_name.lower()
        return bool(self.match) and all(t in name for t in self.match) and not any(t in name for t in self.exclude)


PEAKS: tuple[DevicePeak, ...] = (
    # torch reports e.g. "NVIDIA A100-SXM4-80GB"; the PCIe card has the same FLOP/s but 1,935 GB/s.
    DevicePeak("A100 SXM4 80GB", 312.0, 2039.0, match=("a100", "sxm"),
               source="NVIDIA A100 datasheet: 312 TFLOPS fp16 dense, 2,039 GB/s HBM2e"),
    # "NVIDIA H100 80GB HBM3" is the SXM5 part; PCIe and NVL cards have lower clocks and bandwidth.
    DevicePeak("H100 SXM5 80GB", 989.4, 3350.0, match=("h100",), exclude=("pcie", "nvl"),
               source="NVIDIA H100 datasheet: 1,979 TFLOPS fp16 with sparsity (989.4 dense), 3.35 TB/s HBM3"),
    DevicePeak("H200 SXM 141GB", 989.4, 4800.0, match=("h200",), exclude=("nvl",),
               source="NVIDIA H200 datasheet: 1,979 TFLOPS fp16 with sparsity (989.4 dense), 4.8 TB/s HBM3e"),
)


def lookup(device_name: str, extra: Iterable[DevicePeak] = ()) -> DevicePeak | None:
    """The first entry matching `device_name`; user-supplied entries win over the built-in table."""
    for peak in (*tuple(extra), *PEAKS):
        if peak.matches(device_name):
            return peak
    return None


def load_yaml(path: str | Path) -> list[DevicePeak]:
    """Read extra devices from YAML: a list of mappings with name, fp16_tflops, bandwidth_gbs, match [, exclude, source].

    Example:
        - name: L40S
          fp16_tflops: 362
          bandwidth_gbs: 864
          match: [l40s]
    """
    path = Path(path)
    entries = read_yaml(path, "device table")
    if not isinstance(entries, list):
        raise RepbenchError(f"device table {path} must be a YAML list of devices (see repbench.measure.peaks.load_yaml)")
    return [_entry(e, path, i) for i, e in enumerate(entries)]


def _entry(e: object, path: Path, index: int) -> DevicePeak:
    where = f"device table {path}, entry {index}"
    if not isinstance(e, dict):
        raise RepbenchError(f"{where}: expected a mapping with name, fp16_tflops, bandwidth_gbs, match")
    missing = [k for k in ("name", "fp16_tflops", "bandwidth_gbs", "match") if k not in e]
    if missing:
        raise RepbenchError(f"{where}: missing {', '.join(missing)}")
    try:
        return DevicePeak(
            name=str(e["name"]),
            fp16_tflops=float(e["fp16_tflops"]),
            bandwidth_gbs=float(e["bandwidth_gbs"]),
            match=_tokens(e["match"]),
            exclude=_tokens(e.get("exclude", ())),
            source=str(e.get("source", f"user table {path}")),
        )
    except (TypeError, ValueError) as err:
        raise RepbenchError(f"{where}: fp16_tflops and bandwidth_gbs must be numbers ({err})") from err


def _tokens(value: str | Sequence[str]) -> tuple[str, ...]:
    return (value.lower(),) if isinstance(value, str) else tuple(str(v).lower() for v in value)
