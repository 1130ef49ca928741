"""The colophon: software, data checksums, seeds and commit that produced the document."""

from __future__ import annotations


def colophon(prov: dict, times: dict | None = None) -> str:
    lines = [
        "| Item | Value |",
        "|:---|:---|",
        f"| Git commit | `{prov['git_commit']}` |",
        f"| Results computed | {prov['created']} |",
        f"| MCMC seed | {prov['seeds']['mcmc']} |",
    ]
    if times and times.get("steps"):
        lines.append(
            f"| Build time | {times['sum_seconds']:.0f} s over {len(times['steps'])} analysis steps (the last run of "
            f"each; steps run two at a time)"
            + (f", {times['cpu_seconds']:.0f} s of CPU" if times.get("cpu_seconds") is not None else "")
            + f"; peak memory {times['peak_rss_mb']:.0f} MB |"
        )
    lines += [f"| Data file `{k}` (SHA-256) | `{v[:16]}...` |" for k, v in sorted(prov["data"].items())]
    lines += [f"| {k} | {v} |" for k, v in prov["packages"].items()]
    return "\n".join(lines) + "\n\n: Software, data and settings that produced this document. {#tbl-colophon}\n"
