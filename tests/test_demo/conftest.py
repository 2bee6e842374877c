"""Fixtures of the demos' tests."""
import pytest

from _demo_models import write_tiny_model


@pytest.fixture(scope='package')
def tiny_model(tmp_path_factory):
    """``(config, checkpoint)`` of the tiny model (see ``_demo_models``)."""
    return write_tiny_model(str(tmp_path_factory.mktemp('tiny_model')))
