"""Start the design studio on 127.0.0.1 and print its address (``python -m analysis studio``, ``make studio``)."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    """A port that nothing listens on now (the system's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def serve(port: int = 0, design: Path | None = None, host: str = HOST) -> None:
    """Build the app (checking ``design`` as the CLI does), print its address and serve until interrupted.

    Parameters
    ----------
    port : int
        The port; 0 picks a free one.
    design : Path, optional
        A design file to start from (default ``config/basket.toml``).
    host : str
        The address to listen on (the local machine only, by default).
    """
    # one BLAS thread: the OC sums are small matrix-vector products that BLAS threads only slow down on a
    # shared machine (the Makefile exports the same for every step); set before numpy is first imported
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    import uvicorn

    from analysis.studio.app import make_app

    app = make_app(design)
    port = port or free_port(host)
    print(f"Basket design studio: http://{host}:{port}  (Ctrl+C stops it)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
    sys.stdout.flush()
