"""The namespace-lab library lives in the package (fastdhcp.netlab: the demo and the benchmarks
use it too); tests keep importing it as ``netlab``."""

import sys

from fastdhcp import netlab as _netlab

sys.modules[__name__] = _netlab
