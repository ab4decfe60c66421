"""``max_connection_age_seconds``: a client is asked to reconnect once its connection is that
old (so that, behind a headless Service, it re-resolves and finds new replicas), without
losing a call."""

from __future__ import annotations

import asyncio

import grpc
from service_support import StartServer, school_place_request

READY = grpc.ChannelConnectivity.READY


async def test_an_old_connection_is_sent_away_and_the_next_call_reconnects(
    start_server: StartServer,
) -> None:
    served = await start_server(max_connection_age_seconds=0.5, max_connection_age_grace_seconds=1)
    assert (await served.stub.Verify(school_place_request(), timeout=5)).request_id
    assert served.channel.get_state() is READY
    async with asyncio.timeout(5):
        await served.channel.wait_for_state_change(READY)  # GOAWAY: the connection goes
    assert (await served.stub.Verify(school_place_request(), timeout=5)).request_id


async def test_by_default_a_connection_stays(start_server: StartServer) -> None:
    served = await start_server()
    assert (await served.stub.Verify(school_place_request(), timeout=5)).request_id
    changed = asyncio.ensure_future(served.channel.wait_for_state_change(READY))
    done, _ = await asyncio.wait({changed}, timeout=1.5)
    changed.cancel()
    await asyncio.gather(changed, return_exceptions=True)
    assert not done
    assert served.channel.get_state() is READY
