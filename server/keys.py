"""Every typed application and request key, in one place (no string keys)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import redis.asyncio as aioredis
from aiohttp import web

from db.pool import Database
from server.config import Config
from server.metrics import Metrics
from services.accounts import AccountService
from services.auth_user import Authenticator, AuthUser
from services.passwords import PasswordService
from services.throttle import RateLimiter

CONFIG = web.AppKey("config", Config)
DB = web.AppKey("db", Database)
REDIS = web.AppKey("redis", aioredis.Redis)
CPU_POOL = web.AppKey("cpu_pool", ThreadPoolExecutor)

# Set by the auth middleware on authenticated requests.
AUTH_USER = web.RequestKey("auth_user", AuthUser)
REQUEST_ID = web.RequestKey("request_id", str)
AUTHENTICATOR = web.AppKey("authenticator", Authenticator)

# Accounts and passwords (server/ctx_accounts.py).
ACCOUNTS = web.AppKey("accounts", AccountService)
PASSWORDS = web.AppKey("passwords", PasswordService)
RATE_LIMITER = web.AppKey("rate_limiter", RateLimiter)
METRICS = web.AppKey("metrics", Metrics)
