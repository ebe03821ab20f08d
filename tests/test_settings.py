from pathlib import Path

import pytest

from knowledge.settings import REGIONS, Settings, SettingsError, load_settings


def test_defaults_need_no_environment():
    settings = load_settings({})
    assert settings.language == "en"
    assert settings.region == "CN"
    assert settings.db_path == Path("var/sprout.db")
    assert settings.telegram_token is None


def test_environment_overrides_defaults(tmp_path):
    settings = load_settings({"SPROUT_DATA_DIR": str(tmp_path), "SPROUT_LANGUAGE": "ZH", "SPROUT_REGION": "uk",
                              "SPROUT_CURATOR_IDS": "11, 22", "SPROUT_WEBHOOK_PORT": "8080"})
    assert settings.db_path == tmp_path / "sprout.db"
    assert settings.language == "zh"
    assert settings.region == "UK"
    assert settings.curator_ids == frozenset({11, 22})
    assert settings.webhook_port == 8080


@pytest.mark.parametrize("variable, value, named", [
    ("SPROUT_LANGUAGE", "fr", "accepted values: en, zh"),
    ("SPROUT_REGION", "XX", "accepted values: " + ", ".join(REGIONS)),
    ("SPROUT_WEBHOOK_PORT", "99999", "accepted values: 1 to 65535"),
    ("SPROUT_WEBHOOK_PORT", "abc", "not a whole number"),
    ("SPROUT_CURATOR_IDS", "@alice", "numeric Telegram user ids"),
    ("TELEGRAM_BOT_TOKEN", "not-a-token", "BotFather"),
    ("SPROUT_WEBHOOK_URL", "http://insecure.example", "https://"),
])
def test_invalid_value_names_the_setting_and_accepted_values(variable, value, named):
    with pytest.raises(SettingsError) as error:
        load_settings({variable: value})
    assert variable in str(error.value)
    assert named in str(error.value)


def test_a_webhook_without_a_secret_is_accepted_because_serve_generates_one():
    settings = load_settings({"SPROUT_WEBHOOK_URL": "https://bot.example.org/telegram"})
    assert settings.webhook_enabled and settings.webhook_secret is None


@pytest.mark.parametrize("secret", ["s3cret-token", "x" * 31, "has spaces and is long enough to pass the length"])
def test_a_webhook_secret_shorter_than_32_characters_or_not_url_safe_is_refused(secret):
    with pytest.raises(SettingsError, match="SPROUT_WEBHOOK_SECRET.*32-256"):
        load_settings({"SPROUT_WEBHOOK_URL": "https://bot.example.org/telegram", "SPROUT_WEBHOOK_SECRET": secret})


def test_a_32_character_webhook_secret_is_accepted():
    secret = "A1_-" * 8
    assert load_settings({"SPROUT_WEBHOOK_SECRET": secret}).webhook_secret == secret


@pytest.mark.parametrize("url, ok", [("http://127.0.0.1:8081", True), ("https://api.example.org", True),
                                     ("http://localhost:8081", True), ("http://api.example.org", False),
                                     ("ftp://127.0.0.1", False)])
def test_the_bot_api_url_is_https_or_loopback_http(url, ok):
    if ok:
        assert load_settings({"SPROUT_TELEGRAM_API_URL": url}).telegram_api_url == url
    else:
        with pytest.raises(SettingsError, match="SPROUT_TELEGRAM_API_URL"):
            load_settings({"SPROUT_TELEGRAM_API_URL": url})


def test_toml_file_is_read_and_environment_wins(tmp_path):
    config = tmp_path / "sprout.toml"
    config.write_text('language = "zh"\nregion = "HK"\ncurator_ids = [5, 6]\n', encoding="utf-8")
    settings = load_settings({"SPROUT_REGION": "TW"}, config)
    assert settings.language == "zh"
    assert settings.region == "TW"
    assert settings.curator_ids == frozenset({5, 6})


def test_unknown_toml_key_is_an_error(tmp_path):
    config = tmp_path / "sprout.toml"
    config.write_text('langauge = "zh"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match="unknown setting 'langauge'"):
        load_settings({}, config)


def test_missing_config_file_is_an_error(tmp_path):
    with pytest.raises(SettingsError, match="file not found"):
        load_settings({"SPROUT_CONFIG": str(tmp_path / "nope.toml")})


def test_settings_are_frozen():
    with pytest.raises(AttributeError):
        Settings().language = "zh"


def test_token_is_not_in_repr():
    settings = load_settings({"TELEGRAM_BOT_TOKEN": "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ"})
    assert "ABCDEFGHIJ" not in repr(settings)
