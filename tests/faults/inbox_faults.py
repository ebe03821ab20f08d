"""Fault script for incoming updates: the real `sprout serve` (webhook, then polling) against the loopback fake Bot
API, killed with SIGKILL during a burst and restarted, counting updates never handled and updates answered twice.

    python -m tests.faults.inbox_faults --json

Every update is an unknown command `/x<update_id>` from one of a few chats; Sprout's reply names the command, so
the fake Bot API's record says which update each reply answers. Webhook deliveries are retried until answered 200,
as Telegram does, in order per chat; some are delivered three times. Polling uses the fake's getUpdates queue,
which forgets updates only when an offset confirms them. Prints {"updates_sent", "handled", "lost",
"duplicates", ...}.

"lost" must be 0. A duplicate can only come from a kill landing after Telegram (here the fake) accepted a reply and
before the update was marked done, so at most the updates in flight at each kill (`IN_FLIGHT` per kill); the exit
status is 1 when anything was lost, a chat's replies came out of order, or duplicates exceed that bound."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

from tests.fake_bot_api import FakeBotApi, FakeBotApiProcess

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:TEST-TOKEN-for-the-fault-script"
MARKER = re.compile(r"/x(\d+)\b")
IN_FLIGHT = 8             # updates handled at once by `sprout serve` (bot/telegram_serve.py WORKERS)
STALL_SECONDS = 10.0      # no new reply for this long: what is left is lost
START_SECONDS = 60.0      # a start-up slower than this is a failure of its own


def update(update_id: int, chats: int) -> dict:
    chat = 7000 + update_id % chats
    text = f"/x{update_id}"
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "chat": {"id": chat, "type": "private"},
        "from": {"id": chat, "is_bot": False, "first_name": "Parent", "language_code": "en"}, "text": text,
        "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}]}}


def minimal_content(target: Path) -> Path:
    """The data files a runtime needs and no guidance entries, so start-up embeds nothing (replies to unknown
    commands need no search)."""
    source = ROOT / "content"
    (target / "services").mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / "regions.yaml", target / "regions.yaml")
    shutil.copytree(source / "safety", target / "safety", dirs_exist_ok=True)
    shutil.copy2(source / "services" / "gazetteer.yaml", target / "services" / "gazetteer.yaml")
    return target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Serve:
    """The real `sprout serve` as a child process: started, killed with SIGKILL, restarted, stopped."""

    def __init__(self, workdir: Path, fake: FakeBotApi, webhook_port: int | None = None,
                 secret: str | None = None, extra_env: dict | None = None):
        self.workdir, self.fake = workdir, fake
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "TELEGRAM_BOT_TOKEN": TOKEN,
                    "SPROUT_TELEGRAM_API_URL": fake.api_url.removesuffix("/bot"), "SPROUT_DATA_DIR": str(workdir / "data"),
                    "SPROUT_CONTENT_DIR": str(minimal_content(workdir / "content")),
                    "SPROUT_MESSAGES_PER_MINUTE": "600", "SPROUT_LOG_LEVEL": "WARNING"}
        for name in ("SPROUT_CONFIG", "SPROUT_DB_PATH", "SPROUT_WEBHOOK_URL", "SPROUT_WEBHOOK_SECRET"):
            self.env.pop(name, None)
        self.port = webhook_port
        if webhook_port is not None:
            self.env.update({"SPROUT_WEBHOOK_URL": "https://bot.example.org/telegram",
                             "SPROUT_WEBHOOK_LISTEN": "127.0.0.1", "SPROUT_WEBHOOK_PORT": str(webhook_port)})
            if secret is not None:
                self.env["SPROUT_WEBHOOK_SECRET"] = secret
        self.env.update(extra_env or {})
        self.proc: subprocess.Popen | None = None
        self.starts = self.kills = 0
        self.log = workdir / "serve.log"

    def start(self) -> None:
        polls_before, hooks_before = self.fake.count("getUpdates"), self.fake.count("setWebhook")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-c", "from bot.cli import main; main()", "serve"],
                                         cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.starts += 1
        if self.port is None:
            self.wait(lambda: self.fake.count("getUpdates") > polls_before, "the first getUpdates")
        else:
            self.wait(lambda: self.fake.count("setWebhook") > hooks_before and _accepts(self.port), "the webhook")

    def wait(self, ready, what: str) -> None:
        deadline = time.monotonic() + START_SECONDS
        while not ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"sprout serve exited with {self.proc.returncode} before {what}:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"sprout serve did not reach {what} in {START_SECONDS:.0f} s:\n{self.tail()}")
            time.sleep(0.02)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.kills += 1

    def stop(self) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def tally(fake: FakeBotApi, sent: list[int]) -> dict:
    """Which updates got a reply, how many got more than one, and whether each chat's replies kept its order."""
    replies = Counter()
    order: dict[int, list[int]] = defaultdict(list)
    for chat, text in fake.sent_texts():
        match = MARKER.search(text)
        if match:
            replies[int(match[1])] += 1
            order[chat].append(int(match[1]))
    handled = sum(1 for u in sent if replies[u])
    violations = sum(1 for seq in order.values() for a, b in zip(seq, seq[1:]) if b < a)
    return {"updates_sent": len(sent), "handled": handled, "lost": len(sent) - handled,
            "duplicates": sum(n - 1 for n in replies.values() if n > 1), "order_violations": violations}


def wait_for_replies(fake: FakeBotApi, sent: list[int], stall: float = STALL_SECONDS) -> None:
    """Until every update has a reply, or no new reply came for `stall` seconds."""
    seen, last_change = -1, time.monotonic()
    while True:
        now_seen = tally(fake, sent)["handled"]
        if now_seen == len(sent):
            return
        if now_seen != seen:
            seen, last_change = now_seen, time.monotonic()
        elif time.monotonic() - last_change > stall:
            return
        time.sleep(0.05)


class Deliverer:
    """Telegram's side of webhook mode: each chat's updates in order, each retried until answered 200, from a few
    connections at once. When `kill_at` acknowledgements are reached, the server is killed right away."""

    def __init__(self, serve: Serve, secret: str, connections: int = 8):
        self.serve, self.secret, self.connections = serve, secret, connections
        self.acked = 0
        self.lock = threading.Lock()
        self.up = threading.Event()
        self.kill_at: list[int] = []
        self.killed = threading.Event()

    def post(self, body: bytes) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", self.serve.port, timeout=15)
        try:
            conn.request("POST", "/telegram", body, {"Content-Type": "application/json",
                                                     "X-Telegram-Bot-Api-Secret-Token": self.secret})
            return conn.getresponse().status
        finally:
            conn.close()

    def _lane(self, queue: list[tuple[int, bytes]]) -> None:
        while queue:
            self.up.wait()
            update_id, body = queue[0]
            try:
                status = self.post(body)
            except OSError:
                status = 0
            if status != 200:
                time.sleep(0.02)
                continue
            queue.pop(0)
            with self.lock:
                self.acked += 1
                if self.kill_at and self.acked >= self.kill_at[0]:
                    self.kill_at.pop(0)
                    self.up.clear()
                    self.serve.kill()
                    self.killed.set()

    def deliver(self, deliveries: list[tuple[int, bytes]], chats: int, kill_at: list[int]) -> None:
        """Deliver everything, killing and restarting the server at each threshold of acknowledgements."""
        self.kill_at = sorted(kill_at)
        lanes: list[list[tuple[int, bytes]]] = [[] for _ in range(self.connections)]
        for update_id, body in deliveries:
            lanes[(update_id % chats) % self.connections].append((update_id, body))
        threads = [threading.Thread(target=self._lane, args=(lane,), daemon=True) for lane in lanes]
        self.up.set()
        for thread in threads:
            thread.start()
        while any(t.is_alive() for t in threads):
            if self.killed.wait(0.05):
                self.killed.clear()
                self.serve.start()
                self.up.set()
        self.up.set()


def webhook_scenario(workdir: Path, updates: int = 120, chats: int = 12, kill_at=(120,), redeliver_every: int = 10,
                     redeliveries: int = 3) -> dict:
    """Deliver `updates` to `sprout serve` in webhook mode, killing it at each count of 200 answers in `kill_at`,
    then restarting it; every `redeliver_every`-th update is delivered `redeliveries` times in all."""
    fake = FakeBotApiProcess()
    secret = secrets.token_urlsafe(32)
    serve = Serve(workdir, fake, webhook_port=free_port(), secret=secret)
    try:
        serve.start()
        sent = list(range(1, updates + 1))
        deliveries = []
        for update_id in sent:
            body = json.dumps(update(update_id, chats)).encode()
            times = redeliveries if redeliver_every and update_id % redeliver_every == 0 else 1
            deliveries.extend([(update_id, body)] * times)
        Deliverer(serve, secret).deliver(deliveries, chats, list(kill_at))
        wait_for_replies(fake, sent)
        exit_code = serve.stop()
        return {**tally(fake, sent), "deliveries": len(deliveries), "kills": serve.kills,
                "starts": serve.starts, "exit_code_on_sigterm": exit_code}
    finally:
        serve.stop()
        fake.stop()


def polling_scenario(workdir: Path, updates: int = 300, chats: int = 30, kill_at=(150,), seed: int = 20) -> dict:
    """Queue `updates` at the fake Bot API, run `sprout serve` in polling mode, kill it when the count of replies
    reaches each of `kill_at`, restart it, and count what was never handled."""
    fake = FakeBotApiProcess()
    serve = Serve(workdir, fake)
    rng = random.Random(seed)
    try:
        sent = list(range(1, updates + 1))
        fake.queue([update(u, chats) for u in sent])
        serve.start()
        for threshold in sorted(kill_at):
            handled, changed = 0, time.monotonic()
            while handled < threshold and time.monotonic() - changed < STALL_SECONDS:
                now_handled = tally(fake, sent)["handled"]
                if now_handled != handled:
                    handled, changed = now_handled, time.monotonic()
                time.sleep(0.01)
            # A reply seen at the fake means one update is between its reply and its commit right now; killing at
            # once would hit that gap every time. A random point shortly after is a kill during the burst.
            time.sleep(rng.uniform(0, 0.1))
            serve.kill()
            serve.start()
        wait_for_replies(fake, sent)
        exit_code = serve.stop()
        return {**tally(fake, sent), "kills": serve.kills, "starts": serve.starts, "confirmed_by_offset": fake.confirmed,
                "exit_code_on_sigterm": exit_code}
    finally:
        serve.stop()
        fake.stop()


def run(workdir: Path) -> dict:
    started = time.monotonic()
    webhook = webhook_scenario(workdir / "webhook", updates=120, chats=12, kill_at=(40, 120))
    polling = polling_scenario(workdir / "polling", updates=300, chats=30, kill_at=(80, 160, 240))
    totals = {key: webhook[key] + polling[key] for key in ("updates_sent", "handled", "lost", "duplicates",
                                                             "order_violations", "kills")}
    return {**totals, "duplicates_bound": totals["kills"] * IN_FLIGHT, "seconds": round(time.monotonic() - started, 1),
            "webhook": webhook, "polling": polling}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON (the only format)")
    parser.add_argument("--keep", action="store_true", help="keep the working folder and print its path")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="sprout-inbox-faults-"))
    try:
        report = run(workdir)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.keep:
        report["workdir"] = str(workdir)
    print(json.dumps(report, indent=1))
    sys.exit(1 if report["lost"] or report["order_violations"] or report["duplicates"] > report["duplicates_bound"]
             else 0)


if __name__ == "__main__":
    main()
