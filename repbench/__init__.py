"""repbench: a benchmark harness for re-parameterizable image super-resolution networks."""

# The version of a bare checkout; an installed copy reports its distribution's (repbench --version).
__version__ = "0.1.0"
