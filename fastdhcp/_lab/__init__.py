"""Network-namespace labs that the tests, the benchmarks and ``fastdhcp demo`` share (not a
public API, as asyncpg ships ``_testbase``): ``netlab`` builds and removes labs (with its pytest
fixture), ``crashlab`` runs kill -9 rounds against the server in one."""
