"""Settings: defaults file, overrides, and errors that name the field."""

from pathlib import Path

import pytest

from groovebox.config import ConfigError, Settings, load_settings

REPO = Path(__file__).resolve().parents[1]


def test_shipped_config_lists_exactly_the_defaults(tmp_path):
    loaded = load_settings(REPO / "config" / "groovebox.toml", system_file=tmp_path / "absent.toml")
    assert loaded == Settings()


def test_file_overrides_system_file_overrides_defaults(tmp_path):
    system = tmp_path / "system.toml"
    system.write_text('[audio]\nblock_frames = 512\nbackend = "null"\n')
    user = tmp_path / "user.toml"
    user.write_text("[audio]\nblock_frames = 128\n")
    settings = load_settings(user, system_file=system, overrides={"web": {"port": 9000}})
    assert settings.audio.block_frames == 128
    assert settings.audio.backend == "null"
    assert settings.web.port == 9000
    assert settings.project.tempo_bpm == 120.0


def test_bad_value_names_file_and_field(tmp_path):
    user = tmp_path / "bad.toml"
    user.write_text("[audio]\nblock_frames = 4\n")
    with pytest.raises(ConfigError, match=r"bad.toml: audio.block_frames: Input should be greater than or equal to 32"):
        load_settings(user, system_file=tmp_path / "absent.toml")


def test_unknown_key_and_broken_toml_are_refused(tmp_path):
    typo = tmp_path / "typo.toml"
    typo.write_text("[audio]\nblok_frames = 128\n")
    with pytest.raises(ConfigError, match="audio.blok_frames: Extra inputs are not permitted"):
        load_settings(typo, system_file=tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[audio\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken, system_file=tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.toml", system_file=tmp_path / "absent.toml")
