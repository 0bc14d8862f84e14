"""`python -m factory.launch [--check]`: write (or check) the guardrail pack's reviewable
policy documents, launch/guardrails/*.json (make check-generated runs --check)."""

import sys

from factory.launch.guardrails import main

sys.exit(main())
