"""The school office's web pages (/office): server-rendered Jinja2, no
front-end build. `mount_office(app)` adds them to the API's FastAPI app."""

from fastapi import FastAPI

from school_server.web import booths, imports, routes, season, users

OFFICE_PREFIX = routes.PREFIX


def mount_office(app: FastAPI) -> None:
    routes.mount_office(app)
    app.include_router(users.router, include_in_schema=False)
    app.include_router(booths.router, include_in_schema=False)
    app.include_router(imports.router, include_in_schema=False)
    app.include_router(season.router, include_in_schema=False)


__all__ = ["OFFICE_PREFIX", "mount_office"]
