"""docker-compose.yml cannot be started here (no Docker engine): check the properties it must keep."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

COMPOSE = Path(__file__).parents[1] / "docker-compose.yml"


def test_every_service_is_pinned_health_checked_and_has_no_default_password() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert services
    for name, service in services.items():
        image = service["image"]
        assert ":" in image and not image.endswith((":latest", ":main")), f"{name}: unpinned image {image}"
        assert service.get("healthcheck", {}).get("test"), f"{name}: no health check"
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: port {port} open beyond loopback"
    # Any variable that looks like a credential must be required (${VAR:?...}), never defaulted.
    text = COMPOSE.read_text()
    for variable in re.findall(r"\$\{([A-Z_]*(?:PASSWORD|USER|SECRET|KEY)[A-Z_]*)([^}]*)\}", text):
        name, rest = variable
        assert rest.startswith(":?"), f"{name} must be required with :? (found {rest!r})"
