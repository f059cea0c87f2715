"""Cross-record checks owned by later stages, run in the same pass as validation.

Each module here defines ``check(corpus) -> Iterable[Problem]``: the corpus as loaded (records,
schemas, lifecycle), never anything read from elsewhere. A problem
may leave ``line`` as 0: the corpus then locates it in the file from its ``path``.
"""
