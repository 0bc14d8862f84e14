"""The test suite.

Byte-code caching for the suite's own run, whatever ``PYTHONDONTWRITEBYTECODE`` says: without
it every pytest process (three xdist workers) recompiles ``factory/`` and re-runs pytest's
assertion rewriting over every test module (~3 s of CPU each), and each CLI subprocess a test
starts recompiles the modules it imports. The caches are the usual ``__pycache__`` folders
(git-ignored; ``factory.build`` leaves them out of its cache key). Child processes still
honour the variable: they read these caches but write none.
"""

import sys

sys.dont_write_bytecode = False
