"""The model store: what a trained member leaves on disk."""

import stat

import torch

from migration_assets.resources import ModelStore


def test_saved_files_are_readable_like_any_new_file(tmp_path):
    """Members are written through temporary files (mode 0600) and renamed; the files must end with
    the mode of any new file (0666 less the umask), so other users and processes, e.g. a shared model store
    read by workers under another account, can read them."""
    store = ModelStore(root=str(tmp_path / "models"))
    folder = store.save("m00", {"w": torch.zeros(2)}, {"seed": 0}, [{"epoch": 1, "loss": 1.0}])
    plain = tmp_path / "plain.txt"
    plain.write_text("")
    for name in ("weights.pt", "config.json", "history.json"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == stat.S_IMODE(plain.stat().st_mode), name
    state, record = store.load("m00")
    assert torch.equal(state["w"], torch.zeros(2)) and record == {"seed": 0}
    assert not list(folder.glob(".*")), "no temporary file is left behind"
