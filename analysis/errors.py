"""Expected failures and the exit codes the command line maps them to.

Every expected failure is one line on standard error that names the file,
row, field or option and says what was expected; ``--debug`` shows the
traceback instead.  Exit codes (documented in the README):

====  =====================================================================
0     success
1     a check found problems (``compare``, ``reproduce``)
2     bad input: a data file, a specification file, a prior or an option (and
      ``validate`` finding any: the code the build step reading the file exits with)
3     a convergence gate failed (model and parameter named)
4     a file cannot be read or written (missing results, permission
      denied, disk full, a path that is a file where a folder is needed)
5     rendering the manuscript failed
70    an internal error (a bug): the message says so; ``--debug`` shows where
130   interrupted (Ctrl-C); outputs are written atomically, so none is half-written
====  =====================================================================
"""

from __future__ import annotations

import errno

EXIT_OK, EXIT_CHECK, EXIT_INPUT, EXIT_CONVERGENCE, EXIT_IO, EXIT_RENDER, EXIT_BUG, EXIT_INTERRUPTED = (
    0,
    1,
    2,
    3,
    4,
    5,
    70,
    130,
)


class UsageError(ValueError):
    """A command-line option or argument is not acceptable."""


def _io_message(err: OSError) -> str:
    where = err.filename or ""
    if err.filename2:
        where = f"{where} -> {err.filename2}"
    reasons = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is exceeded",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EROFS: "the file system is read-only",
        errno.EISDIR: "is a folder, expected a file",
        errno.ENOTDIR: "a part of the path is a file, expected a folder",
        errno.EEXIST: "exists and is not a folder",
        errno.ENOENT: "no such file or folder",
        errno.ENAMETOOLONG: "the name is too long",
        errno.EFBIG: "the file is too large (a file-size limit, e.g. ulimit -f, or the file system's)",
    }
    reason = reasons.get(err.errno, err.strerror or str(err))
    return f"{where}: {reason}" if where else reason


class CompareError(ValueError):
    """The two sides of a comparison (``compare``, :mod:`tools.compare`) are not two trees or files that exist."""


def classify(err: BaseException) -> tuple[int, str] | None:
    """The exit code and message for an expected failure; ``None`` for anything else (a bug)."""
    from analysis.bayes.models import PriorError
    from analysis.bayes.sampling import ConvergenceError
    from analysis.data import DataError
    from analysis.io import OutputFolderError
    from analysis.limits import ResourceError
    from analysis.priors.spec import SpecError
    from analysis.publish.combine import CombineError
    from analysis.publish.render import RenderError
    from analysis.results import MissingResultError

    if isinstance(err, KeyboardInterrupt):
        return EXIT_INTERRUPTED, "interrupted; outputs are written atomically, so none was left half-written"
    if isinstance(
        err, DataError | SpecError | PriorError | UsageError | OutputFolderError | CombineError | ResourceError
    ):
        return EXIT_INPUT, str(err)
    if isinstance(err, UnicodeDecodeError):
        return EXIT_INPUT, f"not UTF-8 text ({err.reason} at byte {err.start})"
    from analysis.bayes.engine import MCMCMismatch

    if isinstance(err, ConvergenceError | MCMCMismatch):
        return EXIT_CONVERGENCE, str(err)
    if isinstance(err, MissingResultError | CompareError):
        return EXIT_IO, str(err)
    if isinstance(err, OSError):
        return EXIT_IO, _io_message(err)
    if isinstance(err, RenderError):
        return EXIT_RENDER, f"render failed: {err}"
    return None
