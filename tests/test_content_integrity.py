"""Content that cannot vanish: a file that fails to parse stops start-up and `index build` with the validator's
`path:line` and changes nothing; restoring it byte for byte brings everything back; YAML aliases are refused."""

import json
import re
from datetime import date

import pytest
import yaml
from click.testing import CliRunner

from bot.cli import cli
from knowledge.bundle import ContentError, load_knowledge, load_valid_knowledge
from knowledge.content import YAMLAliasError, parse_entry, read_yaml, safe_load
from knowledge.db import open_database
from knowledge.gazetteer import Gazetteer, GazetteerError
from knowledge.store import EntryStore
from retrievalhelpers import CONTENT_DIR, copy_small_content, entry_file

TODAY = date(2026, 11, 20)
ENTRY = "sleep/sleep-bed-sharing-risks"
OTHER = "crying/crying-colic"


@pytest.fixture
def small(tmp_path):
    """Two published entries plus regions and the sign table; data in tmp_path/data."""
    content = copy_small_content(tmp_path / "content", names=(ENTRY, OTHER))
    env = {"SPROUT_CONTENT_DIR": str(content), "SPROUT_DATA_DIR": str(tmp_path / "data")}
    return content, env, tmp_path / "data" / "sprout.db"


def entry_state(db_path):
    db = open_database(db_path)
    try:
        status = {r[0]: r[1] for r in db.execute("select id, status from entries")}
        reviews = db.execute("select count(*) from entry_reviews").fetchone()[0]
        return status, reviews
    finally:
        db.conn.close()


def test_a_yaml_typo_in_a_published_entry_stops_index_build_and_changes_nothing(small):
    content, env, db_path = small
    runner = CliRunner()
    built = runner.invoke(cli, ["index", "build", "--json"], env=env)
    assert built.exit_code == 0, built.output
    before = entry_state(db_path)
    assert before[0] == {"sleep-bed-sharing-risks": "published", "crying-colic": "published"}

    path = entry_file(content, ENTRY)
    original = path.read_bytes()
    path.write_bytes(original.replace(b"topic: sleep", b"topic: [sleep", 1))
    broken = runner.invoke(cli, ["index", "build", "--json"], env=env)
    assert broken.exit_code == 1
    assert re.search(r"content/guidance/sleep/sleep-bed-sharing-risks\.md:\d+: error: front matter is not valid YAML",
                     broken.output), broken.output
    assert "Traceback" not in broken.output
    assert entry_state(db_path) == before  # not retired, no review row

    path.write_bytes(original)
    rebuilt = runner.invoke(cli, ["index", "build", "--json"], env=env)
    assert rebuilt.exit_code == 0, rebuilt.output
    report = json.loads(rebuilt.stdout)
    assert (report["added"], report["changed"], report["removed"]) == ([], [], [])
    assert entry_state(db_path) == before
    asked = runner.invoke(cli, ["ask", "is it safe to share a bed with my baby", "--json"], env=env)
    assert asked.exit_code == 0, asked.output
    assert json.loads(asked.stdout)["entry_id"] == "sleep-bed-sharing-risks"


def test_an_invalid_entry_stops_start_up_with_the_validators_message(small):
    content, env, db_path = small
    path = entry_file(content, ENTRY)
    path.write_text(path.read_text(encoding="utf-8").replace("topic: sleep", "topic: napping"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["chat"], env=env, input="/help\n")
    assert result.exit_code == 1
    assert "content/guidance/sleep/sleep-bed-sharing-risks.md:3: error: unknown topic 'napping'" in result.output
    assert not db_path.exists()  # refused before the database was even opened


def test_a_broken_regions_file_stops_start_up_instead_of_breaking_every_start(small):
    content, env, db_path = small
    regions = content / "regions.yaml"
    regions.write_text(regions.read_text(encoding="utf-8").replace("timezone: Asia/Shanghai",
                                                                   "timezone: Asia/Atlantis", 1), encoding="utf-8")
    result = CliRunner().invoke(cli, ["chat"], env=env, input="/start\n")
    assert result.exit_code == 1
    assert "content/regions.yaml:" in result.output and "unknown time zone 'Asia/Atlantis'" in result.output
    with pytest.raises(ContentError, match=r"content/regions\.yaml:\d+: error: region CN"):
        load_valid_knowledge(content, TODAY)


def test_optional_data_files_may_be_left_out_but_not_broken(small):
    content, _, _ = small
    kb, warnings = load_valid_knowledge(content, TODAY)  # no tips, milestones or leave files: those features off
    assert kb.tips == () and {"content/tips/tips.yaml", "content/policies/leave.yaml"} <= {w.path for w in warnings}
    (content / "tips").mkdir()
    (content / "tips" / "tips.yaml").mkdir()  # there, but unreadable
    with pytest.raises(ContentError, match=r"content/tips/tips\.yaml:1: error: file cannot be read"):
        load_valid_knowledge(content, TODAY)


def test_an_entry_whose_file_returns_byte_for_byte_is_published_again(tmp_path):
    db = open_database(tmp_path / "sprout.db")
    content = copy_small_content(tmp_path / "content", names=(ENTRY, OTHER))
    store = EntryStore(db)
    entries = load_knowledge(content, TODAY)[0].entries
    store.sync_from_files(entries)
    gone = store.sync_from_files([e for e in entries if e.id != "sleep-bed-sharing-risks"])
    assert gone.retired == ["sleep-bed-sharing-risks"]
    back = store.sync_from_files(entries)
    assert back.updated == ["sleep-bed-sharing-risks"]
    assert store.get("sleep-bed-sharing-risks").status == "published"
    assert store.sync_from_files(entries).unchanged == 2  # and then it is unchanged again


def test_a_curators_retirement_survives_a_sync_of_the_unchanged_file(tmp_path):
    from dataclasses import replace

    db = open_database(tmp_path / "sprout.db")
    content = copy_small_content(tmp_path / "content", names=(ENTRY,))
    store = EntryStore(db)
    entries = load_knowledge(content, TODAY)[0].entries
    store.sync_from_files(entries)
    live = store.get("sleep-bed-sharing-risks")
    store.save(replace(live, status="retired"), actor="tg:1", action="retire", before=live)
    store.sync_from_files(entries)
    assert store.get("sleep-bed-sharing-risks").status == "retired"


BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(12))


def test_a_yaml_alias_bomb_in_an_entry_is_refused_with_its_line():
    text = (entry_file(CONTENT_DIR, ENTRY).read_text(encoding="utf-8")
            .replace("---\n", "---\n" + BOMB, 1))
    entry, problems = parse_entry(text, "content/guidance/sleep/sleep-bed-sharing-risks.md")
    assert entry is None
    assert [(p.line, p.message.split(":")[0]) for p in problems] == [(3, "front matter is not valid YAML")]
    assert "aliases (*a) are not allowed" in problems[0].message


def test_a_yaml_alias_bomb_in_a_data_file_is_refused(tmp_path):
    path = tmp_path / "regions.yaml"
    path.write_text(BOMB, encoding="utf-8")
    data, _, problems = read_yaml(path, "content/regions.yaml")
    assert data is None and [str(p) for p in problems] == [
        "content/regions.yaml:2: error: not valid YAML: aliases (*a) are not allowed in content files; write the "
        "value out in full"]
    with pytest.raises(YAMLAliasError):
        safe_load(BOMB)
    (tmp_path / "gazetteer.yaml").write_text(BOMB, encoding="utf-8")
    with pytest.raises(GazetteerError, match="aliases"):
        Gazetteer.load(tmp_path / "gazetteer.yaml")


def test_a_star_inside_text_is_not_an_alias():
    assert safe_load('a: "**bold** and *stars*"\nb: 2 * 3\n') == {"a": "**bold** and *stars*", "b": "2 * 3"}


def test_the_shipped_content_uses_no_aliases():
    assert load_valid_knowledge(CONTENT_DIR, TODAY)[0].entries
    for path in CONTENT_DIR.rglob("*.yaml"):
        assert not any(isinstance(e, yaml.AliasEvent) for e in yaml.parse(path.read_text(encoding="utf-8"))), path
