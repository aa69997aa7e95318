"""What a benchmark ran on: processor, cores, memory, Python, and library versions."""

from __future__ import annotations

import contextlib
import os
import platform
from importlib.metadata import PackageNotFoundError, version

# The distributions whose versions a benchmark's figures depend on.
LIBRARIES = (
    "socialwrite",
    "aiohttp",
    "anyio",
    "attrs",
    "cattrs",
    "trio",
    "httpx2",
    "httpx",
    "requests",
    "pydantic",
    "social-post-api",
    "zernio-sdk",
)


def cpu_model() -> str:
    """The processor's model name (from ``/proc/cpuinfo`` where there is one)."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib() -> float | None:
    """Total memory in GiB, where ``/proc/meminfo`` tells it."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / (1024 * 1024)
    except OSError:
        pass
    return None


def library_versions(names: tuple[str, ...] = LIBRARIES) -> dict[str, str]:
    """The installed version of each distribution in ``names`` (absent ones left out)."""
    versions: dict[str, str] = {}
    for name in names:
        with contextlib.suppress(PackageNotFoundError):
            versions[name] = version(name)
    return versions


def machine_info() -> dict[str, object]:
    """Everything ``describe`` prints, as a JSON-ready mapping."""
    memory = memory_gib()
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": None if memory is None else round(memory, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "libraries": library_versions(),
    }


def describe(info: dict[str, object] | None = None) -> str:
    """One paragraph naming the machine and the versions, for a report."""
    info = info if info is not None else machine_info()
    libraries = info["libraries"]
    assert isinstance(libraries, dict)
    versions = ", ".join(f"{name} {number}" for name, number in libraries.items())
    memory = f", {info['memory_gib']} GiB" if info["memory_gib"] is not None else ""
    return (
        f"{info['cpu']}, {info['cores']} cores{memory}, {info['os']}, {info['python']}; {versions}"
    )


if __name__ == "__main__":
    print(describe())
