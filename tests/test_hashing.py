"""PasswordHasher: fp1 scheme (HMAC-SHA256 pre-hash + bcrypt) run in a thread pool."""

from __future__ import annotations

import asyncio
import os
import statistics
import threading
import time
import unicodedata
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, TypeVar

import bcrypt
import pytest

from services.hashing import PasswordHasher, make_executor

T = TypeVar("T")
PEPPER = b"unit-test-pepper-0123456789abcdef"


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = make_executor()
    yield pool
    pool.shutdown(wait=True)


@pytest.fixture
def hasher(executor: Executor) -> PasswordHasher:
    return PasswordHasher(PEPPER, cost=4, executor=executor)


async def test_round_trip(hasher: PasswordHasher) -> None:
    stored = await hasher.hash("correct horse battery staple")
    assert stored.startswith("fp1$$2b$04$")
    assert len(stored) == len("fp1$") + 60
    assert await hasher.verify("correct horse battery staple", stored) is True


async def test_wrong_password_is_false(hasher: PasswordHasher) -> None:
    stored = await hasher.hash("correct horse battery staple")
    assert await hasher.verify("correct horse battery stapl", stored) is False
    assert await hasher.verify("Correct horse battery staple", stored) is False
    assert await hasher.verify("", stored) is False


async def test_each_hash_has_its_own_salt(hasher: PasswordHasher) -> None:
    first, second = await hasher.hash("same password"), await hasher.hash("same password")
    assert first != second
    assert await hasher.verify("same password", first)
    assert await hasher.verify("same password", second)


async def test_passwords_sharing_the_first_72_bytes_differ(hasher: PasswordHasher) -> None:
    prefix = "x" * 72
    stored = await hasher.hash(prefix + "a")
    assert await hasher.verify(prefix + "a", stored)
    assert await hasher.verify(prefix + "b", stored) is False
    assert await hasher.verify(prefix, stored) is False
    # 80 bytes of UTF-8 that bare bcrypt 5 refuses with ValueError.
    accents = "é" * 40
    with pytest.raises(ValueError):
        bcrypt.hashpw(accents.encode(), bcrypt.gensalt(4))
    stored = await hasher.hash(accents)
    assert await hasher.verify(accents, stored)
    assert await hasher.verify("é" * 39 + "e", stored) is False


async def test_1024_character_unicode_password(hasher: PasswordHasher) -> None:
    password = ("пароль密码🔑ß" * 103)[:1024]
    assert len(password) == 1024 and len(password.encode()) > 2000
    stored = await hasher.hash(password)
    assert await hasher.verify(password, stored)
    assert await hasher.verify(password[:-1] + "x", stored) is False


async def test_unicode_is_normalised_nfkc(hasher: PasswordHasher) -> None:
    composed = unicodedata.normalize("NFC", "Crème brûlée à la café")
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    stored = await hasher.hash(composed)
    assert await hasher.verify(decomposed, stored)


async def test_lone_surrogate_does_not_raise(hasher: PasswordHasher) -> None:
    password = "abc\ud800def-long-enough"  # JSON can carry this ("\\ud800")
    stored = await hasher.hash(password)
    assert await hasher.verify(password, stored)
    assert await hasher.verify("abc\ud801def-long-enough", stored) is False


async def test_pepper_is_part_of_the_hash(executor: Executor) -> None:
    one = PasswordHasher(PEPPER, cost=4, executor=executor)
    other = PasswordHasher(PEPPER + b"!", cost=4, executor=executor)
    stored = await one.hash("pepper matters")
    assert await one.verify("pepper matters", stored)
    assert await other.verify("pepper matters", stored) is False


async def test_needs_rehash(executor: Executor) -> None:
    cost4 = PasswordHasher(PEPPER, cost=4, executor=executor)
    cost5 = PasswordHasher(PEPPER, cost=5, executor=executor)
    stored = await cost4.hash("rehash me please")
    assert cost4.needs_rehash(stored) is False
    assert cost5.needs_rehash(stored) is True
    # A hash made at another cost still verifies, so it can be upgraded after login.
    assert await cost5.verify("rehash me please", stored)
    bare_bcrypt = bcrypt.hashpw(b"rehash me please", bcrypt.gensalt(4)).decode()
    assert cost4.needs_rehash(bare_bcrypt) is True
    assert cost4.needs_rehash("fp0$" + stored[4:]) is True
    assert cost4.needs_rehash("garbage") is True


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "fp1$",
        "fp1$garbage",
        "fp2$$2b$04$" + "a" * 53,
        "fp1$$2b$04$" + "a" * 52,
        "fp1$$2b$04$" + "a" * 54,
        "fp1$$2b$04$" + "!" * 53,
        "fp1$$2b$99$" + "a" * 53,
        "fp1$$3x$04$" + "a" * 53,
    ],
)
async def test_malformed_stored_is_false(hasher: PasswordHasher, stored: str) -> None:
    assert await hasher.verify("whatever", stored) is False
    assert hasher.needs_rehash(stored) is True


async def test_malformed_variants_of_a_real_hash(hasher: PasswordHasher) -> None:
    stored = await hasher.hash("real password")
    assert await hasher.verify("real password", stored + "\n") is False
    assert await hasher.verify("real password", " " + stored) is False
    assert await hasher.verify("real password", stored[4:]) is False  # no scheme marker
    assert await hasher.verify("real password", stored.replace("$04$", "$05$")) is False


async def test_verify_dummy_is_false_and_costs_like_verify(executor: Executor) -> None:
    hasher = PasswordHasher(PEPPER, cost=8, executor=executor)
    stored = await hasher.hash("timing password")

    async def timed(call: Callable[[], Awaitable[bool]]) -> float:
        start = time.perf_counter()
        await call()
        return time.perf_counter() - start

    real: list[float] = []
    dummy: list[float] = []
    for _ in range(5):
        real.append(await timed(lambda: hasher.verify("timing password", stored)))
        dummy.append(await timed(lambda: hasher.verify_dummy("timing password")))
    assert await hasher.verify_dummy("timing password") is False
    ratio = statistics.median(dummy) / statistics.median(real)
    assert 0.5 < ratio < 2.0, (real, dummy)


async def test_bcrypt_runs_off_the_loop_thread(executor: Executor) -> None:
    threads: set[int] = set()

    class Recording(Executor):
        def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
            def run() -> T:
                threads.add(threading.get_ident())
                return fn(*args, **kwargs)

            return executor.submit(run)

    hasher = PasswordHasher(PEPPER, cost=4, executor=Recording())
    stored = await hasher.hash("off the loop")
    await hasher.verify("off the loop", stored)
    await hasher.verify_dummy("off the loop")
    assert threads and threading.get_ident() not in threads


async def test_hashing_does_not_block_the_event_loop(executor: Executor) -> None:
    # Cost 12: one hash run on the loop would stall it ~240 ms, far above the bound below,
    # so the bound separates "off the loop" from "on the loop" even on a busy machine.
    hasher = PasswordHasher(PEPPER, cost=12, executor=executor)
    interval = 0.005
    max_lag = 0.0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal max_lag
        loop = asyncio.get_running_loop()
        while not done.is_set():
            before = loop.time()
            await asyncio.sleep(interval)
            max_lag = max(max_lag, loop.time() - before - interval)

    tick = asyncio.create_task(ticker())
    try:
        start = time.perf_counter()
        hashes = await asyncio.gather(*(hasher.hash(f"password-{i}") for i in range(4)))
        elapsed = time.perf_counter() - start
    finally:
        done.set()
        await tick
    assert len(set(hashes)) == 4
    assert elapsed > 0.2  # the work was real (cost 12 is ~240 ms per hash)
    assert max_lag < 0.150, f"event loop lagged {max_lag * 1000:.1f} ms"


def test_constructor_validation(executor: Executor) -> None:
    with pytest.raises(ValueError):
        PasswordHasher(b"", executor=executor)
    with pytest.raises(ValueError):
        PasswordHasher(PEPPER, cost=3, executor=executor)
    with pytest.raises(ValueError):
        PasswordHasher(PEPPER, cost=32, executor=executor)
    hasher = PasswordHasher(PEPPER, executor=executor)
    assert hasher.cost == 12
    assert PEPPER.decode() not in repr(hasher)


def test_make_executor_is_sized_to_the_cores() -> None:
    pool = PasswordHasher.make_executor()
    try:
        assert isinstance(pool, ThreadPoolExecutor)
        assert pool._max_workers == (os.cpu_count() or 1)
    finally:
        pool.shutdown()


async def test_admission_holds_at_most_max_in_flight(executor: Executor) -> None:
    hasher = PasswordHasher(PEPPER, cost=4, executor=executor, max_in_flight=2)
    inside = 0
    most = 0

    async def one() -> None:
        nonlocal inside, most
        async with hasher.admission():
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    await asyncio.gather(*(one() for _ in range(8)))
    assert most == 2


def test_max_in_flight_must_be_positive(executor: Executor) -> None:
    with pytest.raises(ValueError):
        PasswordHasher(PEPPER, cost=4, executor=executor, max_in_flight=0)
