"""Fixtures every test folder may use: the real services (Redis, Azurite) in ``tests.services``."""

pytest_plugins = ("tests.services.fixtures",)
