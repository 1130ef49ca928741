"""The per-user cache folder and its files' format, shared by the stores of compiled samplers
(:mod:`analysis.bayes.sampling.programs`) and of the engine's table rows (:mod:`analysis.bayes.engine.store`).

The folder is named by ``ANALYSIS_JAX_CACHE`` (``make`` keeps it in ``.venv``); unset, it is the user's cache
folder; empty or blank (the command line's ``--no-cache``), nothing is kept.  A stored file is a header naming
its layout, the SHA-256 of the rest, and the payload, written to a temporary file and renamed onto its name
(:func:`analysis.io.atomic_path`): a reader sees a complete file or none, and a damaged one (checksum mismatch,
truncated) is never trusted.  Importing this module is quick (no JAX, no PyMC).
"""

from __future__ import annotations

import hashlib
import os
import platform
from pathlib import Path


def cache_root() -> Path | None:
    """The cache folder named by ``ANALYSIS_JAX_CACHE``; ``None`` when it is empty or blank (``--no-cache``).

    Unset, the per-user cache folder: ``$XDG_CACHE_HOME/cart-analysis``, else ``~/.cache/cart-analysis``.
    """
    root = os.environ.get(
        "ANALYSIS_JAX_CACHE", str(Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache") / "cart-analysis")
    )
    return Path(root.strip()).expanduser() if root.strip() else None


def cpu_features() -> str:
    """The host CPU's feature flags (hashed): compiled code, and NumPy's SIMD loops, depend on the CPU."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return hashlib.sha256(line.encode()).hexdigest()[:16]
    except OSError:
        pass
    return platform.processor()


def checked_payload(blob: bytes, magic: bytes) -> bytes | None:
    """The payload of a stored file's bytes; ``None`` unless its header is ``magic`` and its checksum holds."""
    n = len(magic)
    payload = blob[n + 32 :]
    return payload if blob[:n] == magic and hashlib.sha256(payload).digest() == blob[n : n + 32] else None


def read_checked(path: Path, magic: bytes) -> bytes | None:
    """The payload stored at ``path``; ``None`` when the file is absent, unreadable, of another layout or damaged."""
    try:
        return checked_payload(path.read_bytes(), magic)
    except OSError:
        return None


def write_checked(path: Path, magic: bytes, payload: bytes, sync: bool = False) -> None:
    """Store ``payload`` at ``path`` (header, checksum, payload), atomically: written to a temporary file beside it
    and renamed onto it, so that concurrent writers and readers never meet a half-written file.  ``sync``: flushed
    to disk before the rename.  Raises ``OSError`` when the folder cannot be written."""
    from analysis.io import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(magic + hashlib.sha256(payload).digest() + payload)
            if sync:
                fh.flush()
                os.fsync(fh.fileno())


def prune(folder: Path, pattern: str, keep: int | None = None, max_bytes: int | None = None) -> None:
    """Remove the least recently used files matching ``pattern`` beyond the ``keep`` most recent ones, or beyond
    ``max_bytes`` in all (reading a file through its store marks it used).  Temporary files of writes in progress
    (names starting with a dot) are never matched."""

    def stat(p: Path) -> tuple[float, int]:
        try:
            s = p.stat()
            return s.st_mtime, s.st_size
        except OSError:  # removed meanwhile by another process
            return 0.0, 0

    files = sorted(((stat(p), p) for p in folder.glob("[!.]" + pattern)), key=lambda t: t[0][0], reverse=True)
    total = 0
    for i, ((_, size), p) in enumerate(files):
        total += size
        if (keep is not None and i >= keep) or (max_bytes is not None and total > max_bytes):
            p.unlink(missing_ok=True)


def touch(path: Path) -> None:
    """Mark a stored file as used (kept by :func:`prune`)."""
    try:
        os.utime(path)
    except OSError:
        pass
