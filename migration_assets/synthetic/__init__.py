"""Seeded synthetic world with known migration truth (embedded default data source and benchmark truth)."""

from migration_assets.synthetic.world import SyntheticWorld, WorldConfig, generate_world

__all__ = ["WorldConfig", "SyntheticWorld", "generate_world"]
