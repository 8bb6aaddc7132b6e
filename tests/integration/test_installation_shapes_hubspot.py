"""The installation shapes with HubSpot configured (HubSpot and events, HubSpot without events, both CRMs
and events): the same whole-graph run and checks as test_installation_shapes.py, from a file of their own so
that another pytest-xdist worker runs them beside the other shapes."""

import pytest

from tests.integration.test_installation_shapes import (  # noqa: F401 (shape_link and world are fixtures)
    HUBSPOT_SHAPES,
    check_shape,
    shape_link,
    world,
)

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("shape", HUBSPOT_SHAPES)
def test_shape_builds_every_mart_and_writes_back_to_its_crms(shape, world, tmp_path, monkeypatch, shape_link):  # noqa: F811
    check_shape(shape, world, tmp_path, monkeypatch, shape_link)
