"""Checks that need a derived figure: every open case matches one SLA policy (the engine's policy
matching), and an appraisal's investment figures agree with what its solution computes (``roi``).

Each module defines ``check(corpus) -> Iterable[Problem]``; a problem may leave ``line`` as 0 and
the corpus locates it from its ``path``.
"""
