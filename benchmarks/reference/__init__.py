"""What our rewards are tested and benchmarked against, in one importable place.

- ``reference.tutorial``: the two tutorials' reward functions, copied verbatim from the notebooks.
- ``reference.peers``: open-r1's and TRL's reward functions, copied verbatim (their logic).
- ``reference.hostile_inputs``: the Hypothesis strategies for hostile completions (property tests, fuzzing).
- ``reference.accuracy_pairs``: generated (gold, completion) pairs shaped like real math data, each with the
  verdict a reader gives it (math_accuracy against TRL's and open-r1's accuracy_reward).

Imported as ``from reference import tutorial``: by the benchmark scripts (run as ``python benchmarks/X.py``, so
``benchmarks/`` is the first entry of ``sys.path``) and by the tests (``tests/pytest.ini`` puts ``benchmarks/`` on
pytest's ``pythonpath``). Do not fix anything in the verbatim copies: the compatibility tests compare against them.
"""
