"""The gRPC edge: ``verifier.v1.VerificationService`` served over ``grpc.aio``, and a client.

The wire contract is ``proto/verifier/v1/verification.proto``; the code generated from it
lives in ``verifier.service._generated`` (made by ``python proto/generate.py``). Protobuf
types stay inside this package: callers use the library's models on both sides.
"""

from verifier.config._server_options import ServerOptions
from verifier.service._auth import (
    Authenticator,
    AuthFailure,
    CertificateAuthenticator,
    LoopbackAuthenticator,
    TokenAuthenticator,
    Unauthenticated,
    token_digest,
)
from verifier.service._client import VerifierClient, client_credentials
from verifier.service._description import (
    ParameterDescription,
    RequiredFactDescription,
    RoleDescription,
    ServiceItemDescription,
    describe_service_item,
)
from verifier.service._server import (
    create_server,
    graceful_shutdown,
    mark_serving,
    serve,
)
from verifier.service._servicer import SERVICE_NAME

__all__ = [
    "SERVICE_NAME",
    "AuthFailure",
    "Authenticator",
    "CertificateAuthenticator",
    "LoopbackAuthenticator",
    "ParameterDescription",
    "RequiredFactDescription",
    "RoleDescription",
    "ServerOptions",
    "ServiceItemDescription",
    "TokenAuthenticator",
    "Unauthenticated",
    "VerifierClient",
    "client_credentials",
    "create_server",
    "describe_service_item",
    "graceful_shutdown",
    "mark_serving",
    "serve",
    "token_digest",
]
