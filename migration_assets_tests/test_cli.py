"""migration-run refuses arguments that would train nothing or destroy trained members, before any work."""

import pytest

from migration_assets import cli


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "0"], "--epochs must be at least 1"),
    (["--epochs", "-1"], "--epochs must be at least 1"),
    (["--parallel", "0"], "--parallel must be at least 1"),
    (["--members", "21"], "--members must be between 1 and 20"),
])
def test_bad_arguments_stop_with_a_one_line_usage_error(argv, message, capsys, monkeypatch):
    monkeypatch.setattr(cli, "_enter_project", lambda: pytest.fail("work started before the arguments were checked"))
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    assert stop.value.code == 2
    assert message in capsys.readouterr().err
