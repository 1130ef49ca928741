"""Tools run by make beside the library: benchmarks (``make bench``), the build comparison (``compare``) and
the reference check (``make reproduce``). They import the library; the library imports none of them (the CLI
verbs ``bench``, ``compare`` and ``reproduce`` load them from the checkout)."""
