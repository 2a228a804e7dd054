"""The ingestion queue (ENCLAVE_INGEST_QUEUE=postgres): a batch of files becomes a job in PostgreSQL, kept by
procrastinate (the PostgreSQL-backed task queue: no second server to run, jobs in the same database and backups as
the rest), and `enclave worker` processes take the jobs, one batch at a time each, as many workers as the load needs.

jobs       the procrastinate App on the database's URL: its one task and its queue (its tables: database migration 0002)
submit     IngestQueue: log a batch as queued and defer its job; follow it until a worker has settled it
work       run_worker: take jobs, beat the heart, send a dead worker's job back to the queue (or fail it for good)

The batch's files are in the ingestion log from the moment it is queued (ingest.pipeline.jobs), so every process
sees the same progress; a batch taken up again after its worker died carries on where the log says it stopped.
"""

from ingest.queue.jobs import QUEUE, TASK, BatchJob
from ingest.queue.submit import IngestQueue, open_queue
from ingest.queue.work import run_worker

__all__ = ["QUEUE", "TASK", "BatchJob", "IngestQueue", "open_queue", "run_worker"]
