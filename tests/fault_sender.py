"""Run by test_tips_fault: one sender process over a ledger, writing each accepted message to a log file the
way Telegram would receive it. The test kills this process with SIGKILL at random points."""

import asyncio
import os
import sys
import time
from datetime import datetime, timezone

from bot.messages import Reply
from bot.tips_sender import send_due
from knowledge.db import open_database
from knowledge.deliveries import Ledger, worker_id


class FileTransport:
    """Appends one line per accepted message; O_APPEND writes survive the sender being killed."""

    def __init__(self, path: str):
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    async def send(self, chat_id, reply):
        time.sleep(0.0005)  # simulated network latency, so kills land mid-send
        os.write(self.fd, f"{chat_id}|{reply.text}\n".encode())


def main() -> None:
    db_path, log_path = sys.argv[1], sys.argv[2]
    db = open_database(db_path)
    ledger = Ledger(db, [])
    now = datetime(2026, 11, 20, 3, 0, tzinfo=timezone.utc)
    compose = lambda d: Reply(d.dedupe_key)  # noqa: E731
    print("started", flush=True)
    asyncio.run(send_due(ledger, compose, FileTransport(log_path), lambda: now, worker_id(), batch_size=5,
                         per_chat_interval=0))
    print("finished", flush=True)


if __name__ == "__main__":
    main()
