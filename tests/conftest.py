import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# the compiled MCMC samplers that make keeps with the environment (Makefile: ANALYSIS_JAX_CACHE): a plain pytest run
# shares them too, and the xdist workers and the CLI's subprocesses share the programs they compile
if sys.prefix != sys.base_prefix:
    os.environ.setdefault("ANALYSIS_JAX_CACHE", str(Path(sys.prefix) / ".analysis-cache"))


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
