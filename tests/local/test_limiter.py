"""The bandwidth limiter: exact byte counts per 125 ms tick against an injected clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from lambda_sse.local.limiter import (
    APIGW_REST_BURST,
    LAMBDA_BURST,
    Limiter,
    LimitError,
    TokenBucket,
    apigw_rest_bucket,
    lambda_bucket,
    shape,
)

MiB = 1024 * 1024
LAMBDA_TICK = 2 * MiB // 8  # 2 MiB/s refilled every 125 ms
REST_TICK = 2_000_000 // 8


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_lambda_bucket_bursts_6_mib_then_refills_262144_bytes_per_tick() -> None:
    clock = FakeClock()
    bucket = lambda_bucket(clock)
    assert bucket.available == 6 * MiB
    bucket.consume(6 * MiB)
    assert bucket.available == 0
    assert bucket.wait() == pytest.approx(0.125)
    clock.now += 0.124
    assert bucket.available == 0
    assert bucket.wait() == pytest.approx(0.001)
    clock.now += 0.001  # exactly one tick after the origin
    assert bucket.available == LAMBDA_TICK == 262_144
    assert bucket.wait() == 0.0
    clock.now += 0.25  # two more ticks
    assert bucket.available == 3 * LAMBDA_TICK


def test_ticks_count_from_the_origin_not_from_the_last_question() -> None:
    clock = FakeClock()
    bucket = TokenBucket(burst=1000, rate=800, interval=0.125, clock=clock)  # 100 per tick
    bucket.consume(1000)
    # Asking often must not delay the refills nor add any.
    for _ in range(12):
        clock.now += 0.01
        _ = bucket.available
    assert clock.now - 100.0 == pytest.approx(0.12)
    assert bucket.available == 0
    clock.now += 0.006
    assert bucket.available == 100


def test_refills_stop_at_the_burst() -> None:
    clock = FakeClock()
    bucket = lambda_bucket(clock)
    bucket.consume(MiB)
    clock.now += 3600.0
    assert bucket.available == LAMBDA_BURST


def test_consuming_more_than_available_is_a_clear_error() -> None:
    bucket = TokenBucket(burst=10, rate=80, clock=FakeClock())
    with pytest.raises(LimitError, match="cannot consume 11 bytes, 10 available"):
        bucket.consume(11)
    with pytest.raises(LimitError, match="positive"):
        TokenBucket(burst=0, rate=1, clock=FakeClock())


def test_composed_limiter_grants_what_the_tightest_bucket_allows() -> None:
    clock = FakeClock()
    limiter = Limiter([lambda_bucket(clock), apigw_rest_bucket(clock)])
    # Lambda's 6 MiB burst is smaller than API Gateway's 10 MB: Lambda wins.
    assert limiter.grant(20 * MiB) == LAMBDA_BURST
    assert limiter.grant(1) == 0
    clock.now += 0.125
    assert limiter.grant(MiB) == LAMBDA_TICK
    # The REST bucket was charged the same bytes.
    rest = limiter.buckets[1]
    assert rest.available == APIGW_REST_BURST - LAMBDA_BURST - LAMBDA_TICK + REST_TICK


def test_api_gateway_is_tighter_once_its_burst_is_spent() -> None:
    clock = FakeClock()
    rest = apigw_rest_bucket(clock)
    lam = TokenBucket(burst=50 * MiB, rate=4 * MiB, clock=clock)  # a looser bucket
    limiter = Limiter([lam, rest])
    assert limiter.grant(50 * MiB) == 10_000_000
    clock.now += 0.125
    assert limiter.grant(MiB) == REST_TICK == 250_000
    assert limiter.wait() == pytest.approx(0.125)


def test_an_empty_limiter_passes_everything() -> None:
    limiter = Limiter()
    assert not limiter
    assert limiter.grant(10**12) == 10**12
    assert limiter.wait() == 0.0


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


@pytest.mark.anyio
async def test_shape_cuts_a_stream_to_the_bucket_and_sleeps_per_tick() -> None:
    clock = FakeClock()
    limiter = Limiter([lambda_bucket(clock)])
    seven_mib = b"x" * (7 * MiB)
    out: list[tuple[float, int]] = []
    async for piece in shape(_chunks(seven_mib, b"tail"), limiter, sleep=clock.sleep):
        out.append((round(clock.now - 100.0, 6), len(piece)))
    # 6 MiB at once, then 1 MiB in four ticks of 262,144 bytes, then the tail on the 5th tick.
    assert out == [
        (0.0, 6 * MiB),
        (0.125, LAMBDA_TICK),
        (0.25, LAMBDA_TICK),
        (0.375, LAMBDA_TICK),
        (0.5, LAMBDA_TICK),
        (0.625, 4),
    ]
    assert sum(n for _, n in out) == len(seven_mib) + 4


@pytest.mark.anyio
async def test_shape_without_limits_yields_chunks_unchanged_and_never_sleeps() -> None:
    async def no_sleep(seconds: float) -> None:
        raise AssertionError("must not sleep")

    parts = [b"a" * (10 * MiB), b"b", b""]
    got = [p async for p in shape(_chunks(*parts), Limiter(), sleep=no_sleep)]
    assert got == parts


@pytest.mark.anyio
async def test_shape_keeps_small_chunks_whole_within_the_burst() -> None:
    clock = FakeClock()
    parts = [b"event: %d\n\n" % i for i in range(100)]
    got = [
        p async for p in shape(_chunks(*parts), Limiter([lambda_bucket(clock)]), sleep=clock.sleep)
    ]
    assert got == parts
    assert clock.now == 100.0
