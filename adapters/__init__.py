"""The demo city's department adapters and their synthetic data.

Each department is its own subpackage (``household``, ``social_insurance``, ``housing``,
``tax``) exposing ``create_adapter`` — the ``verifier.adapters`` entry point the engine
loads by configuration, as it would a department integrator's own package — and its adapter
class. Raw tables and records stay private to the subpackage. ``demo_city`` generates the
synthetic databases (entry point ``verifier.demo_data``).
"""

__all__: list[str] = []
