"""FastAPI dependencies: the service context, and ``require(Permission.X)`` — each route's one access rule.

``require`` returns a dependency that authenticates the bearer token and checks that one of the
caller's roles grants the permission (``gateway.auth.permissions.ROLES_GRANTING``). The dependency
carries its permission as an attribute, so ``permission_of(route)`` can read it back: the app
refuses to start with a route that declares none, and the authorisation test reads the same.
"""

from collections.abc import Iterator, Sequence
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.routing import BaseRoute

from gateway.auth.permissions import Caller, Permission
from gateway.errors import PermissionDeniedError, TokenMissingError
from gateway.services.context import ServiceContext

PERMISSION_ATTRIBUTE = "ccgate_permission"

bearer = HTTPBearer(
    auto_error=False, description="An API token (`ccgate admin principal create`) or a node credential"
)


def get_services(request: Request) -> ServiceContext:
    """The service context ``create_app`` stored on the app."""
    services = request.app.state.services
    assert isinstance(services, ServiceContext)
    return services


Services = Annotated[ServiceContext, Depends(get_services)]


def require(permission: Permission) -> Any:
    """A dependency that lets the request through only for callers granted ``permission``.

    The dependency raises TokenMissingError, TokenInvalidError, TokenExpiredError,
    TokenRevokedError (401) or PermissionDeniedError (403).
    """
    if permission is Permission.PUBLIC:

        def public() -> None:
            return None

        setattr(public, PERMISSION_ATTRIBUTE, permission)
        return Depends(public)

    def authorised(
        services: Services,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Caller:
        if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
            raise TokenMissingError("send an API token as 'Authorization: Bearer <token>'")
        with services.db.read_connection() as connection:
            caller = services.tokens.authenticate(connection, credentials.credentials)
        if not caller.has(permission):
            raise PermissionDeniedError(
                f"this needs the {permission} permission, which none of your roles grants"
            )
        return caller

    setattr(authorised, PERMISSION_ATTRIBUTE, permission)
    return Depends(authorised)


def api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    """Every API route under ``routes``, looking inside included routers.

    FastAPI ≥ 0.160 keeps an included router as one entry instead of copying its routes.
    """
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from api_routes(included.routes)


def permission_of(route: APIRoute) -> Permission | None:
    """The permission a route declared through ``require`` (None: it declared none)."""
    found = [
        getattr(dependency.call, PERMISSION_ATTRIBUTE)
        for dependency in route.dependant.dependencies
        if hasattr(dependency.call, PERMISSION_ATTRIBUTE)
    ]
    if len(found) != 1:
        return None
    permission = found[0]
    assert isinstance(permission, Permission)
    return permission


__all__ = ["Services", "api_routes", "bearer", "permission_of", "require"]
