"""Imported only by the parse pool's fork server, once per Enclave process: it loads the parsers there, so that each
parse worker forks from a process that has them already instead of importing them itself.

The one module that does work when imported, because that is how a fork server is told what to load
(`multiprocessing`'s `set_forkserver_preload` takes module names)."""

from ingest.pipeline.worker import warm_up

warm_up()
