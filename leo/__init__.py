"""The LEO platform's shared ground: the one CLI, config loading, the data-root layout,
the zone contracts (schemas) and Java discovery. Nothing here imports Spark."""

__version__ = "0.1.0"
