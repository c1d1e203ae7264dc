"""The example stacks' settings fixtures, shared with tests/program."""

from tests.program.conftest import dev_settings, prod_settings  # noqa: F401
