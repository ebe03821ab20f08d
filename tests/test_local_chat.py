"""The local chat: the same engine in a terminal, scripted through piped stdin."""

import io
import re
from pathlib import Path

import pytest

from bot.local_chat import LocalChat, parse_line
from bot.messages import Button

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def chat(runtime, lines, user="tester", lang=None):
    out = []
    from bot.features.tips import local_inbox

    local = LocalChat(runtime.engine, user, out.append, runtime.settings.data_dir / "exports", lang,
                      inbox=local_inbox(runtime))
    local.run(io.StringIO("\n".join(lines) + "\n"))
    return "\n".join(out)


def test_piped_session_onboards_with_numbered_buttons_and_answers(runtime):
    output = chat(runtime, ["1", "1", "1", "how much sleep does a 6 month old need"])
    assert "[1] English" in output
    assert "Source:" in output and any(line in output for line in ("Checked against these sources", "Written from these sources", "Approved by a Sprout reviewer"))


def test_piped_session_in_chinese(runtime):
    output = chat(runtime, ["2", "1", "1", "宝宝几个月可以加辅食"], user="zh-user")
    assert "来源：" in output


def test_an_emergency_in_the_local_chat_gets_the_number_first(runtime):
    chat(runtime, ["1", "1", "1"])
    reply = chat(runtime, ["my baby is not breathing"])
    assert "120" in reply.strip().splitlines()[0]
    assert "Source:" not in reply


def test_mydata_is_saved_as_a_file_that_is_removed_when_the_chat_ends(runtime):
    output = chat(runtime, ["1", "1", "1", "/mydata"])
    match = re.search(r"file saved: (\S+?);", output)
    assert match and match.group(1).endswith("sprout-my-data.json")
    assert not Path(match.group(1)).exists()  # personal data: kept only while the chat lasts (test_privacy.py)


def test_subscribed_tip_arrives_in_the_local_chat(runtime):
    from bot.messages import Incoming

    chat(runtime, ["1", "1", "1", "/child", "1", "Ada", "2026-10-01", "1"])
    child_id = runtime.db.execute("select id from children").fetchone()[0]
    assert "Subscribe" in chat(runtime, ["/tips"])
    runtime.engine.handle(Incoming("local:tester", callback=f"tips:hour:{child_id}:0:9"))
    assert "This week's tip" in chat(runtime, ["/help"])


@pytest.mark.parametrize("line, expected", [
    ("/help", ("command", "help")),
    ("2", ("callback", "b")),
    ("@31.2,121.5", ("location", (31.2, 121.5))),
    ("hello", ("text", "hello")),
])
def test_typed_lines_become_engine_actions(line, expected):
    incoming = parse_line(line, "local:x", [Button("a", "a"), Button("b", "b")], None)
    assert getattr(incoming, expected[0]) == expected[1]


def test_every_bot_command_is_in_help_and_readme(runtime):
    from bot.messages import Incoming

    help_text = runtime.engine.handle(Incoming("local:helper", command="help"))[0].text
    for name in runtime.engine.public_commands():
        assert f"/{name}" in help_text, name
        assert f"`/{name}`" in README, name
    for name in runtime.engine.curator_commands():
        assert f"`/{name}`" in README, name


def test_a_health_answer_opens_with_the_safety_box_in_the_local_chat(runtime):
    chat(runtime, ["1", "1", "1"], user="box")
    reply = chat(runtime, ["how do I take my baby's temperature"], user="box")
    assert "⚠️ When to get help" in reply and ("Call 120 now if:" in reply or "See a doctor today if:" in reply)
    assert reply.index("⚠️ When to get help") < reply.index("Source:")


def test_mydata_says_so_when_the_export_folder_is_not_a_folder(runtime):
    exports = runtime.settings.data_dir / "exports"
    exports.write_text("not a folder")
    output = chat(runtime, ["1", "1", "1", "/mydata", "how much sleep does a 6 month old need"], user="exports")
    assert "could not be saved" in output and "Source:" in output


def test_piped_lines_are_never_dropped_by_the_per_minute_limit(runtime):
    questions = [f"how much sleep does a {n} month old need" for n in range(1, 31)]
    output = chat(runtime, ["1", "1", "1", *questions], user="piped")
    # Every line gets its reply: an answer, or the honest "no checked answer" (never a dropped line).
    assert output.count("Source:") + output.count("passed your question to the content team") == 30
