"""The school office's web pages (/office): server-rendered Jinja2, no
front-end build. `mount_office(app)` adds them to the API's FastAPI app."""

from school_server.web.routes import PREFIX as OFFICE_PREFIX
from school_server.web.routes import mount_office

__all__ = ["OFFICE_PREFIX", "mount_office"]
