"""groovebox.generate.apikey: the key from the environment or a root-only file, and its redaction."""

import logging
import os
import shutil
import tempfile

import pytest

from groovebox.generate.apikey import ENV_VAR, ApiKeyError, KeyRedactingFilter, load_api_key, redact

KEY = "AIzaSyTEST-key_123"


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "gemini-api-key"
    path.write_text(f"  {KEY}\n\n")
    path.chmod(0o600)
    return path


def test_environment_wins_over_the_file_and_is_stripped(key_file):
    assert load_api_key(key_file, environ={ENV_VAR: "  from-env\n"}) == "from-env"


def test_the_real_environment_is_read_by_default(key_file, monkeypatch):
    monkeypatch.setenv(ENV_VAR, "env-key")
    assert load_api_key(key_file) == "env-key"


def test_an_empty_variable_falls_back_to_the_file(key_file):
    assert load_api_key(key_file, environ={ENV_VAR: "  "}) == KEY


def test_the_file_is_read_and_stripped(key_file):
    assert load_api_key(key_file, environ={}) == KEY


def test_a_missing_file_means_no_key(tmp_path):
    assert load_api_key(tmp_path / "nope", environ={}) is None


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o666, 0o601])
def test_a_file_readable_by_others_is_refused_with_the_fix(key_file, mode):
    key_file.chmod(mode)
    with pytest.raises(ApiKeyError) as caught:
        load_api_key(key_file, environ={})
    message = str(caught.value)
    assert f"chmod 600 {key_file}" in message
    assert f"{mode:04o}" in message
    assert KEY not in message


@pytest.mark.parametrize("mode", [0o600, 0o400, 0o700])
def test_owner_only_modes_are_accepted(key_file, mode):
    key_file.chmod(mode)
    assert load_api_key(key_file, environ={}) == KEY


@pytest.mark.skipif(os.getuid() != 0, reason="only root can give a file to another user")
def test_a_file_owned_by_another_user_is_refused(key_file):
    os.chown(key_file, 4242, -1)
    with pytest.raises(ApiKeyError, match="owned by uid 4242") as caught:
        load_api_key(key_file, environ={})
    assert f"chown root {key_file}" in str(caught.value)


def _load_as_nobody(path) -> str:
    """Run load_api_key(path) in a forked child that dropped to uid 65534; the ApiKeyError text (or 'ok')."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:                                 # child: never returns into pytest
        os.close(read_end)
        try:
            os.setgid(65534)
            os.setuid(65534)
            load_api_key(path, environ={})
            text = "ok"
        except ApiKeyError as error:
            text = str(error)
        os.write(write_end, text.encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        text = pipe.read().decode()
    os.waitpid(pid, 0)
    return text


def test_an_unreadable_file_is_an_error(tmp_path):
    if os.getuid() == 0:
        directory = tempfile.mkdtemp(prefix="apikey-")          # traversable by the dropped child
        os.chmod(directory, 0o711)
        path = os.path.join(directory, "gemini-api-key")
        try:
            with open(path, "w") as file:
                file.write(KEY)
            os.chmod(path, 0o600)                               # root's, unreadable to uid 65534
            message = _load_as_nobody(path)
        finally:
            shutil.rmtree(directory)
    else:
        path = tmp_path / "gemini-api-key"
        path.write_text(KEY)
        path.chmod(0o000)
        with pytest.raises(ApiKeyError) as caught:
            load_api_key(path, environ={})
        message = str(caught.value)
    assert "permission denied" in message and str(path) in message and KEY not in message


def test_an_empty_file_is_an_error(key_file):
    key_file.write_text("\n  \n")
    with pytest.raises(ApiKeyError, match="empty"):
        load_api_key(key_file, environ={})


def test_a_directory_is_not_a_key_file(tmp_path):
    directory = tmp_path / "dir"
    directory.mkdir(mode=0o700)
    with pytest.raises(ApiKeyError, match="not a regular file"):
        load_api_key(directory, environ={})


def test_redact_scrubs_plain_and_url_encoded_keys():
    key = "abc/def+ghi"
    text = f"GET /ws?key={'abc%2Fdef%2Bghi'} header {key}"
    cleaned = redact(text, key)
    assert key not in cleaned and "abc%2Fdef%2Bghi" not in cleaned
    assert cleaned.count("[redacted]") == 2
    assert redact("nothing here", None) == "nothing here"


def test_the_log_filter_rewrites_records_that_mention_the_key(caplog):
    logger = logging.getLogger("test_apikey.filter")
    redactor = KeyRedactingFilter(KEY)
    logger.addFilter(redactor)
    try:
        with caplog.at_level(logging.DEBUG, logger="test_apikey.filter"):
            logger.debug("> %s: %s", "x-goog-api-key", KEY)
            logger.info("unrelated %d", 5)
            try:
                raise RuntimeError(f"bad key {KEY}")
            except RuntimeError:
                logger.exception("failed")
    finally:
        logger.removeFilter(redactor)
    texts = [caplog.handler.format(record) for record in caplog.records]
    assert texts[0].endswith("> x-goog-api-key: [redacted]")
    assert texts[1].endswith("unrelated 5")
    assert len(texts) == 3 and not any(KEY in text for text in texts)
