"""What the test folders share, imported as ``support.<module>``; never a folder's conftest.

- ``postgres``: fresh uuid-named PostgreSQL databases (fixtures ``make_postgres_url``, ``postgres_url``)
- ``gateway``: the running-gateway harness, an in-process gateway on a migrated SQLite or
  PostgreSQL database (fixtures ``database_url_factory``, ``sqlite_url_factory``,
  ``gateway_factory``, ``gw``, ``gw_sqlite``)
- ``receiver``: a webhook receiver on loopback, and a reader of server-sent events (fixture
  ``receiver``)
- ``cli``: the ``tidings`` command as a subprocess, and a ``tidings serve`` to talk to
- ``fleet``: a scaled deployment of ``tidings api`` and ``tidings worker`` processes
- ``ports``: loopback ports for subprocesses that parallel workers never share, and refused ones
- ``channels``: what the channel adapters' unit tests build their adapters and messages with
- ``web``: a small aiohttp app on a loopback port for the block, and a bounded wait
- ``alone``: the ``alone`` mark, for tests that assert on time: on xdist workers they run while
  no other test does

The fixture and hook modules are registered by ``tests/conftest.py`` (``pytest_plugins``); a folder's own
fixtures stay in that folder's conftest.
"""
