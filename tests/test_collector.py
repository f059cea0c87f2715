"""A console command keeps its corpus to the end (it exits with ``os._exit``: freeing 100k records
object by object served nothing and cost 0.4 s of `sla` at 100k); any other process frees it as
usual, or `mkdocs serve` and the tests calling commands in-process would keep every build's."""
from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import gc, sys, weakref
from servicebook.load import collector, corpus
if sys.argv[2] == "cli":
    collector.exit_without_teardown()
gc.disable()  # freed by reference counting, or not at all
loaded = corpus.load(sys.argv[1], use_cache=False)
gone = weakref.ref(loaded)
del loaded
print("kept" if gone() is not None else "freed")
"""


@pytest.mark.parametrize(("process", "expected"), [("cli", "kept"), ("other", "freed")])
def test_only_a_process_ending_without_teardown_keeps_its_corpus(mini, process, expected):
    proc = subprocess.run([sys.executable, "-c", PROBE, str(mini.root), process],
                          capture_output=True, text=True, check=True)
    assert proc.stdout.split() == [expected], proc.stderr


def test_the_console_command_keeps_its_corpus_to_the_end(mini):
    """What `cli.entry` (the console script, ``python -m servicebook``) has kept when it exits."""
    probe = ("import os, sys; from servicebook import cli; from servicebook.load import collector\n"
             "os._exit = lambda code: print([type(v).__name__ for v in collector._KEPT], code)\n"
             "sys.argv = ['servicebook', 'report', 'cases', '--root', sys.argv[1]]; cli.entry()")
    proc = subprocess.run([sys.executable, "-c", probe, str(mini.root)], capture_output=True, text=True)
    assert proc.stdout.splitlines()[-1] == "['Corpus'] 0", proc.stdout[-300:] + proc.stderr
