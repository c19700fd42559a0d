"""Times the training of one ensemble member on whatever device it finds (a CUDA GPU, else the CPU).

Reads the panel of a finished run from its warehouse (read-only): by default the project's
`data/warehouse.duckdb` after `migration-run` (the synthetic world), or the warehouse of a real
run (`benchmarks/real_run.py --keep DIR`). Trains member 0 (seed 0, fold 0 held out) for a few
epochs as the member asset does, with `device: auto` unless told otherwise, and prints the device,
the seconds per epoch, the peak memory and the final loss.

    python benchmarks/member_device.py [--warehouse data/warehouse.duckdb] [--epochs 10]
        [--device auto|cpu|cuda] [--threads 2] [--hidden 16] [--eager]

On a real run's warehouse (50,000+ edges) the year step is compiled, as in the member asset:
`--eager` times the same member without compiling.
"""

import argparse
import dataclasses
import os
import resource
import sys
import time

import duckdb
import torch

from migration_assets.model import network
from migration_assets.model.tensors import PANEL_INPUTS, build_inputs, build_targets
from migration_assets.model.train import TrainConfig, device_for, fit

PANEL = [*PANEL_INPUTS, "stock_targets", "net_migration_targets", "flow_targets"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", default=os.environ.get("MIGRATION_WAREHOUSE", "data/warehouse.duckdb"))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=2, help="torch threads on the CPU")
    parser.add_argument("--hidden", type=int, default=TrainConfig.hidden)
    parser.add_argument("--eager", action="store_true",
                        help="never compile the year step (model/network.py COMPILE_MIN_EDGES), to compare")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.eager:
        network.COMPILE_MIN_EDGES = sys.maxsize

    with duckdb.connect(args.warehouse, read_only=True) as con:
        t = {n: con.sql(f"select * from panel.{n}").df() for n in PANEL}
    inputs = build_inputs(*(t[n] for n in PANEL_INPUTS))
    targets = build_targets(t["countries"], inputs.years, t["stock_targets"], t["net_migration_targets"],
                            t["flow_targets"])
    device = device_for(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {args.threads} torch threads"
    print(f"{args.warehouse}: {inputs.n_countries} countries, {len(inputs.years)} years, {inputs.n_edges:,} edges")
    print(f"device: {device} ({name})")
    config = dataclasses.replace(TrainConfig(), epochs=args.epochs, hidden=args.hidden, log_every=max(args.epochs, 1))
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    _, history = fit(inputs, targets.without_fold(0), config, seed=0, device=str(device))
    seconds = time.perf_counter() - start
    if device.type == "cuda":
        peak = f"{torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB on the GPU"
    else:
        peak = f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB resident"
    print(f"{args.epochs} epochs in {seconds:.1f} s: {seconds / args.epochs:.2f} s per epoch; peak {peak}; "
          f"final loss {history[-1]['loss']:.4f}")


if __name__ == "__main__":
    main()
