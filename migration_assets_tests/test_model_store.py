"""The model store: what a trained member leaves on disk."""

import stat
from pathlib import Path

import fsspec
import pandas as pd
import pytest
import torch

from migration_assets.resources import ModelStore, UnreadableWeights


def test_saved_files_are_readable_like_any_new_file(tmp_path):
    """Members are written through temporary files (mode 0600) and renamed; the files must end with
    the mode of any new file (0666 less the umask), so other users and processes, e.g. a shared model store
    read by workers under another account, can read them."""
    store = ModelStore(root=str(tmp_path / "models"))
    folder = Path(store.save("m00", {"w": torch.zeros(2)}, {"seed": 0}, [{"epoch": 1, "loss": 1.0}]))
    plain = tmp_path / "plain.txt"
    plain.write_text("")
    for name in ("weights.pt", "config.json", "history.json"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == stat.S_IMODE(plain.stat().st_mode), name
    state, record = store.load("m00")
    assert torch.equal(state["w"], torch.zeros(2)) and record == {"seed": 0}
    assert not list(folder.glob(".*")), "no temporary file is left behind"


def test_a_store_on_another_filesystem_round_trips_a_member():
    """Members trained on other machines share one store through fsspec (an object store in a
    cluster; fsspec's in-memory filesystem here): what one process saves, another loads."""
    root = "memory://shared-store/models"
    targets = {"flow_targets": pd.DataFrame({"year": [1990, 1991], "flow": [10.0, 12.5]})}
    folder = ModelStore(root=root).save("m03", {"w": torch.arange(4.0)}, {"seed": 3}, [{"epoch": 1}], targets)
    assert folder == "memory:///shared-store/models/m03"
    state, record, seen = ModelStore(root=root).previous("m03")  # a new resource, as on another worker
    assert torch.equal(state["w"], torch.arange(4.0)) and record == {"seed": 3}
    pd.testing.assert_frame_equal(seen["flow_targets"], targets["flow_targets"])
    fs = fsspec.filesystem("memory")
    assert not [p for p in fs.find("/shared-store") if p.rsplit("/", 1)[1].startswith(".")], "temporary files left"
    assert ModelStore(root=root).previous("m04") is None
    with pytest.raises(FileNotFoundError, match="no trained weights for member m04 in memory:///shared-store"):
        ModelStore(root=root).load("m04")


@pytest.mark.parametrize("damage", ["cut", "random"])
def test_unreadable_weights_name_the_member_and_count_as_no_training(tmp_path, damage):
    """Issue 33: a truncated weights.pt gave `ValueError: negative seek value`, random bytes PyTorch's
    advice to load with weights_only=False; now the member, the folder and the fix, and the member's
    next training starts from scratch."""
    store = ModelStore(root=str(tmp_path / "models"))
    folder = Path(store.save("m02", {"w": torch.arange(1000.0)}, {"seed": 2}, [{"epoch": 1}]))
    weights = folder / "weights.pt"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2] if damage == "cut" else bytes(range(256)) * 8)
    with pytest.raises(UnreadableWeights) as err:
        store.load("m02")
    message = str(err.value)
    assert message.startswith(f"member m02: {folder} holds weights or a config that cannot be read (")
    assert message.endswith("Fix: run migration-run, which trains this member again from scratch")
    assert "weights_only=False" not in message
    assert store.previous("m02") is None  # what the member asset reads: no earlier training
