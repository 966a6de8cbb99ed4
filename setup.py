"""Builds the one native extension, fastdhcp._core, from _native/_core.pyx (which includes the parts).

Switches (environment): FASTDHCP_DEBUG=1 turns Cython's checks on and builds with -O0 -g;
FASTDHCP_SANITIZE=1 adds AddressSanitizer and UndefinedBehaviorSanitizer.
"""

import os
import sys

from setuptools import Extension, setup

if not sys.platform.startswith("linux"):
    sys.exit("fastdhcp runs on Linux only (it uses recvmmsg, sendmmsg and AF_PACKET sockets).")

from Cython.Build import cythonize  # noqa: E402  (after the platform check, for a clear error)

# The enums C and Python share are defined once, in the .pxd files: write their Python classes
# (fastdhcp/_enums.py) and the values the compiled core reports (_native/enums.pxi) first.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "_native"))
import enums  # noqa: E402

enums.main([])

DEBUG = os.environ.get("FASTDHCP_DEBUG") == "1"
SANITIZE = os.environ.get("FASTDHCP_SANITIZE") == "1"

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "embedsignature": True,
}
cflags = ["-O0", "-g"] if DEBUG else ["-O3"]
ldflags = []
if SANITIZE:
    san = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"]
    cflags += san + ["-g"]
    ldflags += san

def _pg_include() -> str:
    """libpq's headers (Debian's libpq-dev): pg_config says where."""
    import subprocess
    try:
        return subprocess.run(["pg_config", "--includedir"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "/usr/include/postgresql"


pg_include = _pg_include()
core = Extension(
    "fastdhcp._core",
    sources=["_native/_core.pyx"],
    include_dirs=["_native", pg_include],
    extra_compile_args=cflags + ["-Wno-unused-function"],
    extra_link_args=ldflags,
    libraries=["pq"],             # libpq: the lease database's commits (_native/pgsql.pyx)
)

setup(ext_modules=cythonize([core], include_path=["_native"], compiler_directives=directives))
