"""The step graph: order from declared inputs and outputs, selection, and refusal of malformed graphs."""

from __future__ import annotations

import pytest

from orchestration.graph import GraphError, Step, StepContext, StepGraph, StepResult


def noop(_: StepContext) -> StepResult:
    return StepResult()


def step(name: str, inputs: tuple[str, ...] = (), outputs: tuple[str, ...] = ()) -> Step:
    return Step(name, name, noop, inputs, outputs)


def test_order_follows_inputs_whatever_the_declaration_order() -> None:
    graph = StepGraph(
        [
            step("marts", inputs=("silver",), outputs=("marts",)),
            step("ingest", inputs=("files",), outputs=("raw",)),
            step("silver", inputs=("raw",), outputs=("silver",)),
            step("files", outputs=("files",)),
        ]
    )
    assert [s.name for s in graph.order()] == ["files", "ingest", "silver", "marts"]
    assert graph.upstream("silver") == {"ingest"}
    assert graph.downstream("ingest") == {"silver", "marts"}


def test_select_with_plus_takes_everything_downstream() -> None:
    graph = StepGraph(
        [step("a", outputs=("x",)), step("b", ("x",), ("y",)), step("c", ("y",)), step("d", outputs=("z",))]
    )
    assert [s.name for s in graph.select(["b+"])] == ["b", "c"]
    assert [s.name for s in graph.select(["d", "a"])] == ["a", "d"]
    with pytest.raises(GraphError, match="no step named 'nope'"):
        graph.select(["nope"])


def test_malformed_graphs_are_refused() -> None:
    with pytest.raises(GraphError, match="defined twice"):
        StepGraph([step("a"), step("a")])
    with pytest.raises(GraphError, match="produced by both"):
        StepGraph([step("a", outputs=("x",)), step("b", outputs=("x",))])
    with pytest.raises(GraphError, match="cycle"):
        StepGraph([step("a", ("y",), ("x",)), step("b", ("x",), ("y",))])


def test_the_pipeline_graph_is_valid_and_starts_with_its_sources() -> None:
    from orchestration.steps import PIPELINE

    names = [s.name for s in PIPELINE.order()]
    assert names.index("prepare_olist") < names.index("ingest_olist")
    assert {"ingest_olist", "ingest_ipca", "ingest_weather"} <= set(names)
    for s in PIPELINE.order():
        assert s.outputs, f"step {s.name} declares no output"
