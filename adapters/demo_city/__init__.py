"""A synthetic city for demos, tests and benchmarks: seven department databases, samples and
three re-check caseloads.

``generate_demo_city`` (entry point ``verifier.demo_data`` / ``demo_city``) writes SQLite
files; ``write_demo_city`` writes the same city into any SQLAlchemy databases (PostgreSQL).
Everything is drawn from ``random.Random(seed)`` and dated relative to the reference date,
so a seed always gives the same city.

What is in it (the distributions are documented in ``_population`` and ``_careers``):
households of one to five people — parents and 5-15-year-old children, some twins — of
locals (registered in a 4403xx district) and migrants (IDs from other places, registered
elsewhere or not at all); registration moves, some exactly on the reference date, and a few
records pending transfer; social insurance and income tax with gaps and recent starts;
homes (none, one, several; co-owned by spouses; some sold); registered rentals (expired,
current, back-to-back renewals); overdue tax for a few percent; cars, businesses, pensions
and registered deaths (``_recheck_population``); household booklets (户号) shared by the
people registered together.

Raw tables carry sensitive-looking fields (Chinese names, addresses, phones, amounts) and
planted canaries: every text field of a planted sample's rows, and of about 1 % of the other
rows, holds a unique ``CANARY-…`` string (phones hold numeric-looking ``CANARY1…`` ones).
All canaries are listed in ``canaries.json`` and the manifest: none may ever leave an adapter.

``samples.json`` lists planted households with known outcomes, one or more per outcome per
service item, each with its application and the facts each department must derive.
``caseload_<item>.csv`` are the three re-check caseloads (people receiving subsistence
assistance, affordable housing, unemployment benefit), a planted share of whom no longer
qualify, counted per reason in ``caseloads.json`` and the manifest (``_caseloads``).
"""

from adapters.demo_city._generate import generate_demo_city, write_demo_city
from adapters.demo_city._manifest import DemoCityManifest, DemoSample, ExpectedFact, load_samples

__all__ = [
    "DemoCityManifest",
    "DemoSample",
    "ExpectedFact",
    "generate_demo_city",
    "load_samples",
    "write_demo_city",
]
