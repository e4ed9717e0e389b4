"""THE step graph of cofre. Each step is a thin call into a library with explicit inputs; the step bodies
live by layer (ingest, transform, gold, publish), the names of what they produce in `assets`.
"""

from __future__ import annotations

from orchestration.graph import Step, StepGraph
from orchestration.steps.assets import (
    GOLD_WAREHOUSE,
    MARTS_BUILT,
    MARTS_PUBLISHED,
    OLIST_FILES,
    RAW,
    SILVER_BUILT,
)
from orchestration.steps.gold import GOLD_STEPS
from orchestration.steps.ingest import ingest_ipca, ingest_olist, ingest_weather, prepare_olist
from orchestration.steps.publish import publish_marts
from orchestration.steps.transform import QualityGateFailed, transform_marts, transform_silver

__all__ = ["PIPELINE", "QualityGateFailed"]

PIPELINE = StepGraph(
    [
        Step(
            "prepare_olist",
            "find or generate the nine Olist CSV files",
            prepare_olist,
            outputs=(OLIST_FILES,),
        ),
        Step(
            "ingest_olist",
            "Olist CSV -> bronze Parquet + raw_olist (quarantining bad rows)",
            ingest_olist,
            inputs=(OLIST_FILES,),
            outputs=("cofre://bronze/olist", "cofre://raw/olist"),
        ),
        Step(
            "ingest_ipca",
            "BCB SGS series 433 (IPCA) -> bronze + raw_bcb, incremental by month",
            ingest_ipca,
            outputs=("cofre://bronze/bcb", "cofre://raw/bcb"),
        ),
        Step(
            "ingest_weather",
            "OpenWeather current weather of the 27 capitals -> bronze + raw_openweather",
            ingest_weather,
            outputs=("cofre://bronze/openweather", "cofre://raw/openweather"),
        ),
        Step(
            "transform_silver",
            "dbt build: seeds, staging, masked silver and their tests",
            transform_silver,
            inputs=RAW,
            outputs=(SILVER_BUILT,),
        ),
        *GOLD_STEPS,
        Step(
            "transform_marts",
            "dbt build: star-schema marts on silver and gold, and their tests (quality gates)",
            transform_marts,
            inputs=(SILVER_BUILT, GOLD_WAREHOUSE),
            outputs=(MARTS_BUILT,),
        ),
        Step(
            "publish_marts",
            "publish the tested marts atomically to their readers",
            publish_marts,
            inputs=(MARTS_BUILT, GOLD_WAREHOUSE),
            outputs=(MARTS_PUBLISHED,),
        ),
    ]
)
