"""Corpus of real gradient-accumulation loops, re-expressed against accumaudit's probe ``RunContext``.

Each module re-states only the accumulation logic of one public training loop (cited in its docstring)
as ``train(ctx)``; none of their code is copied. ``test/corpus/corpus.json`` lists every loop with the
scenarios it is checked on and the verdict expected from reading the original. Run one with::

    PYTHONPATH=test/corpus node dist/cli/main.js check --trainer python:loops.<name>:train ...
"""
