"""The school office's web pages (/office): server-rendered Jinja2, no
front-end build. `mount_office(app)` adds them to the API's FastAPI app."""

from fastapi import FastAPI

from school_server.web import (audit_pages, booths, imports, review, routes, search, season,
                               status, users)

OFFICE_PREFIX = routes.PREFIX


def mount_office(app: FastAPI) -> None:
    routes.mount_office(app)
    for module in (users, booths, imports, season, review, search, audit_pages, status):
        app.include_router(module.router, include_in_schema=False)


__all__ = ["OFFICE_PREFIX", "mount_office"]
