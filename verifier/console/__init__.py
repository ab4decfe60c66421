"""The auditors' read-only web console (``verifier console``): Starlette pages rendered on
the server, SVG charts, no script. Needs the ``console`` extra (Starlette, Jinja2, uvicorn);
``import verifier`` never loads it.
"""

from verifier.console._app import create_app
from verifier.console._auth import hash_password, password_matches

__all__ = ["create_app", "hash_password", "password_matches"]
