from tests.api.conftest import api, make_user, user  # noqa: F401 - shared sign-in fixtures
