"""Give each GPU job of one machine its own GPU: `python -m repbench.pipeline.gpuslot --slots N -- COMMAND ...`.

With `snakemake --resources gpu=N` (N > 1) Snakemake runs up to N GPU jobs at once, but every one of
them asks for `cuda`, which is the first visible GPU: all N would share device 0 and the others would
idle. The pipeline's GPU rules therefore start their command through this module when N > 1. It takes
a free slot (one lock file per GPU), then replaces itself with COMMAND, run with CUDA_VISIBLE_DEVICES
naming that one GPU. The lock is held by COMMAND's process from then on and the kernel releases it
when that process ends, killed or not, so a slot is never left taken by a dead job.

A scheduler that already gave the job its own GPU is left alone: SLURM sets CUDA_VISIBLE_DEVICES to
the job's allocation, so with one visible device COMMAND runs as it is. With several listed (a user's
own CUDA_VISIBLE_DEVICES=2,3) the slots are those devices.
"""
from __future__ import annotations

import argparse
import fcntl
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Mapping, Sequence

POLL_SECONDS = 1.0


def devices(slots: int, env: Mapping[str, str]) -> list[str]:
    """The GPUs the jobs may share out, as CUDA_VISIBLE_DEVICES entries (indices or UUIDs).

    One entry (or none to choose from) means there is nothing to share out: the caller runs as is."""
    visible = env.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        listed = [d.strip() for d in visible.split(",") if d.strip()]
        return listed[:slots] if slots > 1 else listed[:1]
    return [str(i) for i in range(max(slots, 1))]


def lock_dir(env: Mapping[str, str]) -> Path:
    """One folder per user and machine, so that two pipelines on one machine never share a GPU either."""
    if env.get("REPBENCH_GPU_LOCKS"):
        return Path(env["REPBENCH_GPU_LOCKS"]).expanduser()
    return Path(tempfile.gettempdir()) / f"repbench-gpu-slots-{os.getuid()}"


def acquire(candidates: Sequence[str], folder: Path, poll: float = POLL_SECONDS) -> tuple[str, int]:
    """(device, descriptor holding its lock). Waits when every slot is taken: Snakemake never starts
    more GPU jobs than slots, so that happens only while another pipeline uses this machine's GPUs."""
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        for device in candidates:
            fd = os.open(folder / f"gpu-{device}.lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())  # who holds it, for a person looking
            return device, fd
        time.sleep(poll)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m repbench.pipeline.gpuslot", description=__doc__.splitlines()[0])
    parser.add_argument("--slots", type=int, required=True, help="GPUs on this machine for this pipeline (--resources gpu=N)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run on one GPU")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given (put it after --)")
    env = dict(os.environ)
    candidates = devices(args.slots, env)
    if len(candidates) > 1:
        device, fd = acquire(candidates, lock_dir(env))
        os.set_inheritable(fd, True)  # the lock lives as long as the command, not this launcher
        env["CUDA_VISIBLE_DEVICES"] = device
        print(f"repbench.pipeline.gpuslot: running on GPU {device} (CUDA_VISIBLE_DEVICES={device})", file=sys.stderr, flush=True)
    try:
        os.execvpe(command[0], command, env)
    except OSError as err:  # not found or not executable: say which, as a shell would
        print(f"repbench.pipeline.gpuslot: cannot run {command[0]!r}: {err.strerror}", file=sys.stderr)
    return 127


if __name__ == "__main__":
    sys.exit(main())
