"""`python -m repbench.cli`: the `repbench` command without its console script."""
import sys

from repbench.cli import main

sys.exit(main())
