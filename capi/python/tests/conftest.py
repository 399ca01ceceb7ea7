import os
import pathlib

import pytest


@pytest.fixture(scope="session")
def model_path():
    """stories260K.gguf: $EMBER_TEST_MODEL, or shared/ beside the repository."""
    env = os.environ.get("EMBER_TEST_MODEL")
    path = pathlib.Path(env) if env else pathlib.Path(__file__).resolve().parents[4] / "shared/models/stories260K.gguf"
    if not path.exists():
        pytest.fail("missing test model %s (set EMBER_TEST_MODEL)" % path)
    return str(path)


@pytest.fixture(scope="session")
def model(model_path):
    import ember
    m = ember.Model(model_path)
    yield m
    m.close()
