"""Tools for reviewers: what a change did to the paper (:mod:`~analysis.review.diff`), which step, results
file and code made each table and figure (:mod:`~analysis.review.papermap`), and the paper's structure both
read (:mod:`~analysis.review.paper`)."""
