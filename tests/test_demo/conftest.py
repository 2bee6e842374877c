"""Fixtures of the demos' tests."""
import pytest

from _demo_models import UNIVERSAL_TASKS, export_tiny_model, write_tiny_model


@pytest.fixture(scope='package')
def tiny_model(tmp_path_factory):
    """``(config, checkpoint)`` of the tiny model (see ``_demo_models``)."""
    return write_tiny_model(str(tmp_path_factory.mktemp('tiny_model')))


@pytest.fixture(scope='package')
def tiny_universal_model(tmp_path_factory):
    """``(config, checkpoint, onnx)`` of the tiny universal model for ``UNIVERSAL_TASKS``, with its ONNX
    export (one graph, the task an input)."""
    folder = str(tmp_path_factory.mktemp('tiny_universal'))
    config, checkpoint = write_tiny_model(folder, tasks=UNIVERSAL_TASKS)
    return config, checkpoint, export_tiny_model(config, checkpoint, f'{folder}/tiny.onnx')
