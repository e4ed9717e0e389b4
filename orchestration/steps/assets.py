"""The names of what steps produce and consume, like assets (`cofre://<layer>/<name>`): the embedded
runner orders steps by them and the Airflow DAGs publish them as assets, so a consumer can be scheduled
on what a producer updates."""

from __future__ import annotations

OLIST_FILES = "cofre://files/olist"
RAW = ("cofre://raw/olist", "cofre://raw/bcb", "cofre://raw/openweather")
SILVER_BUILT = "cofre://warehouse/silver"
"""Masked silver in the warehouse, built by `transform_silver`."""
SILVER_LAKE = "cofre://lake/silver"
GOLD_LAKE = "cofre://lake/gold"
GOLD_WAREHOUSE = "cofre://warehouse/gold"
MARTS_BUILT = "cofre://warehouse/marts_build"
MARTS_PUBLISHED = "cofre://published/marts"
